package io.weightfs.nativetests;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real GlusterFS volume on this machine, with default settings, mounted twice (two FUSE client
 * mounts, as two nodes of a region would mount it), following shared/PLATFORM.md's recipe:
 * glusterd bound to 127.0.0.1 (its volfile copied with {@code transport.socket.bind-address}
 * added, /etc untouched), one brick under a temporary folder, {@code mount -t glusterfs} twice.
 *
 * <p>{@link #close()} tears down what {@link #start} made, in reverse: both client mounts, the
 * volume (stopped, deleted), the glusterd it started (a glusterd that was already running is left
 * alone), the folder. Volumes that an earlier, killed run left behind (our name prefix, brick
 * gone) are deleted at start. Every command is bounded in time.
 */
final class GlusterVolume implements AutoCloseable {
    private static final String PREFIX = "weightfs-test-";
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration GLUSTERD_READY = Duration.ofSeconds(30);
    private static final Path GLUSTERD_VOL = Path.of("/etc/glusterfs/glusterd.vol");

    private final Path dir;
    private final String name;
    private final Path clientA;
    private final Path clientB;
    private final Long startedGlusterd;
    private boolean volumeCreated;
    private boolean volumeStarted;

    private GlusterVolume(Path dir, String name, Long startedGlusterd) {
        this.dir = dir;
        this.name = name;
        this.clientA = dir.resolve("client-a");
        this.clientB = dir.resolve("client-b");
        this.startedGlusterd = startedGlusterd;
    }

    /**
     * Why this machine cannot run a GlusterFS volume for tests, or empty: only what {@code ./test.sh}
     * cannot install is a reason to skip (root); missing packages fail the test (CI installs them).
     */
    static Optional<String> missing() {
        if (!"root".equals(System.getProperty("user.name"))) {
            return Optional.of("a GlusterFS volume is created and mounted as root (run ./test.sh as root)");
        }
        return Optional.empty();
    }

    /** Starts glusterd if needed, creates and starts a fresh volume, and mounts it twice. */
    static GlusterVolume start() throws IOException, InterruptedException {
        for (String tool : List.of("/usr/sbin/glusterd", "/usr/sbin/gluster", "/usr/sbin/mount.glusterfs")) {
            if (!Files.isExecutable(Path.of(tool))) {
                throw new IllegalStateException(tool + " is missing: install glusterfs-server and glusterfs-client"
                        + " (apt-get install -y glusterfs-server glusterfs-client; ./test.sh does it)");
            }
        }
        Path dir = Files.createTempDirectory(Path.of("/var/tmp"), "weightfs-gluster-");
        Long started = null;
        if (!run(Duration.ofSeconds(10), "gluster", "--mode=script", "pool", "list").ok()) {
            Path vol = dir.resolve("glusterd.vol");
            String conf = Files.readString(GLUSTERD_VOL, StandardCharsets.UTF_8);
            Files.writeString(vol, conf.replace("end-volume", "    option transport.socket.bind-address 127.0.0.1\nend-volume"));
            Path pid = dir.resolve("glusterd.pid");
            check(run(COMMAND_TIMEOUT, "glusterd", "-f", vol.toString(), "-p", pid.toString(), "--log-file=" + dir.resolve("glusterd.log")),
                    "start glusterd");
            long deadline = System.nanoTime() + GLUSTERD_READY.toNanos();
            while (!run(Duration.ofSeconds(10), "gluster", "--mode=script", "pool", "list").ok()) {
                if (System.nanoTime() > deadline) {
                    throw new IOException("glusterd did not answer within " + GLUSTERD_READY + "; see " + dir.resolve("glusterd.log"));
                }
                Thread.sleep(100);
            }
            started = Long.parseLong(Files.readString(pid).strip());
        }
        deleteLeftovers();
        GlusterVolume v = new GlusterVolume(dir, PREFIX + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()), started);
        try {
            v.create();
            return v;
        } catch (IOException | RuntimeException | InterruptedException e) {
            v.close();
            throw e;
        }
    }

    private void create() throws IOException, InterruptedException {
        Path brick = dir.resolve("brick");
        Files.createDirectories(brick);
        // A brick named by 127.0.0.1 is refused; the host name, which /etc/hosts maps to it, is taken.
        String host = run(Duration.ofSeconds(5), "hostname").out().strip();
        check(run(COMMAND_TIMEOUT, "gluster", "--mode=script", "volume", "create", name, host + ":" + brick, "force"),
                "create volume " + name + " (is '" + host + "' mapped to 127.0.0.1 in /etc/hosts?)");
        volumeCreated = true;
        check(run(COMMAND_TIMEOUT, "gluster", "--mode=script", "volume", "start", name), "start volume " + name);
        volumeStarted = true;
        for (Path client : List.of(clientA, clientB)) {
            Files.createDirectories(client);
            check(run(COMMAND_TIMEOUT, "mount", "-t", "glusterfs", "127.0.0.1:/" + name, client.toString()), "mount " + name + " at " + client);
        }
    }

    /** The volume as the first client mount sees it. */
    Path clientA() {
        return clientA;
    }

    /** The same volume through the second client mount. */
    Path clientB() {
        return clientB;
    }

    String name() {
        return name;
    }

    @Override
    public void close() throws IOException, InterruptedException {
        List<String> failures = new ArrayList<>();
        for (Path client : List.of(clientB, clientA)) {
            if (MountProcess.isMounted(client) || isGlusterMount(client)) {
                Result r = run(COMMAND_TIMEOUT, "umount", client.toString());
                if (!r.ok()) {
                    run(COMMAND_TIMEOUT, "umount", "-l", client.toString());
                }
            }
        }
        if (volumeStarted) {
            note(failures, run(COMMAND_TIMEOUT, "gluster", "--mode=script", "volume", "stop", name, "force"), "stop " + name);
        }
        if (volumeCreated) {
            note(failures, run(COMMAND_TIMEOUT, "gluster", "--mode=script", "volume", "delete", name), "delete " + name);
        }
        if (startedGlusterd != null) {
            ProcessHandle.of(startedGlusterd).ifPresent(p -> {
                p.destroy();
                p.onExit().orTimeout(20, TimeUnit.SECONDS).exceptionally(t -> {
                    p.destroyForcibly();
                    return p;
                }).join();
            });
        }
        if (!isGlusterMount(clientA) && !isGlusterMount(clientB)) {
            deleteTree(dir);
        } else {
            failures.add("a client mount of " + name + " is still there: left " + dir + " in place");
        }
        if (!failures.isEmpty()) {
            throw new IOException("tearing down GlusterFS volume " + name + ": " + String.join("; ", failures));
        }
    }

    static boolean isGlusterMount(Path p) throws IOException {
        String want = p.toAbsolutePath().normalize().toString();
        for (String line : Files.readAllLines(Path.of("/proc/self/mounts"), StandardCharsets.UTF_8)) {
            String[] f = line.split(" ");
            if (f.length > 2 && f[1].equals(want) && f[2].equals("fuse.glusterfs")) {
                return true;
            }
        }
        return false;
    }

    /** Volumes of ours whose brick is gone: left by a run that was killed before its teardown. */
    private static void deleteLeftovers() throws IOException, InterruptedException {
        for (String vol : run(COMMAND_TIMEOUT, "gluster", "--mode=script", "volume", "list").out().lines().toList()) {
            if (!vol.startsWith(PREFIX)) {
                continue;
            }
            String info = run(COMMAND_TIMEOUT, "gluster", "--mode=script", "volume", "info", vol).out();
            Optional<String> brick = info.lines().filter(l -> l.startsWith("Brick1:")).map(l -> l.substring(l.indexOf(':', 7) + 1).strip())
                    .findFirst();
            if (brick.isPresent() && !Files.exists(Path.of(brick.get()))) {
                run(COMMAND_TIMEOUT, "gluster", "--mode=script", "volume", "stop", vol, "force");
                run(COMMAND_TIMEOUT, "gluster", "--mode=script", "volume", "delete", vol);
            }
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private record Result(int exit, String out) {
        boolean ok() {
            return exit == 0;
        }
    }

    private static void check(Result r, String what) throws IOException {
        if (!r.ok()) {
            throw new IOException("cannot " + what + " (exit " + r.exit() + "): " + r.out().strip());
        }
    }

    private static void note(List<String> failures, Result r, String what) {
        if (!r.ok()) {
            failures.add("cannot " + what + ": " + r.out().strip());
        }
    }

    private static Result run(Duration timeout, String... cmd) throws IOException, InterruptedException {
        Path out = Files.createTempFile("weightfs-gluster-cmd", ".out");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                return new Result(124, String.join(" ", cmd) + " did not finish within " + timeout);
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
        }
    }
}
