package io.weightfs.fuse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Who this process runs as, read once from {@code /proc/self}'s owner (the effective IDs): files
 * are reported as owned by it, and root may do what others may not (sysfs, {@code umount -f}).
 */
record ProcessOwner(int uid, int gid) {
    private static final Path SELF = Path.of("/proc/self");

    static ProcessOwner current() {
        try {
            return new ProcessOwner((Integer) Files.getAttribute(SELF, "unix:uid"),
                    (Integer) Files.getAttribute(SELF, "unix:gid"));
        } catch (IOException | RuntimeException e) {
            // Not Linux-like; files then show as root's, which read-only content does not mind.
            return new ProcessOwner(0, 0);
        }
    }

    boolean isRoot() {
        return uid == 0;
    }
}
