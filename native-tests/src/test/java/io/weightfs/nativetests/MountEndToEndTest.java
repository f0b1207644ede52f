package io.weightfs.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.weightfs.manifest.ContentHash;
import io.weightfs.manifest.ContentHasher;
import io.weightfs.testing.PatternContent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code weightfs mount} as a real process, against {@code weightfs serve} as a real process, read
 * through a real FUSE mount with both bindings.
 */
@io.weightfs.testing.RequiresFuse
class MountEndToEndTest {
    private static final Map<String, String> FAST_RETRY = Map.of("WEIGHTFS_RETRY_BASE_MS", "20");
    private static final Duration WAIT = Duration.ofMinutes(3);
    /** Small blocks: more block boundaries for reads to straddle, more blocks to count. */
    private static final String BLOCK = "1MiB";
    private static final int BLOCK_BYTES = 1 << 20;
    /** A weights file that is several blocks and ends with a partial one. */
    private static final PatternContent WEIGHTS = new PatternContent(11, 24L * BLOCK_BYTES + 12_345);

    @TempDir
    Path tmp;

    private Path repos() throws IOException {
        Path repos = tmp.resolve("repos");
        Path root = repos.resolve("acme/model");
        Files.createDirectories(root.resolve("nested/with space"));
        Files.writeString(root.resolve("config.json"), "{\"hidden_size\": 64}\n");
        Files.writeString(root.resolve("nested/with space/données ✓.txt"), "non-ASCII\n");
        Files.write(root.resolve("nested/empty.txt"), new byte[0]);
        WEIGHTS.writeTo(root.resolve("model.safetensors"));
        return repos;
    }

    private Path config(String yaml) throws IOException {
        Path c = tmp.resolve("config.yaml");
        Files.writeString(c, yaml);
        return c;
    }

    private Path defaultConfig() throws IOException {
        return config("""
                model_cache:
                  - repo_id: acme/model
                    revision: main
                    volume_folder: model
                """);
    }

