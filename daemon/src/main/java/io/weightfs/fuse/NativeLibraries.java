package io.weightfs.fuse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Finds a binding's libfuse on disk before the binding tries to load it, so that a missing package
 * is reported as such ("install it with ...") rather than as a linkage error. Debian ships only the
 * versioned names ({@code libfuse3.so.3}, {@code libfuse.so.2}): the unversioned ones come with the
 * -dev packages, which a server does not have.
 */
final class NativeLibraries {
    private NativeLibraries() {}

    static Path locate(FuseBinding binding) throws IOException {
        List<Path> dirs = searchPath();
        for (Path dir : dirs) {
            Path candidate = dir.resolve(binding.soname());
            if (Files.isReadable(candidate)) {
                return candidate;
            }
        }
        throw new IOException(binding.library() + " (" + binding.soname() + ") is not installed: looked in "
                + dirs + "; install it with '" + binding.installHint() + "'"
                + (binding == FuseBinding.JFUSE ? ", or mount with the libfuse2 binding (--fuse jnr)" : ""));
    }

    /** java.library.path first (the launcher sets it), then the usual multiarch and lib64 places. */
    private static List<Path> searchPath() {
        Set<String> dirs = new LinkedHashSet<>();
        String configured = System.getProperty("java.library.path", "");
        for (String d : configured.split(java.io.File.pathSeparator)) {
            if (!d.isBlank()) {
                dirs.add(d);
            }
        }
        String multiarch = switch (System.getProperty("os.arch", "").toLowerCase(Locale.ROOT)) {
            case "amd64", "x86_64" -> "x86_64-linux-gnu";
            case "aarch64", "arm64" -> "aarch64-linux-gnu";
            default -> null;
        };
        if (multiarch != null) {
            dirs.add("/usr/lib/" + multiarch);
            dirs.add("/lib/" + multiarch);
        }
        dirs.addAll(List.of("/usr/lib64", "/lib64", "/usr/local/lib", "/usr/lib", "/lib"));
        List<Path> out = new ArrayList<>();
        for (String d : dirs) {
            out.add(Path.of(d));
        }
        return out;
    }
}
