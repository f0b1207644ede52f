package io.weightfs.manifest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weightfs.config.RepoType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ManifestStoreTest {
    private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
    private static final Manifest M = new Manifest("org/model", "main", COMMIT, List.of(
            new ManifestFile("config.json", 12, ContentHash.gitSha1("a".repeat(40))),
            new ManifestFile("w/model.safetensors", 1L << 33, ContentHash.sha256("b".repeat(64)))));

    @TempDir
    Path dir;

    @Test
    void savedManifest_loadsBackEqual_andTheBranchRemembersItsCommit() throws Exception {
        ManifestStore store = new ManifestStore(dir);
        store.save(M);
        assertEquals(M, store.load("org/model", COMMIT).orElseThrow());
        assertEquals(COMMIT, store.loadRef("org/model", "main").orElseThrow());
        assertTrue(store.load("org/model", "f".repeat(40)).isEmpty());
    }

    @Test
    void aDatasetManifest_isKeptApartFromTheModelOfTheSameName_andLoadsBackAsADataset() throws Exception {
        ManifestStore store = new ManifestStore(dir);
        Manifest dataset = new Manifest("org/model", "main", "c".repeat(40), M.files(), RepoType.DATASET);
        store.save(M);
        store.save(dataset);
        assertTrue(Files.isRegularFile(dir.resolve("datasets--org--model").resolve("c".repeat(40) + ".json")));
        assertEquals(dataset, store.load(RepoType.DATASET, "org/model", "c".repeat(40)).orElseThrow());
        assertTrue(store.load("org/model", "c".repeat(40)).isEmpty(), "not a model's manifest");
        assertEquals(COMMIT, store.loadRef("org/model", "main").orElseThrow());
        assertEquals("c".repeat(40), store.loadRef(RepoType.DATASET, "org/model", "main").orElseThrow());
        assertTrue(store.pinnedAt("org/model", "c".repeat(40)).isPresent());
    }

    @Test
    void aTornOrForeignFile_isIgnored_notGuessedAt() throws Exception {
        ManifestStore store = new ManifestStore(dir);
        store.save(M);
        Path file = dir.resolve("org--model").resolve(COMMIT + ".json");
        Files.writeString(file, Files.readString(file).substring(0, 40));
        assertTrue(store.load("org/model", COMMIT).isEmpty());
        Files.writeString(file, "{\"format\":\"something-else\",\"version\":1}");
        assertTrue(store.load("org/model", COMMIT).isEmpty());
    }

    @Test
    void pathsThatWouldClimbOutOfTheDestination_areRefused() {
        ContentHash h = ContentHash.gitSha1("a".repeat(40));
        for (String bad : new String[] {"../etc/passwd", "a/../../b", "/abs", "a//b", "./a", "a/"}) {
            assertThrows(IllegalArgumentException.class, () -> new ManifestFile(bad, 1, h), bad);
        }
    }

    @Test
    void gitSha1_matchesGitsBlobHash() {
        // printf 'hello\n' | git hash-object --stdin
        assertEquals("ce013625030ba8dba906f756967f9e9ca394464a",
                ContentHasher.hash("hello\n".getBytes(), ContentHash.Algorithm.GIT_SHA1).hex());
        assertEquals("e69de29bb2d1d6434b8b29ae775ad8c2e48c5391",
                ContentHasher.hash(new byte[0], ContentHash.Algorithm.GIT_SHA1).hex());
    }
}