    private MountProcess mount(ServeProcess serve, Path config, String binding, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("--config", config.toString(), "--store", tmp.resolve("store").toString(),
                "--endpoint", serve.endpoint(), "--fuse", binding, "--block-size", BLOCK, "--connections", "4"));
        args.addAll(List.of(extra));
        return MountProcess.start(tmp.resolve("mnt"), FAST_RETRY, args.toArray(String[]::new));
    }

    private static JsonObject status(Path mnt) throws IOException {
        return JsonParser.parseString(Files.readString(mnt.resolve(".weightfs/status.json"))).getAsJsonObject();
    }

    private static void await(BooleanSupplier condition, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(50);
        }
    }

    private static long contentRequests(ServeProcess serve) throws Exception {
        JsonObject r = serve.stats().getAsJsonObject("requests");
        return r.get("resolve").getAsLong() + r.get("cdn").getAsLong();
    }

    /** The byte ranges the server sent for a path, as "a-b" strings. */
    private static List<String> ranges(ServeProcess serve, String pathSuffix) throws Exception {
        List<String> out = new ArrayList<>();
        for (JsonElement d : serve.stats().getAsJsonArray("downloads")) {
            JsonObject o = d.getAsJsonObject();
            if (o.get("path").getAsString().endsWith(pathSuffix) && !o.get("range").isJsonNull()) {
                out.add(o.get("range").getAsString());
            }
        }
        return out;
    }

    private static ContentHash sha256(Path file) throws IOException {
        return ContentHasher.hashFile(file, ContentHash.Algorithm.SHA256);
    }

    @ParameterizedTest
    @ValueSource(strings = {"jfuse", "jnr", "kernel"})
    void everyFile_isListedAtItsRealSize_beforeAnyContentIsRequested(String binding) throws Exception {
        Path repos = repos();
        try (ServeProcess serve = ServeProcess.start(repos);
                MountProcess m = mount(serve, defaultConfig(), binding, "--no-prefetch")) {
            Path mnt = m.mountpoint().resolve("model");
            Path src = repos.resolve("acme/model");
            List<String> want = TestRepos.files(src);
            List<String> got = TestRepos.files(mnt);
            assertEquals(want, got);
            for (String f : want) {
                assertEquals(Files.size(src.resolve(f)), Files.size(mnt.resolve(f)), f);
            }
            assertEquals(Files.getLastModifiedTime(mnt.resolve("config.json")), Files.getLastModifiedTime(mnt.resolve("config.json")));
            assertEquals(0, contentRequests(serve), "listing must not download content");
            assertTrue(Files.isDirectory(m.mountpoint().resolve(".weightfs")));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"jfuse", "jnr", "kernel"})
    void randomReads_whilePrefetchRuns_returnTheSourceBytes_andAfterWaitEveryFileVerifies(String binding) throws Exception {
        Path repos = repos();
        // 8 MB/s: the 24 MiB file takes seconds to fill, so the reads below race the prefetch.
        try (ServeProcess serve = ServeProcess.start(repos, "--fault", "throttle:8000000");
                MountProcess m = mount(serve, defaultConfig(), binding)) {
            Path file = m.mountpoint().resolve("model/model.safetensors");
            Random random = new Random(42);
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                List<long[]> reads = new ArrayList<>();
                reads.add(new long[] {BLOCK_BYTES - 100, 200});                 // straddles a block boundary
                reads.add(new long[] {WEIGHTS.size() - 5000, 5000});            // the last, partial block
                reads.add(new long[] {WEIGHTS.size() - 10, 100});               // past the end: short read
                reads.add(new long[] {7L * BLOCK_BYTES, 3 * BLOCK_BYTES + 17}); // several blocks at once
                for (int i = 0; i < 40; i++) {
                    reads.add(new long[] {(long) (random.nextDouble() * WEIGHTS.size()), 1 + random.nextInt(300_000)});
                }
                for (long[] r : reads) {
                    ByteBuffer buf = ByteBuffer.allocate((int) r[1]);
                    int n = 0;
                    while (buf.hasRemaining()) {
                        int k = ch.read(buf, r[0] + n);
                        if (k < 0) {
                            break;
                        }
                        n += k;
                    }
                    int expected = (int) Math.max(0, Math.min(r[1], WEIGHTS.size() - r[0]));
                    assertEquals(expected, n, "bytes read at " + r[0]);
                    byte[] got = new byte[n];
                    buf.flip().get(got);
                    assertTrue(java.util.Arrays.equals(WEIGHTS.bytes(r[0], n), got), "wrong bytes at " + r[0] + "+" + n);
                }
            }
            assertFalse(status(m.mountpoint()).get("done").getAsBoolean(), "the reads should have raced the fill");

            WeightfsProcess.Result w = WeightfsProcess.run(WAIT, Map.of(), "wait", m.mountpoint().toString(), "--progress", "none");
            assertEquals(0, w.exit(), w.all());
            assertTrue(Files.readString(m.mountpoint().resolve(".weightfs/wait")).startsWith("complete"));
            JsonObject s = status(m.mountpoint());
            assertTrue(s.get("complete").getAsBoolean(), s.toString());
            Path src = repos.resolve("acme/model");
            for (String f : TestRepos.files(src)) {
                assertEquals(sha256(src.resolve(f)), sha256(m.mountpoint().resolve("model").resolve(f)), f);
            }
            // Safetensors loaders mmap the file: the mapping must show the same bytes.
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
                for (long off : new long[] {0, BLOCK_BYTES - 3, 13L * BLOCK_BYTES + 77, WEIGHTS.size() - 64}) {
                    byte[] got = new byte[(int) Math.min(64, WEIGHTS.size() - off)];
                    map.get((int) off, got);
                    assertTrue(java.util.Arrays.equals(WEIGHTS.bytes(off, got.length), got), "mmap at " + off);
                }
            }
            WeightfsProcess.Result st = WeightfsProcess.run(WAIT, Map.of(), "status", m.mountpoint().toString());
            assertEquals(0, st.exit(), st.all());
            assertTrue(st.stdout().contains("/model/model.safetensors") && st.stdout().contains("verified"), st.stdout());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"jfuse", "jnr", "kernel"})
    void killMidPrefetch_thenRemount_neverServesAWrongByte_andDoesNotFetchStoredBlocksAgain(String binding) throws Exception {
        Path repos = repos();
        try (ServeProcess serve = ServeProcess.start(repos, "--fault", "throttle:6000000")) {
            try (MountProcess m = mount(serve, defaultConfig(), binding)) {
                await(() -> {
                    try {
                        return status(m.mountpoint()).get("bytesPresent").getAsLong() >= 8L * BLOCK_BYTES;
                    } catch (IOException e) {
                        return false;
                    }
                }, WAIT, "a third of the file to arrive");
                m.kill9();
                assertTrue(MountProcess.isMounted(m.mountpoint()), "a killed daemon leaves its mount behind");
                WeightfsProcess.Result u = WeightfsProcess.run(Duration.ofSeconds(30), Map.of(), "umount", m.mountpoint().toString());
                assertEquals(0, u.exit(), "weightfs umount must clear a dead daemon's mount: " + u.all());
                assertFalse(MountProcess.isMounted(m.mountpoint()));
            }
            long sentBefore = serve.stats().get("bodyBytes").getAsLong();
            serve.resetStats();
            try (MountProcess m = mount(serve, defaultConfig(), binding)) {
                WeightfsProcess.Result w = WeightfsProcess.run(WAIT, Map.of(), "wait", m.mountpoint().toString(), "--progress", "none");
                assertEquals(0, w.exit(), w.all() + m.output());
                assertEquals(-1, WEIGHTS.firstDifference(m.mountpoint().resolve("model/model.safetensors")));
                long sentAfter = serve.stats().get("bodyBytes").getAsLong();
                // What was durable stays: the restart resumes inside partly written blocks. Only what
                // was in flight (socket buffers, the last unsynced quarter-second) may come twice.
                long twice = sentBefore + sentAfter - WEIGHTS.size();
                assertTrue(twice <= 4L * BLOCK_BYTES, "the server sent " + sentBefore + " + " + sentAfter + " bytes for a file of "
                        + WEIGHTS.size() + ": " + twice + " twice");
                assertTrue(sentAfter < WEIGHTS.size() - 6L * BLOCK_BYTES, "the restart fetched only what was missing: " + sentAfter);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"jfuse", "jnr"})
    void unmountStale_clearsADeadDaemonsMount_andNeverTouchesALiveOne(String binding) throws Exception {
        Path repos = repos();
        try (ServeProcess serve = ServeProcess.start(repos)) {
            MountProcess dead = mount(serve, defaultConfig(), binding);
            try {
                dead.kill9();
                assertTrue(MountProcess.isMounted(dead.mountpoint()), "a killed daemon leaves its mount behind");
                java.nio.file.FileSystemException e = assertThrows(java.nio.file.FileSystemException.class,
                        () -> Files.newDirectoryStream(dead.mountpoint()).close());
                assertTrue(String.valueOf(e.getReason()).contains("Transport endpoint is not connected"), e.toString());
                // Without the flag the dead mount is refused, with what to do.
                List<String> args = List.of("mount", "--config", defaultConfig().toString(), "--store", tmp.resolve("store").toString(),
                        "--endpoint", serve.endpoint(), "--fuse", binding, "--block-size", BLOCK);
                List<String> plain = new ArrayList<>(args);
                plain.add(dead.mountpoint().toString());
                WeightfsProcess.Result refused = WeightfsProcess.run(WAIT, FAST_RETRY, plain.toArray(String[]::new));
                assertTrue(refused.exit() != 0 && refused.stderr().contains("stale FUSE mount"), refused.all());
                try (MountProcess m = mount(serve, defaultConfig(), binding, "--unmount-stale")) {
                    // stderr is pumped apart from the stdout line "ready" came on: wait for it, bounded.
                    await(() -> m.output().contains("unmounted the stale FUSE mount at "), Duration.ofSeconds(30),
                            "the mount to say that it cleared the dead mount");
                    assertEquals(-1, WEIGHTS.firstDifference(m.mountpoint().resolve("model/model.safetensors")));
                    // A mount that answers is never unmounted: a second start with the flag is refused
                    // and the first keeps serving.
                    List<String> again = new ArrayList<>(args);
                    again.addAll(List.of("--unmount-stale", m.mountpoint().toString()));
                    WeightfsProcess.Result second = WeightfsProcess.run(WAIT, FAST_RETRY, again.toArray(String[]::new));
                    assertTrue(second.exit() != 0 && second.stderr().contains("is already a FUSE mount"), second.all());
                    assertEquals(-1, WEIGHTS.firstDifference(m.mountpoint().resolve("model/model.safetensors")));
                }
            } finally {
                dead.close();
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"jfuse", "jnr", "kernel"})
    void aRestartWithTheHubGone_mountsFromTheStoredManifest_andServesEveryStoredByte(String binding) throws Exception {
        Path repos = repos();
        try (ServeProcess serve = ServeProcess.start(repos);
                MountProcess m = mount(serve, defaultConfig(), binding)) {
            WeightfsProcess.Result w = WeightfsProcess.run(WAIT, Map.of(), "wait", m.mountpoint().toString(), "--progress", "none");
            assertEquals(0, w.exit(), w.all());
        }
        // The server is gone: port 9 on loopback refuses connections.
        List<String> args = List.of("--config", defaultConfig().toString(), "--store", tmp.resolve("store").toString(),
                "--endpoint", "http://127.0.0.1:9", "--fuse", binding, "--block-size", BLOCK);
        try (MountProcess m = MountProcess.start(tmp.resolve("mnt"), FAST_RETRY, args.toArray(String[]::new))) {
            assertEquals(-1, WEIGHTS.firstDifference(m.mountpoint().resolve("model/model.safetensors")));
            WeightfsProcess.Result w = WeightfsProcess.run(WAIT, Map.of(), "wait", m.mountpoint().toString(), "--progress", "none");
            assertEquals(0, w.exit(), w.all());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"jfuse", "jnr", "kernel"})
    void twoReposSharingAFile_storeAndDownloadItOnce(String binding) throws Exception {
        Path repos = tmp.resolve("repos");
        for (String r : new String[] {"acme/a", "acme/b"}) {
            Files.createDirectories(repos.resolve(r));
            Files.writeString(repos.resolve(r).resolve("config.json"), "{\"name\": \"" + r + "\"}\n");
            WEIGHTS.writeTo(repos.resolve(r).resolve("shared.safetensors"));
        }
        Path cfg = config("""
                model_cache:
                  - repo_id: acme/a
                    volume_folder: a
                weights:
                  - source: hf://acme/b
                    mount_location: b
                """);
        try (ServeProcess serve = ServeProcess.start(repos);
                MountProcess m = mount(serve, cfg, binding)) {
            WeightfsProcess.Result w = WeightfsProcess.run(WAIT, Map.of(), "wait", m.mountpoint().toString(), "--progress", "none");
            assertEquals(0, w.exit(), w.all());
            assertEquals(-1, WEIGHTS.firstDifference(m.mountpoint().resolve("a/shared.safetensors")));
            assertEquals(-1, WEIGHTS.firstDifference(m.mountpoint().resolve("b/shared.safetensors")));
            long bytes = 0;
            for (String r : ranges(serve, "shared.safetensors")) {
                String[] ab = r.split("-");
                bytes += Long.parseLong(ab[1]) - Long.parseLong(ab[0]) + 1;
            }
            assertEquals(WEIGHTS.size(), bytes, "the shared file's bytes came over the network exactly once");
            try (Stream<Path> s = Files.walk(tmp.resolve("store/blobs/sha256"))) {
                assertEquals(1, s.filter(p -> Files.isRegularFile(p) && p.getFileName().toString().matches("[0-9a-f]{64}")).count(),
                        "one blob file for the shared content");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"jfuse", "jnr", "kernel"})
    void unmountWhileAReaderIsBlockedOnAMissingBlock_failsTheReader_andNothingHangs(String binding) throws Exception {
        Path repos = repos();
        // 100 B/s: even the read's own 4 KiB would take most of a minute, so the reader is surely blocked.
        try (ServeProcess serve = ServeProcess.start(repos, "--fault", "throttle:100");
                MountProcess m = mount(serve, defaultConfig(), binding, "--no-prefetch")) {
            Path file = m.mountpoint().resolve("model/model.safetensors");
            CompletableFuture<Object> reader = CompletableFuture.supplyAsync(() -> {
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                    return ch.read(ByteBuffer.allocate(4096), 5L * BLOCK_BYTES);
                } catch (IOException e) {
                    return e;
                }
            });
            await(() -> {
                try {
                    return contentRequests(serve) > 0;
                } catch (Exception e) {
                    return false;
                }
            }, Duration.ofSeconds(30), "the blocked read to reach the server");
            assertFalse(reader.isDone());
            WeightfsProcess.Result u = WeightfsProcess.run(Duration.ofSeconds(60), Map.of(), "umount", m.mountpoint().toString());
            assertEquals(0, u.exit(), u.all());
            Object result = reader.get(30, TimeUnit.SECONDS);
            assertTrue(result instanceof IOException, "the blocked reader must get an error, got " + result);
            assertTrue(m.process().process().waitFor(30, TimeUnit.SECONDS), "the daemon must exit after umount");
            assertFalse(MountProcess.isMounted(m.mountpoint()));
        }
    }

    @org.junit.jupiter.api.Test
    void sigtermWhileAReaderIsBlocked_failsTheReader_unmounts_andLogsNoBug() throws Exception {
        Path repos = repos();
        try (ServeProcess serve = ServeProcess.start(repos, "--fault", "throttle:100");
                MountProcess m = mount(serve, defaultConfig(), "jfuse", "--no-prefetch")) {
            Path file = m.mountpoint().resolve("model/model.safetensors");
            CompletableFuture<Object> reader = CompletableFuture.supplyAsync(() -> {
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                    return ch.read(ByteBuffer.allocate(4096), 5L * BLOCK_BYTES);
                } catch (IOException e) {
                    return e;
                }
            });
            await(() -> {
                try {
                    return contentRequests(serve) > 0;
                } catch (Exception e) {
                    return false;
                }
            }, Duration.ofSeconds(30), "the blocked read to reach the server");
            m.process().process().destroy(); // SIGTERM
            Object result = reader.get(30, TimeUnit.SECONDS);
            assertTrue(result instanceof IOException, "the blocked reader must get an error, got " + result);
            assertTrue(m.process().process().waitFor(30, TimeUnit.SECONDS), "the daemon must exit on SIGTERM");
            assertFalse(MountProcess.isMounted(m.mountpoint()), "and leave no mount behind");
            String out = m.output();
            assertFalse(out.contains("a bug in") || out.contains("\tat io.weightfs"), out);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"jfuse", "kernel"})
    void aBadConfig_isRefusedBeforeAnythingIsMounted(String binding) throws Exception {
        Path mnt = tmp.resolve("mnt");
        Files.createDirectories(mnt);
        WeightfsProcess.Result r = WeightfsProcess.run(Duration.ofSeconds(60), Map.of(), "mount", "--config",
                config("model_cache:\n  - repo_id: acme/model\n    volume_folder: ../escape\n").toString(),
                "--store", tmp.resolve("store").toString(), "--fuse", binding, mnt.toString());
        assertEquals(2, r.exit(), r.all());
        assertTrue(r.stderr().contains("model_cache[0]"), r.stderr());
        assertFalse(MountProcess.isMounted(mnt));
    }

    @ParameterizedTest
    @ValueSource(strings = {"jfuse", "jnr", "kernel"})
    void backgroundMount_returnsOnceMounted_andTheWaitFileBlocksUntilComplete(String binding) throws Exception {
        Path repos = repos();
        Path mnt = tmp.resolve("mnt");
        Files.createDirectories(mnt);
        try (ServeProcess serve = ServeProcess.start(repos, "--fault", "throttle:30000000")) {
            WeightfsProcess.Result r = WeightfsProcess.run(Duration.ofSeconds(90), FAST_RETRY, "mount", "--background",
                    "--config", defaultConfig().toString(), "--store", tmp.resolve("store").toString(),
                    "--endpoint", serve.endpoint(), "--fuse", binding, "--block-size", BLOCK, mnt.toString());
            try {
                assertEquals(0, r.exit(), r.all());
                assertTrue(MountProcess.isMounted(mnt), "mounted when --background returns");
                assertEquals(Files.size(repos.resolve("acme/model/model.safetensors")), Files.size(mnt.resolve("model/model.safetensors")));
                String waited = Files.readString(mnt.resolve(".weightfs/wait"));
                assertTrue(waited.startsWith("complete"), waited);
                assertTrue(status(mnt).get("complete").getAsBoolean());
            } finally {
                WeightfsProcess.Result u = WeightfsProcess.run(Duration.ofSeconds(60), Map.of(), "umount", mnt.toString());
                assertEquals(0, u.exit(), u.all());
                assertFalse(MountProcess.isMounted(mnt));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"jfuse", "kernel"})
    void writes_areRefused_readOnly(String binding) throws Exception {
        Path repos = repos();
        try (ServeProcess serve = ServeProcess.start(repos);
                MountProcess m = mount(serve, defaultConfig(), binding, "--no-prefetch")) {
            Path mnt = m.mountpoint().resolve("model");
            IOException e = assertThrows(IOException.class, () -> Files.writeString(mnt.resolve("new.txt"), "x"));
            assertTrue(e.getMessage().toLowerCase().contains("read-only"), e.getMessage());
            assertThrows(IOException.class, () -> Files.delete(mnt.resolve("config.json")));
        }
    }

    /** Durable bytes of each block of the model's blob, read from its state file (the store's documented format). */
    private long[] durableBytes() throws IOException {
        Path state;
        try (Stream<Path> s = Files.walk(tmp.resolve("store/blobs/sha256"))) {
            state = s.filter(p -> p.getFileName().toString().endsWith(".state")).findFirst().orElse(null);
        }
        int blocks = (int) ((WEIGHTS.size() + BLOCK_BYTES - 1) / BLOCK_BYTES);
        long[] out = new long[blocks];
        if (state == null) {
            return out;
        }
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(Files.readAllBytes(state)).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < blocks; i++) {
            out[i] = b.getLong(64 + 16 * i) >>> 32;
        }
        return out;
    }

    @org.junit.jupiter.api.Test
    void aRestartAfterKill9_neverFetchesADurableByteAgain_evenInsideABlock() throws Exception {
        Path repos = repos();
        int lives = 6;
        try (ServeProcess serve = ServeProcess.start(repos, "--fault", "throttle:4000000")) {
            long[] durable = new long[0];
            for (int k = 0; k <= lives; k++) {
                serve.resetStats();
                boolean last = k == lives;
                try (MountProcess m = mount(serve, defaultConfig(), "jfuse")) {
                    if (last) {
                        WeightfsProcess.Result w = WeightfsProcess.run(WAIT, Map.of(), "wait", m.mountpoint().toString(), "--progress", "none");
                        assertEquals(0, w.exit(), w.all() + m.output());
                        assertEquals(-1, WEIGHTS.firstDifference(m.mountpoint().resolve("model/model.safetensors")));
                    } else {
                        long start = status(m.mountpoint()).get("bytesPresent").getAsLong();
                        // Each life makes some progress, then ends with kill -9.
                        await(() -> {
                            try {
                                return status(m.mountpoint()).get("bytesPresent").getAsLong() >= start + BLOCK_BYTES;
                            } catch (IOException e) {
                                return false;
                            }
                        }, WAIT, "progress in life " + k);
                        m.kill9();
                        WeightfsProcess.Result u = WeightfsProcess.run(Duration.ofSeconds(30), Map.of(), "umount", m.mountpoint().toString());
                        assertEquals(0, u.exit(), u.all());
                    }
                }
                // Every range this life asked for starts at or after what was durable of each block it covers.
                for (String r : ranges(serve, "model.safetensors")) {
                    String[] ab = r.split("-");
                    long from = Long.parseLong(ab[0]);
                    long to = Long.parseLong(ab[1]);
                    for (int b = (int) (from / BLOCK_BYTES); b <= to / BLOCK_BYTES && b < durable.length; b++) {
                        long blockStart = (long) b * BLOCK_BYTES;
                        long durableEnd = blockStart + durable[b];
                        assertTrue(Math.max(from, blockStart) >= durableEnd, "life " + k + " asked for " + r + ", but block " + b
                                + " had " + durable[b] + " durable bytes");
                    }
                }
                durable = durableBytes();
            }
        }
    }
}
