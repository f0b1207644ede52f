package io.weightfs.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What config validation needs to know about where the config will be used.
 *
 * @param mountRoots absolute paths under which an absolute {@code mount_location} may lie; the
 *     entry's folder is the part of the location below the root. Normalised on construction.
 */
public record ConfigOptions(List<Path> mountRoots) {

    /** Where truss model servers expect their weights, and so where {@code mount_location}s point. */
    public static final Path DEFAULT_MOUNT_ROOT = Path.of("/app/model_cache");

    public ConfigOptions {
        List<Path> roots = new ArrayList<>(mountRoots.size());
        for (Path root : mountRoots) {
            if (!root.isAbsolute()) {
                throw new IllegalArgumentException("mount root '" + root + "' is not an absolute path");
            }
            roots.add(root.normalize());
        }
        mountRoots = List.copyOf(roots);
    }

    /** Only {@link #DEFAULT_MOUNT_ROOT}. */
    public static ConfigOptions defaults() {
        return new ConfigOptions(List.of(DEFAULT_MOUNT_ROOT));
    }

    /**
     * For a mount (or fetch) at {@code target}: a {@code mount_location} may name a folder under
     * {@link #DEFAULT_MOUNT_ROOT}, as configs written for truss do, or under the target itself.
     */
    public static ConfigOptions forTarget(Path target) {
        return new ConfigOptions(List.of(DEFAULT_MOUNT_ROOT, target.toAbsolutePath().normalize()));
    }
}
