package io.weightfs.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.weightfs.testing.PatternContent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The priority scheduler and access profiles, through real serve and mount processes. */
@io.weightfs.testing.RequiresFuse
class SchedulerEndToEndTest {
    private static final Map<String, String> FAST_RETRY = Map.of("WEIGHTFS_RETRY_BASE_MS", "20");
    private static final int BLOCK_BYTES = 1 << 20;

    @TempDir
    Path tmp;

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

    private Path config() throws IOException {
        Path c = tmp.resolve("config.yaml");
        Files.writeString(c, "model_cache:\n  - repo_id: acme/model\n    volume_folder: model\n");
        return c;
    }

    private MountProcess mount(ServeProcess serve, Path store, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("--config", config().toString(), "--store", store.toString(),
                "--endpoint", serve.endpoint(), "--block-size", "1MiB"));
        args.addAll(List.of(extra));
        return MountProcess.start(tmp.resolve("mnt"), FAST_RETRY, args.toArray(String[]::new));
    }

    private static byte[] readAt(Path file, long offset, int length) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(length);
            while (b.hasRemaining() && ch.read(b, offset + b.position()) > 0) {
                // keep reading
            }
            return b.array();
        }
    }

    @Test
    void aForegroundRead_completesWhilePrefetchHoldsEveryConnection() throws Exception {
        PatternContent weights = new PatternContent(21, 32L * BLOCK_BYTES);
        Path repos = tmp.resolve("repos");
        weights.writeTo(repos.resolve("acme/model/model.safetensors"));
        // 512 KB/s: a 1 MiB prefetch block takes two seconds, and two connections keep the link full.
        try (ServeProcess serve = ServeProcess.start(repos, "--fault", "throttle:512000");
                MountProcess m = mount(serve, tmp.resolve("store"), "--connections", "2")) {
            Path file = m.mountpoint().resolve("model/model.safetensors");
            await(() -> {
                try {
                    return serve.stats().getAsJsonObject("requests").get("cdn").getAsInt() >= 2;
                } catch (Exception e) {
                    return false;
                }
            }, Duration.ofSeconds(30), "prefetch to hold the connections");
            long t0 = System.nanoTime();
            for (long off : new long[] {25L * BLOCK_BYTES + 123, 17L * BLOCK_BYTES + 9000, 30L * BLOCK_BYTES}) {
                byte[] got = readAt(file, off, 4096);
                assertTrue(java.util.Arrays.equals(weights.bytes(off, 4096), got), "wrong bytes at " + off);
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            JsonObject s = status(m.mountpoint());
            assertTrue(s.get("readThroughs").getAsInt() >= 3, s.toString());
            assertTrue(!s.get("done").getAsBoolean(), "the fill was still running");
            // Three 4 KiB reads on a link the fill keeps busy: far less than the 2 s one prefetch block takes.
            assertTrue(ms < 6000, "three foreground reads took " + ms + " ms");
        }
    }

    @Test
    void aRecordedProfile_reordersTheNextColdStart() throws Exception {
        Path repos = tmp.resolve("repos");
        List<PatternContent> shards = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            PatternContent c = new PatternContent(30 + i, 4L * BLOCK_BYTES);
            c.writeTo(repos.resolve("acme/model/model-0000" + i + "-of-00003.safetensors"));
            shards.add(c);
        }
        Path first = tmp.resolve("store-first");
        try (ServeProcess serve = ServeProcess.start(repos)) {
            // A model server that loads the shards in reverse: the default prefetch (name order) guesses wrong.
            try (MountProcess m = mount(serve, first, "--no-prefetch")) {
                for (int i = 3; i >= 1; i--) {
                    Path shard = m.mountpoint().resolve("model/model-0000" + i + "-of-00003.safetensors");
                    assertEquals(-1, shards.get(i - 1).firstDifference(shard));
                }
            }
            try (Stream<Path> s = Files.walk(first.resolve("profiles"))) {
                assertEquals(1, s.filter(p -> p.toString().endsWith(".json")).count(), "unmounting saved the profile");
            }
            // A new node: an empty block store that sees the profile.
            Path second = tmp.resolve("store-second");
            copyTree(first.resolve("profiles"), second.resolve("profiles"));
            serve.resetStats();
            try (MountProcess m = mount(serve, second, "--connections", "1")) {
                WeightfsProcess.Result w = WeightfsProcess.run(Duration.ofMinutes(2), Map.of(), "wait", m.mountpoint().toString(),
                        "--progress", "none");
                assertEquals(0, w.exit(), w.all());
                JsonObject s = status(m.mountpoint());
                assertEquals(1, s.getAsJsonArray("profiles").size(), s.toString());
                assertTrue(s.getAsJsonArray("profiles").get(0).getAsJsonObject().get("used").getAsBoolean());
            }
            List<String> order = new ArrayList<>();
            for (JsonElement d : serve.stats().getAsJsonArray("downloads")) {
                String path = d.getAsJsonObject().get("path").getAsString();
                if (order.isEmpty() || !order.get(order.size() - 1).equals(path)) {
                    order.add(path);
                }
            }
            assertEquals(List.of("model-00003-of-00003.safetensors", "model-00002-of-00003.safetensors",
                    "model-00001-of-00003.safetensors"), order, "the fill followed the recorded order");
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }
}
