package io.weightfs.cli;

import io.weightfs.config.ConfigLoader;
import io.weightfs.config.ConfigOptions;
import io.weightfs.config.TokenResolver;
import io.weightfs.config.WeightsConfig;
import io.weightfs.fetch.BlockFetcher;
import io.weightfs.fuse.FuseBinding;
import io.weightfs.fuse.MountOptions;
import io.weightfs.hub.HubClient;
import io.weightfs.mount.MountDaemon;
import io.weightfs.serve.Fault;
import io.weightfs.serve.HubServer;
import io.weightfs.serve.ServeOptions;
import io.weightfs.store.StoreOptions;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code weightfs demo}: the whole path on an embedded default, in a temporary directory: a sample
 * model served by {@code weightfs serve} on a free loopback port, mounted lazily, read before the
 * fill is done, waited for and verified, then fetched eagerly as well; everything removed after.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, description = {
    "Make a small sample model, serve it on a free loopback port, mount it, read before the background",
    "fill is done, wait, verify every byte, unmount; then fetch it eagerly too. Prints what happened and",
    "cleans up. Needs no network and no configuration (and root with /dev/fuse for the mount part)."
})
final class DemoCommand implements Callable<Integer> {
    private static final String REPO = "weightfs-demo/tiny-llama";

    @Option(names = "--keep", description = "Keep the temporary directory (its path is printed).")
    boolean keep;

    @Option(names = "--shards", defaultValue = "4", description = "Safetensors shards in the sample model (default: ${DEFAULT-VALUE}).")
    int shards;

    @Option(names = "--shard-size", defaultValue = "16MiB", converter = Sizes.class,
            description = "Approximate size of each shard (default: ${DEFAULT-VALUE}).")
    long shardSize;

    @Option(names = "--rate", defaultValue = "48MiB", converter = Sizes.class,
            description = "Bandwidth the sample Hub is paced to, per second (default: ${DEFAULT-VALUE}).")
    long rate;

    @Option(names = "--fuse", defaultValue = "jfuse", description = "FUSE binding for the mount: jfuse, jnr or kernel (default: ${DEFAULT-VALUE}).")
    String binding;

    @Override
    public Integer call() throws Exception {
        PrintStream out = System.out;
        // The daemon and the server log as they work; here those lines are asides to the story the
        // demo tells on stdout, so they go out indented (and dimmed on a terminal).
        PrintStream err = System.err;
        System.setErr(new PrintStream(new AsideStream(err, System.console() != null), true, StandardCharsets.UTF_8));
        try {
            return demo(out);
        } finally {
            System.err.close();
            System.setErr(err);
        }
    }

