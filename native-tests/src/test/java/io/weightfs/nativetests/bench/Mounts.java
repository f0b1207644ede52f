package io.weightfs.nativetests.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** The mount table, unmounting, kernel readahead and the page cache: the root-only knobs. */
final class Mounts {
    private Mounts() {}

    /** FUSE mountpoints at or below {@code dir}, deepest first. */
    static List<Path> fuseMountsUnder(Path dir) throws IOException {
        String base = dir.toAbsolutePath().normalize().toString();
        List<Path> out = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mounts"), StandardCharsets.UTF_8)) {
            String[] f = line.split(" ");
            if (f.length > 2 && f[2].startsWith("fuse")) {
                String mp = unescape(f[1]);
                if (mp.equals(base) || mp.startsWith(base + "/")) {
                    out.add(Path.of(mp));
                }
            }
        }
        out.sort((a, b) -> b.getNameCount() - a.getNameCount());
        return out;
    }

    static boolean isMounted(Path mnt) throws IOException {
        String want = mnt.toAbsolutePath().normalize().toString();
        for (String line : Files.readAllLines(Path.of("/proc/self/mounts"), StandardCharsets.UTF_8)) {
            String[] f = line.split(" ");
            if (f.length > 2 && unescape(f[1]).equals(want) && f[2].startsWith("fuse")) {
                return true;
            }
        }
        return false;
    }

    /** {@code major:minor} of a mount (names its bdi in sysfs), from /proc/self/mountinfo. */
    static Optional<String> device(Path mnt) throws IOException {
        String want = mnt.toAbsolutePath().normalize().toString();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8)) {
            String[] f = line.split(" ");
            if (f.length > 4 && unescape(f[4]).equals(want)) {
                return Optional.of(f[2]);
            }
        }
        return Optional.empty();
    }

    /** The kernel readahead of a mount, as weightfs sets it for its own mounts. */
    static void setReadAheadKb(Path mnt, int kb) throws IOException {
        String dev = device(mnt).orElseThrow(() -> new IOException(mnt + " is not mounted"));
        Files.writeString(Path.of("/sys/class/bdi", dev, "read_ahead_kb"), Integer.toString(kb));
    }

    static int readAheadKb(Path mnt) throws IOException {
        String dev = device(mnt).orElseThrow(() -> new IOException(mnt + " is not mounted"));
        return Integer.parseInt(Files.readString(Path.of("/sys/class/bdi", dev, "read_ahead_kb")).trim());
    }

    /** Unmounts whatever is still mounted there with the system tools (lazily, as a last resort). */
    static void forceUnmount(Path mnt) throws IOException, InterruptedException {
        for (String[] cmd : new String[][] {{"fusermount3", "-u", mnt.toString()}, {"fusermount3", "-u", "-z", mnt.toString()},
            {"umount", "-l", mnt.toString()}}) {
            if (!isMounted(mnt)) {
                return;
            }
            try {
                new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start()
                        .waitFor(20, TimeUnit.SECONDS);
            } catch (IOException e) {
                // next tool
            }
        }
    }

    /** {@code sync; echo 3 > /proc/sys/vm/drop_caches}: the next read of any file comes from disk. */
    static void dropCaches() throws IOException, InterruptedException {
        sync();
        Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "3");
    }

    static void sync() throws IOException, InterruptedException {
        new ProcessBuilder("sync").inheritIO().start().waitFor(5, TimeUnit.MINUTES);
    }

    /** Waits until {@code mnt} is a FUSE mount. */
    static void awaitMounted(Path mnt, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!isMounted(mnt)) {
            if (System.nanoTime() > deadline) {
                throw new IOException(mnt + " was not mounted within " + timeout);
            }
            Thread.sleep(10);
        }
    }

    private static String unescape(String s) {
        return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\");
    }
}
