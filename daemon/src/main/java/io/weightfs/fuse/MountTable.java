package io.weightfs.fuse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What the kernel says is mounted, read from {@code /proc/self/mountinfo} (proc(5)): the one source
 * for "is it mounted", "is it FUSE" and the device number that names the mount's bdi in sysfs.
 * Stateless; every call reads the file afresh.
 */
final class MountTable {
    private static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");

    private MountTable() {}

    /**
     * One line of mountinfo.
     *
     * @param id mount ID, unique while the mount exists
     * @param device {@code major:minor} of the filesystem; a FUSE mount's bdi is named after it
     * @param mountPoint where it is mounted
     * @param fsType {@code fuse}, {@code fuse.<subtype>}, {@code fuseblk}, {@code ext4}...
     * @param source what mount(8) shows as the device ({@code -o fsname} for FUSE)
     */
    record Entry(int id, String device, Path mountPoint, String fsType, String source) {
        boolean isFuse() {
            return fsType.equals("fuse") || fsType.equals("fuseblk") || fsType.startsWith("fuse.");
        }
    }

    /** The topmost mount at {@code mountPoint} (absolute, canonical), if any. */
    static Optional<Entry> find(Path mountPoint) throws IOException {
        Entry found = null;
        for (Entry e : entries()) {
            if (e.mountPoint().equals(mountPoint)) {
                found = e; // later lines are mounted on top of earlier ones
            }
        }
        return Optional.ofNullable(found);
    }

    /** Whether the mount with this ID still exists. */
    static boolean exists(int id) throws IOException {
        for (Entry e : entries()) {
            if (e.id() == id) {
                return true;
            }
        }
        return false;
    }

    static List<Entry> entries() throws IOException {
        List<Entry> out = new ArrayList<>();
        for (String line : Files.readAllLines(MOUNTINFO)) {
            Entry e = parse(line);
            if (e != null) {
                out.add(e);
            }
        }
        return out;
    }

    /**
     * Parses {@code 36 35 98:0 /root /mnt opts [optional fields...] - fstype source superopts};
     * null for a line that does not have that shape.
     */
    static Entry parse(String line) {
        String[] f = line.split(" ");
        int dash = -1;
        for (int i = 6; i < f.length; i++) {
            if (f[i].equals("-")) {
                dash = i;
                break;
            }
        }
        if (dash < 0 || dash + 2 >= f.length) {
            return null;
        }
        try {
            return new Entry(Integer.parseInt(f[0]), f[2], Path.of(unescape(f[4])), unescape(f[dash + 1]),
                    unescape(f[dash + 2]));
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** The kernel writes space, tab, newline and backslash in names as {@code \ooo} octal. */
    static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && isOctal(s, i + 1)) {
                out.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static boolean isOctal(String s, int from) {
        if (from + 3 > s.length()) {
            return false;
        }
        for (int i = from; i < from + 3; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '7') {
                return false;
            }
        }
        return true;
    }

    /**
     * The absolute, symlink-free form of a mount point, as mountinfo spells it. A stale FUSE mount
     * cannot be stat'ed (ENOTCONN), so then only its parent is resolved.
     */
    static Path canonical(Path p) {
        Path abs = p.toAbsolutePath().normalize();
        try {
            return abs.toRealPath();
        } catch (IOException e) {
            Path parent = abs.getParent();
            if (parent == null) {
                return abs;
            }
            try {
                return parent.toRealPath().resolve(abs.getFileName());
            } catch (IOException e2) {
                return abs;
            }
        }
    }
}
