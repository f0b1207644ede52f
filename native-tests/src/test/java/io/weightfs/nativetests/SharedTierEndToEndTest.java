package io.weightfs.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.weightfs.testing.PatternContent;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The shared cache tier between "nodes" (daemons with their own node stores) on one machine, each
 * scenario run twice: on a local directory, and on a real GlusterFS volume with default settings
 * with the nodes spread over two FUSE client mounts of it (node a and c on one, b on the other), as
 * nodes of a region would mount it (stale reads, ESTALE during renames: see shared/PLATFORM.md).
 */
@io.weightfs.testing.RequiresFuse
@ParameterizedClass(name = "on {0}")
@EnumSource(SharedTierEndToEndTest.SharedFs.class)
class SharedTierEndToEndTest {
    private static final Map<String, String> FAST_RETRY = Map.of("WEIGHTFS_RETRY_BASE_MS", "20");
    private static final PatternContent WEIGHTS = new PatternContent(41, 20L * (1 << 20) + 777);
    private static final Duration WAIT = Duration.ofMinutes(2);

    /** Where the shared tier lives. */
    enum SharedFs { LOCAL_DIRECTORY, GLUSTERFS }

    @Parameter
    SharedFs sharedFs;

    /** One volume for every GlusterFS scenario (each in a folder of its own on it): setting one up takes seconds. */
    private static GlusterVolume gluster;

    @TempDir
    Path tmp;

    /** The tier's root as each node sees it: one view for a local directory, one per client mount for GlusterFS. */
    private List<Path> views;

    @BeforeEach
    void sharedTier() throws Exception {
        if (sharedFs == SharedFs.LOCAL_DIRECTORY) {
            views = List.of(tmp.resolve("shared"));
            return;
        }
        GlusterVolume.missing().ifPresent(why -> {
            System.err.println("SKIPPED (GlusterFS): " + why);
            Assumptions.abort(why);
        });
        if (gluster == null) {
            gluster = GlusterVolume.start();
        }
        String folder = tmp.getFileName().toString();
        Files.createDirectories(gluster.clientA().resolve(folder));
        views = List.of(gluster.clientA().resolve(folder), gluster.clientB().resolve(folder));
    }

    @AfterAll
    static void tearDownGluster() throws Exception {
        if (gluster != null) {
            GlusterVolume g = gluster;
            gluster = null;
            g.close();
        }
    }

    /** The tier as the test itself looks at it (through the first client mount). */
    private Path shared() {
        return views.getFirst();
    }

    /** The tier as node {@code name} mounts it: a, b, c... alternate between the client mounts. */
    private Path sharedFor(String name) {
        return views.get((name.charAt(0) - 'a') % views.size());
    }

    private Path repos() throws IOException {
        Path repos = tmp.resolve("repos");
        Files.createDirectories(repos.resolve("acme/model"));
        Files.writeString(repos.resolve("acme/model/config.json"), "{\"hidden_size\": 8}\n");
        WEIGHTS.writeTo(repos.resolve("acme/model/model.safetensors"));
        return repos;
    }

    private Path config() throws IOException {
        Path c = tmp.resolve("config.yaml");
        Files.writeString(c, "model_cache:\n  - repo_id: acme/model\n    volume_folder: model\n");
        return c;
    }

    private MountProcess node(String name, String endpoint, Map<String, String> env) throws Exception {
        Map<String, String> all = new java.util.HashMap<>(FAST_RETRY);
        all.putAll(env);
        List<String> args = new ArrayList<>(List.of("--config", config().toString(), "--store", tmp.resolve("store-" + name).toString(),
                "--endpoint", endpoint, "--shared", sharedFor(name).toString(), "--namespace", "acme-org"));
        return MountProcess.start(tmp.resolve("mnt-" + name), all, args.toArray(String[]::new));
    }