    private Integer demo(PrintStream out) throws Exception {
        Path dir = Files.createTempDirectory("weightfs-demo-");
        try {
            Path repos = dir.resolve("repos");
            int tensorsPerShard = 8;
            int elements = (int) Math.max(1, shardSize / tensorsPerShard / 2);
            long weightBytes = SampleModel.write(repos.resolve(REPO), shards, tensorsPerShard, elements, 42);
            out.printf("1. made a sample model %s: %d safetensors shards (%s) plus config, tokenizer and index%n",
                    REPO, shards, Sizes.format(weightBytes));

            // Paced so that the background fill is still running when the demo reads (as on a real network).
            ServeOptions serveOptions = ServeOptions.of(repos).withPort(0).withFault(Fault.parse("throttle:" + rate));
            try (HubServer server = HubServer.start(serveOptions)) {
                out.printf("2. weightfs serve is listening on %s (its CDN on %s), paced to %s/s%n",
                        server.endpoint(), server.cdnEndpoint(), Sizes.format(rate));
                Path config = dir.resolve("config.yaml");
                Files.writeString(config, """
                        model_cache:
                          - repo_id: %s
                            revision: main
                            use_volume: true
                            volume_folder: tiny-llama
                            allow_patterns: ["*.json", "*.safetensors"]
                        """.formatted(REPO));
                int step = mountDemo(out, dir, config, server, repos.resolve(REPO));
                if (step < 0) {
                    return Main.EXIT_FAILED;
                }
                server.setFaults(List.of());
                Path dest = dir.resolve("fetched");
                long cdnBefore = server.stats().requests().cdn();
                int exit = new CommandLine(new FetchCommand()).execute(
                        "--config", config.toString(), "--dest", dest.toString(),
                        "--store", dir.resolve("fetch-store").toString(), "--endpoint", server.endpoint().toString(),
                        "--progress", "none");
                List<String> mismatched = exit == 0 ? compare(repos.resolve(REPO), dest.resolve("tiny-llama")) : List.of("(fetch failed)");
                if (exit != 0 || !mismatched.isEmpty()) {
                    out.println("demo FAILED: weightfs fetch exited " + exit + "; differing files: " + mismatched);
                    return Main.EXIT_FAILED;
                }
                out.printf("%d. weightfs fetch (the eager path, for hosts without FUSE) downloaded the same files with %d CDN"
                        + " requests into %s and verified every byte%n", step, server.stats().requests().cdn() - cdnBefore, dest);
            }
            out.println("demo OK");
            return 0;
        } finally {
            if (keep) {
                out.println("kept " + dir);
            } else {
                deleteRecursively(dir);
            }
        }
    }

    /**
     * Mounts the served repo, lists it, reads the end of the last shard before the fill gets
     * there, waits for the fill, verifies every byte through the mount, unmounts.
     *
     * @return the number of the next step to print, or -1 if something failed
     */
    private int mountDemo(PrintStream out, Path dir, Path config, HubServer server, Path source) throws Exception {
        Path mnt = dir.resolve("mnt");
        Files.createDirectories(mnt);
        WeightsConfig cfg = ConfigLoader.load(config, ConfigOptions.forTarget(mnt));
        MountDaemon daemon;
        HubClient hub = new HubClient(HubClient.Options.fromEnvironment(Map.of("HF_ENDPOINT", server.endpoint().toString()))
                .withMaxConnections(16));
        long t0 = System.nanoTime();
        try {
            daemon = MountDaemon.start(cfg, hub, TokenResolver.fromEnvironment(), new MountDaemon.Options(mnt, dir.resolve("store"),
                    StoreOptions.DEFAULTS, BlockFetcher.Options.of(8, true), MountOptions.defaults().withBinding(FuseBinding.fromName(binding)),
                    true, true, java.util.Optional.empty()));
        } catch (IOException e) {
            hub.close();
            out.println("3. (no FUSE mount here: " + e.getMessage() + "; showing the eager path only."
                    + (new java.io.File("/dev/fuse").exists() ? " As root, ./weightfs demo installs libfuse3 itself.)" : ")"));
            return 4;
        }
        try (daemon; hub) {
            long mountedNanos = System.nanoTime() - t0;
            Path model = mnt.resolve("tiny-llama");
            long listed;
            long bytes = 0;
            try (Stream<Path> files = Files.walk(model)) {
                List<Path> all = files.filter(Files::isRegularFile).toList();
                listed = all.size();
                for (Path p : all) {
                    bytes += Files.size(p);
                }
            }
            out.printf("3. weightfs mount: %s answered %.0f ms after start, listing %d files (%s) at their real sizes%n",
                    mnt, mountedNanos / 1e6, listed, Sizes.format(bytes));
            Path lastShard = model.resolve(String.format("model-%05d-of-%05d.safetensors", shards, shards));
            long size = Files.size(lastShard);
            int want = (int) Math.min(1 << 20, size);
            long r0 = System.nanoTime();
            byte[] tail = new byte[want];
            try (FileChannel ch = FileChannel.open(lastShard, StandardOpenOption.READ)) {
                ch.read(ByteBuffer.wrap(tail), size - want);
            }
            long readNanos = System.nanoTime() - r0;
            com.google.gson.JsonObject st = com.google.gson.JsonParser.parseString(daemon.statusJson()).getAsJsonObject();
            byte[] expected = new byte[want];
            try (FileChannel ch = FileChannel.open(source.resolve(lastShard.getFileName().toString()), StandardOpenOption.READ)) {
                ch.read(ByteBuffer.wrap(expected), size - want);
            }
            if (!java.util.Arrays.equals(tail, expected)) {
                out.println("demo FAILED: the bytes read through the mount differ from the served ones");
                return -1;
            }
            out.printf("4. read the last %s of %s in %.0f ms, while the background fill had %s of %s (%s)%n",
                    Sizes.format(want), lastShard.getFileName(), readNanos / 1e6, Sizes.format(st.get("bytesPresent").getAsLong()),
                    Sizes.format(st.get("bytes").getAsLong()), st.get("readThroughs").getAsLong() > 0
                            ? "read straight from the source, ahead of the fill" : "its block fetched ahead of the fill's order");
            long w0 = System.nanoTime();
            String waited = Files.readString(mnt.resolve(".weightfs/wait")).strip();
            out.printf("5. cat %s/.weightfs/wait returned after %.1f s: %s%n", mnt, (System.nanoTime() - w0) / 1e9, waited);
            List<String> mismatched = compare(source, model);
            if (!waited.startsWith("complete") || !mismatched.isEmpty()) {
                out.println("demo FAILED: wait said '" + waited + "'; files differing through the mount: " + mismatched);
                return -1;
            }
            out.println("6. verified through the mount: every file is byte-for-byte the served one (and the daemon checked each"
                    + " against its sha256/sha1 before calling it complete); unmounting");
        }
        return 7;
    }

