package io.weightfs.nativetests.bench;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * weightfs run as the user runs it: through the launcher ({@code packaging/bin/weightfs}, so its JVM
 * flags and its class-data-sharing archive apply), one process per command, output to log files
 * under the work directory.
 *
 * <p>The launcher keeps one CDS archive per jar and JVM, written by whichever weightfs process
 * exits first, with the classes that process loaded. So that each command is measured in its steady
 * state (its own classes archived by an earlier run of it, as on a node that runs the same command
 * again), each command gets its own cache directory ({@code XDG_CACHE_HOME}); {@link #freshCds}
 * measures the first start on a node instead. Without a launcher, the jar is run with the
 * launcher's flags and no archive.
 */
final class Weightfs {
    /** The JVM flags the launcher passes (besides its CDS archive), for runs without the launcher. */
    static final List<String> LAUNCHER_FLAGS = List.of("--enable-native-access=ALL-UNNAMED",
            "--sun-misc-unsafe-memory-access=allow", "-Djava.library.path=/usr/lib/x86_64-linux-gnu:/usr/lib64:/usr/lib",
            "-XX:+UseSerialGC", "-Xshare:auto", "-Xmx384m", "-XX:MaxDirectMemorySize=256m");
    private static final Pattern LISTENING = Pattern.compile("weightfs serve: listening on (http://\\S+) \\(cdn (http://\\S+)\\)");
    private static final Pattern READY = Pattern.compile("weightfs mount: ready at ");
    /** Serve hashes every file before it listens: a few seconds per GiB on this machine. */
    private static final Duration SERVE_START = Duration.ofMinutes(5);
    private static final Duration MOUNT_READY = Duration.ofMinutes(2);

    private final String java;
    private final Path jar;
    private final Path launcher;
    private final Path logs;
    private final Path cds;
    private final AtomicInteger seq = new AtomicInteger();
    private final AtomicInteger fresh = new AtomicInteger();
    /** Mount daemons that did not exit with status 0 after their unmount: "status N, log L". */
    private final List<String> abnormalExits = Collections.synchronizedList(new ArrayList<>());
    /** When set, the next mount starts with an empty CDS directory (the first start on a node). */
    private volatile boolean freshCds;
    /** {@code --fuse BINDING} for every mount, or null for weightfs's default. */
    private final String fuseBinding;

    /**
     * @param launcher {@code packaging/bin/weightfs}, or null to run the jar with {@link #LAUNCHER_FLAGS}
     * @param cds where the per-command CDS cache directories go
     */
    Weightfs(String java, Path jar, Path launcher, Path logs, Path cds, String fuseBinding) {
        this.fuseBinding = fuseBinding;
        this.java = java;
        this.jar = jar;
        this.launcher = launcher;
        this.logs = logs;
        this.cds = cds;
    }

    boolean viaLauncher() {
        return launcher != null;
    }

    /** The command line of {@code weightfs <args>}, after {@code prefix} (e.g. ip netns exec). */
    List<String> command(List<String> prefix, String... args) {
        List<String> cmd = new ArrayList<>(prefix);
        if (launcher != null) {
            cmd.add(launcher.toString());
        } else {
            cmd.add(java);
            cmd.addAll(LAUNCHER_FLAGS);
            cmd.add("-jar");
            cmd.add(jar.toString());
        }
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** The environment for {@code weightfs <command>}: this jar and JDK, and the command's own CDS directory. */
    Map<String, String> env(String command) {
        String dir = command;
        if (command.equals("mount") && freshCds) {
            dir = "mount-first-start-" + fresh.incrementAndGet();
        }
        // java is JAVA_HOME/bin/java
        Path home = Path.of(java).getParent().getParent();
        return Map.of("WEIGHTFS_JAR", jar.toString(), "WEIGHTFS_JAVA_HOME", home.toString(),
                "XDG_CACHE_HOME", cds.resolve(dir).toString());
    }

    List<String> abnormalExits() {
        return List.copyOf(abnormalExits);
    }

    /** Whether mounts from now on start without a CDS archive (each writes one as it exits). */
    void freshCds(boolean value) {
        freshCds = value;
    }

    Path log(String what) {
        return logs.resolve(String.format("%03d-%s.log", seq.incrementAndGet(), what));
    }

    /** {@code weightfs serve}, optionally inside a network namespace ({@code prefix}). */
    Server serve(Path repos, String bind, List<String> prefix, String... extra) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("serve", "--repos", repos.toString(), "--port", "0", "--bind", bind));
        args.addAll(List.of(extra));
        Proc p = Proc.start("serve", command(prefix, args.toArray(String[]::new)), log("serve"), env("serve"));
        try {
            Matcher m = p.awaitLine(LISTENING, SERVE_START);
            return new Server(p, m.group(1));
        } catch (IOException | RuntimeException e) {
            p.close();
            throw e;
        }
    }

    /** Starts {@code weightfs mount}; returns at once (see {@link Mount#awaitReady()}). */
    Mount mount(Path config, Path store, String endpoint, Path mnt, String... extra) throws IOException {
        return mountUnder(List.of(), config, store, endpoint, mnt, extra);
    }

    /** As {@link #mount}, run under {@code prefix} (e.g. strace). */
    Mount mountUnder(List<String> prefix, Path config, Path store, String endpoint, Path mnt, String... extra) throws IOException {
        Files.createDirectories(mnt);
        Files.createDirectories(store);
        List<String> args = new ArrayList<>(List.of("mount", "--config", config.toString(), "--store", store.toString(),
                "--endpoint", endpoint));
        if (fuseBinding != null) {
            args.addAll(List.of("--fuse", fuseBinding));
        }
        args.addAll(List.of(extra));
        args.add(mnt.toString());
        Proc p = Proc.start("mount", command(prefix, args.toArray(String[]::new)), log("mount"), env("mount"));
        return new Mount(this, p, mnt, store);
    }

    /** The binding the mounts use, as passed to {@code --fuse}; "default" when none was given. */
    String fuseBinding() {
        return fuseBinding == null ? "default" : fuseBinding;
    }

    /** Runs {@code weightfs fetch} to completion. */
    void fetch(Path config, Path dest, Path store, String endpoint) throws IOException, InterruptedException {
        Proc.check(fetchCommand(config, dest, store, endpoint), env("fetch"), log("fetch"), Duration.ofMinutes(30));
    }

    /** Starts {@code weightfs fetch} and returns at once (the kill -9 and resume figure). */
    Proc startFetch(Path config, Path dest, Path store, String endpoint) throws IOException {
        return Proc.start("fetch", fetchCommand(config, dest, store, endpoint), log("fetch"), env("fetch"));
    }

    /** {@code store} null: no {@code --store} (fetch fills hidden files beside the destinations). */
    private List<String> fetchCommand(Path config, Path dest, Path store, String endpoint) {
        List<String> args = new ArrayList<>(List.of("fetch", "--config", config.toString(), "--dest", dest.toString()));
        if (store != null) {
            args.addAll(List.of("--store", store.toString()));
        }
        args.addAll(List.of("--endpoint", endpoint, "--progress", "none"));
        return command(List.of(), args.toArray(String[]::new));
    }

    /** Runs {@code weightfs --version}: a JVM starting the jar and doing nothing else. */
    void version() throws IOException, InterruptedException {
        Proc.check(command(List.of(), "--version"), env("version"), log("version"), Duration.ofMinutes(1));
    }

    void umount(Path mnt) throws IOException, InterruptedException {
        Proc.run(command(List.of(), "umount", mnt.toString()), env("umount"), log("umount"), Duration.ofSeconds(60));
    }

    /** A running {@code weightfs serve}. */
    record Server(Proc proc, String endpoint) implements AutoCloseable {
        private static final HttpClient HTTP = HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(5)).build();

        /** Body bytes the server has sent since the last {@link #resetStats()} ({@code GET /_weightfs/stats}). */
        long bodyBytes() throws IOException, InterruptedException {
            var r = HTTP.send(HttpRequest.newBuilder(URI.create(endpoint + "/_weightfs/stats"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            return JsonParser.parseString(r.body()).getAsJsonObject().get("bodyBytes").getAsLong();
        }

        void resetStats() throws IOException, InterruptedException {
            var r = HTTP.send(HttpRequest.newBuilder(URI.create(endpoint + "/_weightfs/stats/reset"))
                    .POST(HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() / 100 != 2) {
                throw new IOException("stats reset answered " + r.statusCode());
            }
        }

        @Override
        public void close() throws InterruptedException {
            proc.close();
        }
    }

    /** A running {@code weightfs mount}. {@link #close()} always leaves the mountpoint unmounted. */
    static final class Mount implements AutoCloseable {
        private final Weightfs wfs;
        private final Proc proc;
        private final Path mnt;
        private final Path store;
        private long readyNanos;

        Mount(Weightfs wfs, Proc proc, Path mnt, Path store) {
            this.wfs = wfs;
            this.proc = proc;
            this.mnt = mnt;
            this.store = store;
        }

        /** Waits for "ready at" on stdout; returns when that line was read (System.nanoTime), even if that was earlier. */
        long awaitReady() throws IOException, InterruptedException {
            if (readyNanos == 0) {
                readyNanos = proc.awaitTimedLine(READY, MOUNT_READY).getKey();
            }
            return readyNanos;
        }

        Path path() {
            return mnt;
        }

        Path store() {
            return store;
        }

        Proc proc() {
            return proc;
        }

        JsonObject status() throws IOException {
            return JsonParser.parseString(Files.readString(mnt.resolve(".weightfs/status.json"))).getAsJsonObject();
        }

        /** Polls status.json until {@code until} holds; returns the last status. */
        JsonObject awaitStatus(Predicate<JsonObject> until, Duration timeout) throws IOException, InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                JsonObject s = status();
                if (until.test(s)) {
                    return s;
                }
                if (System.nanoTime() > deadline) {
                    throw new IOException("mount at " + mnt + " did not reach the expected state within " + timeout
                            + "; last status " + brief(s) + "; log " + proc.log());
                }
                if (!proc.isAlive()) {
                    throw new IOException("the mount daemon exited; log " + proc.log() + ":\n" + Proc.tail(proc.log(), 20));
                }
                Thread.sleep(50);
            }
        }

        static String brief(JsonObject s) {
            JsonObject b = new JsonObject();
            for (String k : new String[] {"complete", "done", "bytes", "bytesPresent", "bytesVerified",
                "bytesFetched", "errors", "profiles"}) {
                if (s.has(k)) {
                    b.add(k, s.get(k));
                }
            }
            return b.toString();
        }

        /** CPU seconds the daemon has used so far. */
        double cpuSeconds() {
            return Proc.cpuSeconds(proc.pidOf("weightfs.jar"));
        }

        /** Peak RSS of the daemon so far (VmHWM), in bytes. */
        long peakRss() {
            return Proc.peakRss(proc.pidOf("weightfs.jar"));
        }

        @Override
        public void close() throws IOException, InterruptedException {
            try {
                if (Mounts.isMounted(mnt)) {
                    wfs.umount(mnt);
                }
                if (!proc.waitFor(Duration.ofSeconds(30))) {
                    wfs.abnormalExits.add("did not exit within 30 s of its unmount, log " + proc.log());
                    proc.close();
                } else if (proc.exitStatus() != 0) {
                    wfs.abnormalExits.add("exit status " + proc.exitStatus() + ", log " + proc.log());
                }
            } finally {
                Mounts.forceUnmount(mnt);
                proc.close();
            }
        }
    }

    /** Writes a one-entry config: {@code repo} under {@code folder}. */
    static Path config(Path file, String repo, String folder) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, "model_cache:\n  - repo_id: " + repo + "\n    volume_folder: " + folder + "\n", StandardCharsets.UTF_8);
        return file;
    }
}
