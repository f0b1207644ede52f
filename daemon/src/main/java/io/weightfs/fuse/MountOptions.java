package io.weightfs.fuse;

import java.time.Duration;
import java.util.Objects;

/**
 * How to mount: validated once here, immutable after.
 *
 * @param binding which FUSE library serves the mount
 * @param allowOther let users other than the mounting one see the files ({@code -o allow_other};
 *     non-root mounts need {@code user_allow_other} in /etc/fuse.conf)
 * @param fsName what {@code mount}, {@code df} and /proc/mounts show as the source ({@code -o fsname})
 * @param readAheadKb written to the mount's {@code /sys/class/bdi/<dev>/read_ahead_kb} after
 *     mounting, when running as root; 0 leaves the kernel's 128 KiB default
 * @param attrTimeout how long the kernel caches attributes; content is immutable, so long is safe
 * @param entryTimeout how long the kernel caches name lookups
 * @param closeTimeout how long {@link MountedFs#close()} waits for callbacks still running inside
 *     {@code FsOps} (a read blocked on a download) before it returns anyway
 * @param debug libfuse's own request trace on stderr ({@code -d})
 */
public record MountOptions(
        FuseBinding binding,
        boolean allowOther,
        String fsName,
        int readAheadKb,
        Duration attrTimeout,
        Duration entryTimeout,
        Duration closeTimeout,
        boolean debug) {

    /**
     * 4 MiB: the kernel offers FUSE mounts 128 KiB of readahead, and a read request is never larger
     * than the readahead window, so the default yields 128 KiB requests. With 4 MiB the window is
     * cut at the per-request cap of 256 pages (/proc/sys/fs/fuse/max_pages_limit): 1 MiB requests,
     * several in flight (PLATFORM.md).
     */
    public static final int DEFAULT_READ_AHEAD_KB = 4096;
    /** Content under a mount never changes (one commit), so the kernel may cache names for long. */
    public static final Duration DEFAULT_CACHE_TIMEOUT = Duration.ofHours(1);
    public static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(10);
    public static final String DEFAULT_FS_NAME = "weightfs";

    public MountOptions {
        Objects.requireNonNull(binding, "binding");
        Objects.requireNonNull(fsName, "fsName");
        Objects.requireNonNull(attrTimeout, "attrTimeout");
        Objects.requireNonNull(entryTimeout, "entryTimeout");
        Objects.requireNonNull(closeTimeout, "closeTimeout");
        // fsName travels inside one "-o a,b,c" argument: a comma or blank would split it.
        if (fsName.isEmpty() || !fsName.chars().allMatch(c -> c > ' ' && c < 0x7f && c != ',' && c != '\\')) {
            throw new IllegalArgumentException(
                    "fsName '" + fsName + "' must be non-empty printable ASCII without blanks, commas or backslashes");
        }
        if (readAheadKb < 0) {
            throw new IllegalArgumentException("readAheadKb must be >= 0, was " + readAheadKb);
        }
        if (attrTimeout.isNegative() || entryTimeout.isNegative()) {
            throw new IllegalArgumentException(
                    "attr/entry timeouts must be >= 0, were " + attrTimeout + " / " + entryTimeout);
        }
        if (closeTimeout.isNegative() || closeTimeout.isZero()) {
            throw new IllegalArgumentException("closeTimeout must be > 0, was " + closeTimeout);
        }
    }

    /** jfuse, no allow_other, fsname "weightfs", 4 MiB read-ahead, one-hour caches, no debug. */
    public static MountOptions defaults() {
        return new MountOptions(FuseBinding.JFUSE, false, DEFAULT_FS_NAME, DEFAULT_READ_AHEAD_KB,
                DEFAULT_CACHE_TIMEOUT, DEFAULT_CACHE_TIMEOUT, DEFAULT_CLOSE_TIMEOUT, false);
    }

    public MountOptions withBinding(FuseBinding value) {
        return new MountOptions(value, allowOther, fsName, readAheadKb, attrTimeout, entryTimeout, closeTimeout, debug);
    }

    public MountOptions withAllowOther(boolean value) {
        return new MountOptions(binding, value, fsName, readAheadKb, attrTimeout, entryTimeout, closeTimeout, debug);
    }

    public MountOptions withFsName(String value) {
        return new MountOptions(binding, allowOther, value, readAheadKb, attrTimeout, entryTimeout, closeTimeout, debug);
    }

    public MountOptions withReadAheadKb(int value) {
        return new MountOptions(binding, allowOther, fsName, value, attrTimeout, entryTimeout, closeTimeout, debug);
    }

    public MountOptions withCacheTimeouts(Duration attr, Duration entry) {
        return new MountOptions(binding, allowOther, fsName, readAheadKb, attr, entry, closeTimeout, debug);
    }

    public MountOptions withCloseTimeout(Duration value) {
        return new MountOptions(binding, allowOther, fsName, readAheadKb, attrTimeout, entryTimeout, value, debug);
    }

    public MountOptions withDebug(boolean value) {
        return new MountOptions(binding, allowOther, fsName, readAheadKb, attrTimeout, entryTimeout, closeTimeout, value);
    }

    /**
     * The {@code -o} options: read-only, the kernel checks permissions from the modes we report
     * (the page cache is kept across opens per file, for verified content only: see
     * {@link io.weightfs.fs.FsOps#keepCache}), long attribute and
     * entry caches, and our inode numbers ({@code use_ino}: libfuse2 takes it here, libfuse3 only
     * from {@code init}, where {@link JfuseAdapter} sets it).
     */
    String fuseOptions() {
        StringBuilder o = new StringBuilder("ro,default_permissions")
                .append(",fsname=").append(fsName)
                .append(",attr_timeout=").append(seconds(attrTimeout))
                .append(",entry_timeout=").append(seconds(entryTimeout));
        if (binding == FuseBinding.JNR) {
            o.append(",use_ino");
        }
        if (allowOther) {
            o.append(",allow_other");
        }
        return o.toString();
    }

    private static String seconds(Duration d) {
        return java.math.BigDecimal.valueOf(d.toMillis(), 3).stripTrailingZeros().toPlainString();
    }
}