    /**
     * Writes each line it is given to {@code target} indented, and dimmed (ANSI faint) when
     * {@code dim}: how log lines are set apart from the demo's own. Thread-safe.
     */
    static final class AsideStream extends java.io.OutputStream {
        private static final byte[] INDENT = "      ".getBytes(StandardCharsets.US_ASCII);
        private static final byte[] DIM_ON = "\u001b[2m".getBytes(StandardCharsets.US_ASCII);
        private static final byte[] DIM_OFF = "\u001b[0m".getBytes(StandardCharsets.US_ASCII);
        private final PrintStream target;
        private final boolean dim;
        private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();

        AsideStream(PrintStream target, boolean dim) {
            this.target = target;
            this.dim = dim;
        }

        @Override
        public synchronized void write(int b) {
            if (b == '\n') {
                emit();
            } else {
                line.write(b);
            }
        }

        /** Flushes whole lines only: PrintStream flushes after every write, mid-line too. */
        @Override
        public synchronized void flush() {
            target.flush();
        }

        @Override
        public synchronized void close() {
            if (line.size() > 0) {
                emit();
            }
            target.flush();
        }

        private void emit() {
            target.write(INDENT, 0, INDENT.length);
            if (dim) {
                target.write(DIM_ON, 0, DIM_ON.length);
            }
            target.write(line.toByteArray(), 0, line.size());
            if (dim) {
                target.write(DIM_OFF, 0, DIM_OFF.length);
            }
            target.write('\n');
            line.reset();
        }
    }

    /** Repo paths whose bytes differ between the two trees, or that are missing from {@code got}. */
    private static List<String> compare(Path want, Path got) throws IOException {
        List<String> bad = new ArrayList<>();
        try (Stream<Path> files = Files.walk(want)) {
            for (Path p : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                Path rel = want.relativize(p);
                if (!rel.getFileName().toString().endsWith(".json") && !rel.getFileName().toString().endsWith(".safetensors")) {
                    continue;
                }
                Path other = got.resolve(rel.toString());
                if (!Files.exists(other) || Files.mismatch(p, other) != -1) {
                    bad.add(rel.toString());
                }
            }
        }
        return bad;
    }

    private static void deleteRecursively(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
