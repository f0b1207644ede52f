package io.weightfs.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import io.weightfs.testing.PatternContent;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * use_volume: false, end to end: {@code weightfs bake} fetches and verifies a served model into a
 * baked folder (what a Containerfile RUN does at build time), and {@code weightfs mount --baked}
 * serves it from those files with no Hub at all. A damaged baked file is never served: offline its
 * damaged block fails the read; with the Hub reachable that file alone is fetched again.
 */
@io.weightfs.testing.RequiresFuse
class BakedWeightsEndToEndTest {
    private static final Duration RUN = Duration.ofMinutes(3);
    private static final Map<String, String> FAST_RETRY = Map.of("WEIGHTFS_RETRY_BASE_MS", "20");
    /** Three 8 MiB blocks and a bit: a damaged middle block is one the mount must refuse. */
    private static final String BIG = "model-big.safetensors";
    private static final long BIG_SIZE = 3 * (8L << 20) + 1234;

    @TempDir
    Path tmp;

    private Path repo() throws IOException {
        Path repo = TestRepos.sampleRepo(tmp.resolve("repos"), "acme/baked", false);
        new PatternContent(7, BIG_SIZE).writeTo(repo.resolve(BIG));
        return repo;
    }

    private Path config() throws IOException {
        Path c = tmp.resolve("config.yaml");
        TestRepos.writeConfig(c, """
                model_cache:
                  - repo_id: acme/baked
                    use_volume: false
                    volume_folder: baked
                """);
        return c;
    }

    private Path bake(ServeProcess serve) throws Exception {
        Path dest = tmp.resolve("image/app/weightfs-baked");
        WeightfsProcess.Result r = WeightfsProcess.run(RUN, FAST_RETRY, "bake", "--config", config().toString(), "--dest", dest.toString(),
                "--endpoint", serve.endpoint());
        assertEquals(0, r.exit(), r.all());
        assertTrue(Files.isRegularFile(dest.resolve(".weightfs-baked/baked.json")), r.all());
        return dest;
    }

    private MountProcess mount(Path baked, String endpoint, String... extra) throws Exception {
        String[] args = {"--config", config().toString(), "--store", tmp.resolve("node-store").toString(), "--endpoint", endpoint,
            "--baked", baked.toString()};
        String[] all = Arrays.copyOf(args, args.length + extra.length);
        System.arraycopy(extra, 0, all, args.length, extra.length);
        return MountProcess.start(tmp.resolve("mnt"), FAST_RETRY, all);
    }

    @Test
    void bakedWeights_mountedWithNoHubReachable_serveEveryByteOfEveryFile() throws Exception {
        Path repo = repo();
        Path baked;
        try (ServeProcess serve = ServeProcess.start(tmp.resolve("repos"))) {
            baked = bake(serve);
        }
        // The bake is what weightfs fetch writes: plain, verified files.
        TestRepos.assertSameTree(repo, baked.resolve("baked"));
        // The server is gone, and the endpoint is a port nobody listens on.
        try (MountProcess m = mount(baked, "http://127.0.0.1:9")) {
            for (String f : TestRepos.files(repo)) {
                assertEquals(FstabMountEndToEndTest.sha256(repo.resolve(f)), FstabMountEndToEndTest.sha256(m.mountpoint().resolve("baked").resolve(f)), f);
            }
            assertEquals(TestRepos.files(repo), TestRepos.files(m.mountpoint().resolve("baked")));
            assertFalse(m.output().contains("refused"), m.output());
        }
    }

    @Test
    void aDamagedBakedFile_withNoHub_failsTheReadOfItsBadBlock_andServesNoWrongByte() throws Exception {
        Path repo = repo();
        Path baked;
        try (ServeProcess serve = ServeProcess.start(tmp.resolve("repos"))) {
            baked = bake(serve);
        }
        long damagedAt = (8L << 20) + 4096; // inside block 1
        flipByte(baked.resolve("baked").resolve(BIG), damagedAt);
        try (MountProcess m = mount(baked, "http://127.0.0.1:9", "--read-timeout", "10s")) {
            Path big = m.mountpoint().resolve("baked").resolve(BIG);
            // Block 0 is intact and checked: served.
            byte[] first = new byte[4096];
            try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "r")) {
                f.readFully(first);
                assertTrue(Arrays.equals(new PatternContent(7, BIG_SIZE).bytes(0, 4096), first));
                byte[] around = new byte[16];
                f.seek(damagedAt - 8);
                IOException e = assertThrows(IOException.class, () -> f.readFully(around), "the damaged block must not be served");
                assertTrue(e.getMessage() == null || !e.getMessage().isEmpty());
            }
            // The other files are untouched by one file's damage.
            assertEquals(FstabMountEndToEndTest.sha256(repo.resolve("config.json")),
                    FstabMountEndToEndTest.sha256(m.mountpoint().resolve("baked/config.json")));
            assertTrue(m.output().contains("refused"), "the refusal is logged:\n" + m.output());
        }
    }

    @Test
    void aDamagedBakedFile_withTheHubReachable_isFetchedAgain_andOnlyThatFileIsDownloaded() throws Exception {
        Path repo = repo();
        try (ServeProcess serve = ServeProcess.start(tmp.resolve("repos"))) {
            Path baked = bake(serve);
            flipByte(baked.resolve("baked").resolve(BIG), (8L << 20) + 4096);
            serve.resetStats();
            try (MountProcess m = mount(baked, serve.endpoint())) {
                for (String f : TestRepos.files(repo)) {
                    assertEquals(FstabMountEndToEndTest.sha256(repo.resolve(f)),
                            FstabMountEndToEndTest.sha256(m.mountpoint().resolve("baked").resolve(f)), f);
                }
                for (JsonElement d : serve.stats().getAsJsonArray("downloads")) {
                    assertEquals(BIG, d.getAsJsonObject().get("path").getAsString(), "only the damaged file comes from the Hub");
                }
            }
        }
    }

    @Test
    void mountWithBaked_forAnEntryThatWasNotBaked_refusesToMount_andSaysHowToBake() throws Exception {
        repo();
        Path baked;
        try (ServeProcess serve = ServeProcess.start(tmp.resolve("repos"))) {
            baked = bake(serve);
        }
        Path other = tmp.resolve("other.yaml");
        TestRepos.writeConfig(other, "model_cache:\n  - repo_id: acme/baked\n    use_volume: false\n    volume_folder: elsewhere\n");
        Files.createDirectories(tmp.resolve("mnt"));
        WeightfsProcess.Result r = WeightfsProcess.run(RUN, FAST_RETRY, "mount", "--config", other.toString(), "--store",
                tmp.resolve("node-store").toString(), "--baked", baked.toString(), tmp.resolve("mnt").toString());
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.stderr().contains("holds no bake of it") && r.stderr().contains("weightfs bake"), r.all());
        assertFalse(MountProcess.isMounted(tmp.resolve("mnt")));
    }

    private static void flipByte(Path file, long at) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0xff);
        }
    }
}
