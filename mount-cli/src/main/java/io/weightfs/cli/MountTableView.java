package io.weightfs.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Small read-only looks at /proc/self/mountinfo and at log text, for the commands. */
final class MountTableView {
    private MountTableView() {}

    /** Whether {@code mnt} is currently a FUSE mount point (fstype starting with "fuse"). */
    static boolean isFuseMount(Path mnt) throws IOException {
        String want = mnt.toAbsolutePath().normalize().toString();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8)) {
            // id parent major:minor root mountpoint options ... - fstype source superoptions
            String[] f = line.split(" ");
            int dash = line.indexOf(" - ");
            if (f.length > 4 && dash > 0) {
                String point = f[4].replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\");
                String fstype = line.substring(dash + 3).split(" ")[0];
                if (point.equals(want) && fstype.startsWith("fuse")) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The last {@code lines} lines of {@code text}. */
    static String lastLines(String text, int lines) {
        List<String> all = text.lines().toList();
        return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    }
}
