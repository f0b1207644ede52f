package io.weightfs.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.weightfs.testing.PatternContent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --store-max-size and the free-space floor, through real processes. */
@io.weightfs.testing.RequiresFuse
class StoreLimitsTest {
    private static final PatternContent A = new PatternContent(61, 6L << 20);
    private static final PatternContent B = new PatternContent(62, 6L << 20);

    @TempDir
    Path tmp;

    private Path config(String repo) throws Exception {
        Path c = tmp.resolve("config-" + repo.replace('/', '-') + ".yaml");
        Files.writeString(c, "model_cache:\n  - repo_id: " + repo + "\n    volume_folder: model\n");
        return c;
    }

    private Path repos() throws Exception {
        Path repos = tmp.resolve("repos");
        A.writeTo(repos.resolve("acme/a/model.safetensors"));
        B.writeTo(repos.resolve("acme/b/model.safetensors"));
        return repos;
    }

    private static long blobFiles(Path store) throws Exception {
        try (Stream<Path> s = Files.walk(store.resolve("blobs"))) {
            return s.filter(p -> Files.isRegularFile(p) && p.getFileName().toString().matches("[0-9a-f]{40,64}")).count();
        }
    }

    @Test
    void aStoreMaxSize_evictsTheLeastRecentlyUsedModel_toMakeRoomForTheNext() throws Exception {
        Path store = tmp.resolve("store");
        try (ServeProcess serve = ServeProcess.start(repos())) {
            for (String repo : List.of("acme/a", "acme/b")) {
                try (MountProcess m = MountProcess.start(tmp.resolve("mnt"), Map.of(), "--config", config(repo).toString(),
                        "--store", store.toString(), "--endpoint", serve.endpoint(), "--store-max-size", "7MiB")) {
                    WeightfsProcess.Result w = WeightfsProcess.run(Duration.ofMinutes(2), Map.of(), "wait", m.mountpoint().toString(),
                            "--progress", "none");
                    assertEquals(0, w.exit(), w.all());
                    // Give the periodic eviction a moment to run (it runs at start, then every 5 s).
                    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                    while (blobFiles(store) > 1 && System.nanoTime() < deadline) {
                        Thread.sleep(100);
                    }
                    assertEquals(1, blobFiles(store), "only the model in use fits under 7 MiB");
                    PatternContent want = repo.equals("acme/a") ? A : B;
                    assertEquals(-1, want.firstDifference(m.mountpoint().resolve("model/model.safetensors")));
                }
            }
        }
    }

    @Test
    void belowTheFreeSpaceFloor_readsAreServedStraightFromTheSource_andNothingIsCached() throws Exception {
        Path store = tmp.resolve("store");
        try (ServeProcess serve = ServeProcess.start(repos());
                MountProcess m = MountProcess.start(tmp.resolve("mnt"), Map.of(), "--config", config("acme/a").toString(),
                        "--store", store.toString(), "--endpoint", serve.endpoint(), "--store-min-free", "1000000GiB")) {
            Path status = m.mountpoint().resolve(".weightfs/status.json");
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            JsonObject s = JsonParser.parseString(Files.readString(status)).getAsJsonObject();
            // The fill tries to cache blocks and is refused.
            while (s.getAsJsonObject("errors").get("notCachedForSpace").getAsLong() == 0
                    && System.nanoTime() < deadline) {
                Thread.sleep(100);
                s = JsonParser.parseString(Files.readString(status)).getAsJsonObject();
            }
            assertTrue(s.getAsJsonObject("errors").get("notCachedForSpace").getAsLong() > 0, s.toString());
            assertEquals(-1, A.firstDifference(m.mountpoint().resolve("model/model.safetensors")), "reads still work");
            s = JsonParser.parseString(Files.readString(status)).getAsJsonObject();
            assertEquals(0, s.get("bytesPresent").getAsLong(), s.toString());
        }
    }

    /** Runs a command, bounded, and returns its exit status. */
    private static int run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        if (!p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return -1;
        }
        return p.exitValue();
    }

    @Test
    void aFullStore_servesReadsFromTheSource_saysSo_andWaitSaysWhyItCannotComplete() throws Exception {
        Path store = tmp.resolve("small-store");
        Files.createDirectories(store);
        // A 3 MiB filesystem for the store: the 6 MiB model cannot fit.
        assertEquals(0, run("mount", "-t", "tmpfs", "-o", "size=3m", "weightfs-test-full", store.toString()), "mount a small tmpfs");
        try (ServeProcess serve = ServeProcess.start(repos());
                MountProcess m = MountProcess.start(tmp.resolve("mnt"), Map.of("WEIGHTFS_SPACE_STALL_MS", "3000"), "--config",
                        config("acme/a").toString(), "--store", store.toString(), "--endpoint", serve.endpoint(), "--store-min-free", "0")) {
            assertEquals(-1, A.firstDifference(m.mountpoint().resolve("model/model.safetensors")), "every byte right, from the source");
            Path status = m.mountpoint().resolve(".weightfs/status.json");
            JsonObject s = JsonParser.parseString(Files.readString(status)).getAsJsonObject();
            assertTrue(s.has("problem") && s.get("problem").getAsString().startsWith("store full"), s.toString());
            WeightfsProcess.Result w = WeightfsProcess.run(Duration.ofMinutes(2), Map.of(), "wait", m.mountpoint().toString(),
                    "--progress", "none");
            assertEquals(1, w.exit(), w.all());
            assertTrue(w.stderr().contains("cannot complete") && w.stderr().contains("store full"), w.stderr());
            String waitFile = Files.readString(m.mountpoint().resolve(".weightfs/wait"));
            assertTrue(waitFile.startsWith("failed: cannot complete: store full"), waitFile);
            // A full disk is not a network problem: nothing is retried against the source for it.
            long requests = serve.stats().getAsJsonObject("requests").get("cdn").getAsLong()
                    + serve.stats().getAsJsonObject("requests").get("resolve").getAsLong();
            assertTrue(requests < 60, "the source was asked " + requests + " times");
        } finally {
            run("umount", "-l", store.toString());
        }
    }
}