    private static void waitComplete(MountProcess m) throws Exception {
        WeightfsProcess.Result w = WeightfsProcess.run(WAIT, Map.of(), "wait", m.mountpoint().toString(), "--progress", "none");
        assertEquals(0, w.exit(), w.all() + m.output());
    }

    private static JsonObject status(Path mnt) throws IOException {
        return JsonParser.parseString(Files.readString(mnt.resolve(".weightfs/status.json"))).getAsJsonObject();
    }

    private Path sharedBlob() throws IOException {
        try (Stream<Path> s = Files.walk(shared().resolve("acme-org/blobs/sha256"))) {
            return s.filter(p -> Files.isRegularFile(p) && p.getFileName().toString().matches("[0-9a-f]{64}")).findFirst().orElseThrow();
        }
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

    private long publishedBlobs() {
        try (Stream<Path> s = Files.walk(shared().resolve("acme-org/blobs"))) {
            return s.filter(p -> p.getFileName().toString().matches("[0-9a-f]{40,64}")).count();
        } catch (IOException e) {
            return 0;
        }
    }

    @Test
    void aSecondNode_readsWhatTheFirstPublished_fromTheSharedTier_notTheHub() throws Exception {
        try (ServeProcess serve = ServeProcess.start(repos())) {
            try (MountProcess a = node("a", serve.endpoint(), Map.of())) {
                waitComplete(a);
                await(() -> publishedBlobs() == 2, WAIT, "node a to publish both blobs");
            }
            long hubBytesAfterA = serve.stats().get("bodyBytes").getAsLong();
            try (MountProcess b = node("b", serve.endpoint(), Map.of())) {
                waitComplete(b);
                assertEquals(-1, WEIGHTS.firstDifference(b.mountpoint().resolve("model/model.safetensors")));
                JsonObject s = status(b.mountpoint());
                // Every byte from the shared tier: the Hub is not read just to measure it.
                assertEquals(WEIGHTS.size() + 19, s.getAsJsonObject("bytesBySource").get("shared").getAsLong(), s.toString());
                assertEquals(0, s.getAsJsonObject("bytesBySource").get("hub").getAsLong(), s.toString());
            }
            assertEquals(hubBytesAfterA, serve.stats().get("bodyBytes").getAsLong(), "node b took nothing from the Hub");
        }
    }

    @Test
    void threeNodesStartingTogetherOnAColdTier_getEachBlobFromTheHubAboutOnce() throws Exception {
        // Paced, so the three fills overlap for seconds.
        try (ServeProcess serve = ServeProcess.start(repos(), "--fault", "throttle:10000000");
                MountProcess a = node("a", serve.endpoint(), Map.of());
                MountProcess b = node("b", serve.endpoint(), Map.of());
                MountProcess c = node("c", serve.endpoint(), Map.of())) {
            for (MountProcess m : List.of(a, b, c)) {
                waitComplete(m);
                assertEquals(-1, WEIGHTS.firstDifference(m.mountpoint().resolve("model/model.safetensors")));
            }
            long total = WEIGHTS.size() + 19;
            long fromHub = serve.stats().get("bodyBytes").getAsLong();
            // Exactly once: the nodes without a blob's lease wait for it in the shared tier, and
            // nothing is read from the Hub only to measure it.
            assertTrue(fromHub <= total, "the Hub sent " + fromHub + " bytes for a model of " + total
                    + "\nnode a:\n" + a.output() + "\nnode b:\n" + b.output() + "\nnode c:\n" + c.output());
        }
    }

    @Test
    void aNodeKilledMidFill_leavesNoPartialBlob_itsLeaseExpires_andAnotherNodeCompletesTheUpload() throws Exception {
        Map<String, String> shortLease = Map.of("WEIGHTFS_SHARED_LEASE_TTL_MS", "3000");
        try (ServeProcess serve = ServeProcess.start(repos(), "--fault", "throttle:4000000")) {
            try (MountProcess a = node("a", serve.endpoint(), shortLease)) {
                await(() -> {
                    try {
                        return status(a.mountpoint()).get("bytesPresent").getAsLong() > (4L << 20);
                    } catch (IOException e) {
                        return false;
                    }
                }, WAIT, "node a to be part-way through the weights");
                a.kill9();
            }
            try (Stream<Path> s = Files.walk(shared().resolve("acme-org"))) {
                List<Path> finals = s.filter(p -> p.getFileName().toString().matches("[0-9a-f]{64}")).toList();
                for (Path p : finals) {
                    assertEquals(Files.size(p) == WEIGHTS.size() || Files.size(p) == 19, true, "no partial blob at " + p);
                }
            }
            try (MountProcess b = node("b", serve.endpoint(), shortLease)) {
                waitComplete(b);
                await(() -> publishedBlobs() == 2, WAIT, "node b to publish what node a left unfinished");
            }
            Path blob = sharedBlob();
            assertEquals(WEIGHTS.size(), Files.size(blob));
            assertEquals(-1, WEIGHTS.firstDifference(blob));
        }
    }

    @Test
    void aCorruptedSharedBlock_isCaught_theBlobQuarantined_andReadsStayCorrect() throws Exception {
        try (ServeProcess serve = ServeProcess.start(repos())) {
            try (MountProcess a = node("a", serve.endpoint(), Map.of())) {
                waitComplete(a);
                await(() -> publishedBlobs() == 2, WAIT, "node a to publish both blobs");
            }
            Path blob = sharedBlob();
            try (RandomAccessFile raf = new RandomAccessFile(blob.toFile(), "rw")) {
                raf.seek(3L << 20);
                int b = raf.read();
                raf.seek(3L << 20);
                raf.write(b ^ 1);
            }
            try (MountProcess b = node("b", serve.endpoint(), Map.of())) {
                waitComplete(b);
                assertEquals(-1, WEIGHTS.firstDifference(b.mountpoint().resolve("model/model.safetensors")));
                JsonObject s = status(b.mountpoint());
                assertTrue(s.getAsJsonObject("errors").get("sharedBadBlocks").getAsLong() >= 1, s.toString());
                assertTrue(s.getAsJsonObject("bytesBySource").get("hub").getAsLong() > 0, "the rest came from the Hub");
            }
            try (Stream<Path> q = Files.list(shared().resolve("acme-org/quarantine"))) {
                assertTrue(q.findAny().isPresent(), "the bad blob went to quarantine");
            }
        }
    }

    @Test
    void anOfflineStart_fromTheSharedTier_needsNoHubAtAll() throws Exception {
        try (ServeProcess serve = ServeProcess.start(repos())) {
            try (MountProcess a = node("a", serve.endpoint(), Map.of())) {
                waitComplete(a);
                await(() -> publishedBlobs() == 2, WAIT, "node a to publish both blobs");
            }
        }
        // The Hub is gone and HF_HUB_OFFLINE says not to try: node b has only the shared tier.
        try (MountProcess b = node("b", "http://127.0.0.1:9", Map.of("HF_HUB_OFFLINE", "1"))) {
            waitComplete(b);
            assertEquals(-1, WEIGHTS.firstDifference(b.mountpoint().resolve("model/model.safetensors")));
            assertEquals(0, status(b.mountpoint()).getAsJsonObject("bytesBySource").get("hub").getAsLong());
        }
        Files.createDirectories(tmp.resolve("mnt-c"));
        WeightfsProcess.Result nothing = WeightfsProcess.run(Duration.ofSeconds(60), Map.of("HF_HUB_OFFLINE", "1"), "mount",
                "--config", config().toString(), "--store", tmp.resolve("store-c").toString(), "--endpoint", "http://127.0.0.1:9",
                tmp.resolve("mnt-c").toString());
        assertEquals(1, nothing.exit(), "offline with nothing cached anywhere must fail clearly: " + nothing.all());
        assertTrue(nothing.stderr().contains("HF_HUB_OFFLINE"), nothing.stderr());
    }
}
