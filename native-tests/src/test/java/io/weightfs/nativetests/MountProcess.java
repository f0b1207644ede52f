package io.weightfs.nativetests;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * {@code weightfs mount} as a real process. {@link #close()} always leaves the mountpoint
 * unmounted: {@code weightfs umount}, then {@code fusermount -u}/{@code umount -l} if the daemon
 * died, and the process is killed if it does not exit.
 */
final class MountProcess implements AutoCloseable {
    private static final Pattern READY = Pattern.compile("weightfs mount: ready at (.+)");
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

    private final WeightfsProcess process;
    private final Path mountpoint;

    private MountProcess(WeightfsProcess process, Path mountpoint) {
        this.process = process;
        this.mountpoint = mountpoint;
    }

    /** Starts {@code weightfs mount ... MOUNTPOINT} and waits until it says it is ready. */
    static MountProcess start(Path mountpoint, Map<String, String> env, String... args) throws IOException, InterruptedException {
        Files.createDirectories(mountpoint);
        List<String> all = new ArrayList<>(List.of("mount"));
        all.addAll(List.of(args));
        all.add(mountpoint.toString());
        WeightfsProcess p = WeightfsProcess.start(env, all.toArray(String[]::new));
        MountProcess m = new MountProcess(p, mountpoint);
        try {
            p.awaitLine(READY, READY_TIMEOUT);
            return m;
        } catch (AssertionError | RuntimeException e) {
            m.close();
            throw e;
        }
    }

    Path mountpoint() {
        return mountpoint;
    }

    WeightfsProcess process() {
        return process;
    }

    String output() {
        return process.stdout() + process.stderr();
    }

    /** SIGKILL: the daemon dies with the mount still in the kernel's table. */
    void kill9() throws InterruptedException {
        process.process().destroyForcibly();
        process.process().waitFor(30, TimeUnit.SECONDS);
    }

    static boolean isMounted(Path mnt) throws IOException {
        String want = mnt.toAbsolutePath().normalize().toString();
        for (String line : Files.readAllLines(Path.of("/proc/self/mounts"), StandardCharsets.UTF_8)) {
            String[] f = line.split(" ");
            if (f.length > 2 && f[1].replace("\\040", " ").equals(want) && f[2].startsWith("fuse")) {
                return true;
            }
        }
        return false;
    }

    /** Unmounts with {@code weightfs umount} (falling back to the system tools), then reaps the daemon. */
    @Override
    public void close() throws InterruptedException {
        try {
            if (isMounted(mountpoint)) {
                try {
                    WeightfsProcess.run(Duration.ofSeconds(30), Map.of(), "umount", mountpoint.toString());
                } catch (AssertionError | IOException e) {
                    // fall through to the system tools
                }
            }
            for (String[] cmd : new String[][] {{"fusermount3", "-u", "-z", mountpoint.toString()},
                {"fusermount", "-u", "-z", mountpoint.toString()}, {"umount", "-l", mountpoint.toString()}}) {
                if (!isMounted(mountpoint)) {
                    break;
                }
                try {
                    new ProcessBuilder(cmd).redirectErrorStream(true).start().waitFor(10, TimeUnit.SECONDS);
                } catch (IOException e) {
                    // try the next tool
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } finally {
            if (!process.process().waitFor(15, TimeUnit.SECONDS)) {
                process.process().destroyForcibly();
            }
            process.close();
        }
    }
}
