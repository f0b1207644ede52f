package io.weightfs.fuse;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** Which Java FUSE library serves a mount. */
public enum FuseBinding {
    /**
     * jfuse over libfuse3 through {@code java.lang.foreign}: the default. With the mount's
     * read_ahead_kb raised, the kernel sends 1 MiB reads (PLATFORM.md: ~2.6 GB/s sequential).
     */
    JFUSE("libfuse3", "libfuse3.so.3", "apt-get install -y fuse3 libfuse3-3"),
    /**
     * jnr-fuse over libfuse2 through jnr-ffi: a fallback where libfuse3 is missing. libfuse2 cannot
     * negotiate more than 128 KiB per read request (PLATFORM.md: ~1.2 GB/s sequential).
     */
    JNR("libfuse2", "libfuse.so.2", "apt-get install -y libfuse2"),
    /**
     * weightfs's own transport over /dev/fuse (package {@code fuse.kernel}), no libfuse: protocol
     * 7.40, 1 MiB reads, interrupts (a signalled reader gets EINTR at once), and FUSE passthrough for
     * verified files where the kernel has it (Linux 6.9+, root). Mounts with mount(2) as root,
     * through fusermount3 otherwise.
     */
    KERNEL("/dev/fuse", null, "modprobe fuse");

    private final String library;
    private final String soname;
    private final String installHint;

    FuseBinding(String library, String soname, String installHint) {
        this.library = library;
        this.soname = soname;
        this.installHint = installHint;
    }

    /** The native library this binding loads, as users know it ("libfuse3"). */
    public String library() {
        return library;
    }

    /** The file name of that library on Linux ("libfuse3.so.3"). */
    String soname() {
        return soname;
    }

    /** The command that installs the library on Debian and Ubuntu. */
    public String installHint() {
        return installHint;
    }

    /** Parses a command-line value ("jfuse", "jnr"), case-insensitively. */
    public static FuseBinding fromName(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            String known = Arrays.stream(values())
                    .map(b -> b.name().toLowerCase(Locale.ROOT))
                    .collect(Collectors.joining(", "));
            throw new IllegalArgumentException("unknown FUSE binding '" + name + "': use one of " + known, e);
        }
    }
}
