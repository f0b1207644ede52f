package io.weightfs.fetch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weightfs.manifest.ContentHash;
import io.weightfs.source.RepoFile;
import io.weightfs.store.BlockStore;
import io.weightfs.store.StoreOptions;
import io.weightfs.testing.FakeSource;
import io.weightfs.testing.PatternContent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProfilesTest {
    private static final int BLOCK = 64 * 1024;
    private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";

    @TempDir
    Path dir;

    private static RepoFile file(String path, PatternContent c) {
        return new RepoFile("acme/m", COMMIT, c.manifestFile(path, ContentHash.Algorithm.SHA256), Optional.empty());
    }

    @Test
    void theRecorder_keepsFirstReadsInOrder_andMergesWhatAnEarlierProfileHad() throws Exception {
        ProfileStore store = new ProfileStore(dir.resolve("profiles"));
        RepoFile a = file("a.safetensors", new PatternContent(1, 4 * BLOCK));
        RepoFile b = file("b.safetensors", new PatternContent(2, 4 * BLOCK));
        AccessRecorder first = new AccessRecorder(store);
        first.record(b, 0);
        first.record(a, BLOCK);
        first.record(b, 0);
        first.save();
        assertEquals(List.of(new AccessProfile.Read("b.safetensors", 0), new AccessProfile.Read("a.safetensors", BLOCK)),
                store.load("acme/m", COMMIT).orElseThrow().reads());
        AccessRecorder second = new AccessRecorder(store);
        second.record(a, 0);
        second.save();
        assertEquals(List.of(new AccessProfile.Read("a.safetensors", 0), new AccessProfile.Read("b.safetensors", 0),
                new AccessProfile.Read("a.safetensors", BLOCK)), store.load("acme/m", COMMIT).orElseThrow().reads());
    }

    @Test
    void aTornProfile_isIgnored() throws Exception {
        ProfileStore store = new ProfileStore(dir.resolve("profiles"));
        Path f = dir.resolve("profiles/acme--m/" + COMMIT + ".json");
        Files.createDirectories(f.getParent());
        Files.writeString(f, "{\"format\":\"weightfs-profile\",\"version\":1,\"repoId\":\"acme/m\",\"com");
        assertTrue(store.load("acme/m", COMMIT).isEmpty());
    }

    @Test
    void theFill_followsTheProfileFirst_thenTheDefaultOrder() throws Exception {
        PatternContent ca = new PatternContent(1, 3 * BLOCK);
        PatternContent cb = new PatternContent(2, 3 * BLOCK);
        FakeSource source = new FakeSource().put("a.safetensors", ca).put("b.safetensors", cb);
        RepoFile a = file("a.safetensors", ca);
        RepoFile b = file("b.safetensors", cb);
        AccessProfile profile = new AccessProfile("acme/m", COMMIT, List.of(
                new AccessProfile.Read("b.safetensors", 2L * BLOCK), new AccessProfile.Read("b.safetensors", 0)));
        try (BlockStore store = BlockStore.open(dir.resolve("store"), new StoreOptions(BLOCK, 0));
                BlockFetcher fetcher = new BlockFetcher(source, new BlockFetcher.Options(1, 1, 0, BlockFetcher.Scheduling.PRIORITY),
                        Clock.systemUTC());
                Prefetcher p = new Prefetcher(store, fetcher, List.of(a, b), List.of(profile), 1, Duration.ofMillis(1))) {
            p.start();
            p.completion().get(30, TimeUnit.SECONDS);
        }
        assertEquals(List.of("b.safetensors@131072+65536", "b.safetensors@0+65536",
                "a.safetensors@0+65536", "a.safetensors@65536+65536", "a.safetensors@131072+65536",
                "b.safetensors@65536+65536"), source.reads());
    }
}
