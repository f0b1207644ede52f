package io.weightfs.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weightfs.manifest.ContentHash;
import io.weightfs.manifest.ContentHasher;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Scanning and hashing the served directory. */
class RepoCatalogTest {
    @TempDir
    Path root;

    private final ExecutorService pool = Executors.newFixedThreadPool(2);

    @AfterEach
    void stopPool() {
        pool.shutdownNow();
    }

    private RepoCatalog scan() throws IOException {
        return RepoCatalog.scan(root, ServeOptions.of(root), pool, RepoCatalog.empty());
    }

    @Test
    void scan_findsRepoFilesAtDepthTwo_andSkipsGitDirsSidecarsAndHiddenFolders() throws Exception {
        ServeFixture.write(root, "acme/tiny", "config.json", "{}");
        ServeFixture.write(root, "acme/tiny", ".gitattributes", "*.bin filter=lfs");
        ServeFixture.write(root, "acme/tiny", ".git/HEAD", "ref: refs/heads/main");
        ServeFixture.write(root, "acme/tiny", "sub/.git/config", "x");
        ServeFixture.write(root, "acme/tiny", RepoAccess.SIDECAR, "{}");
        ServeFixture.write(root, ".cache/x", "a.txt", "hidden org");
        ServeFixture.write(root, "acme/.hidden", "a.txt", "hidden repo");
        Files.writeString(root.resolve("stray.txt"), "not a repo");
        RepoCatalog catalog = scan();
        assertEquals(List.of("acme/tiny"), List.copyOf(catalog.repos().keySet()));
        assertEquals(List.of(".gitattributes", "config.json"),
                catalog.repo("acme/tiny").main().files().stream().map(ServedFile::path).toList());
    }

    @Test
    void symlinkedFiles_areFollowed_asInAHuggingFaceCacheSnapshot() throws Exception {
        Path blob = ServeFixture.write(root, ".blobs/x", "blob", "hello\n");
        Path snapshot = Files.createDirectories(root.resolve("acme/linked"));
        Files.createSymbolicLink(snapshot.resolve("notes.txt"), blob);
        ServedFile f = scan().repo("acme/linked").file("notes.txt");
        assertNotNull(f);
        assertEquals("ce013625030ba8dba906f756967f9e9ca394464a", f.gitOid());
    }

    @Test
    void malformedSidecar_failsTheScanNamingTheFile() throws Exception {
        ServeFixture.write(root, "acme/tiny", RepoAccess.SIDECAR, "{\"gated\": \"sometimes\"}");
        IOException e = assertThrows(IOException.class, this::scan);
        assertTrue(e.getMessage().contains(RepoAccess.SIDECAR), e.getMessage());
        assertTrue(e.getMessage().contains("sometimes"), e.getMessage());
    }

    @Test
    void missingDirectory_failsWithItsName() {
        Path missing = root.resolve("nope");
        IOException e = assertThrows(IOException.class,
                () -> RepoCatalog.scan(missing, ServeOptions.of(missing), pool, RepoCatalog.empty()));
        assertTrue(e.getMessage().contains(missing.toString()));
    }

    @Test
    void sparseFileHashes_equalPlainReads_withDataBetweenHoles() throws Exception {
        Path file = root.resolve("sparse.bin");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(40L << 20);
            raf.seek(3);
            raf.write("start".getBytes(StandardCharsets.US_ASCII));
            raf.seek((17L << 20) + 12345);
            raf.write(new byte[300_000]);
            raf.write("middle".getBytes(StandardCharsets.US_ASCII));
            raf.seek((40L << 20) - 4);
            raf.write("end!".getBytes(StandardCharsets.US_ASCII));
        }
        for (ContentHash.Algorithm a : ContentHash.Algorithm.values()) {
            assertEquals(ContentHasher.hashFile(file, a), SparseFiles.hash(file, a), a.label());
        }
        Path holeOnly = root.resolve("hole.bin");
        try (RandomAccessFile raf = new RandomAccessFile(holeOnly.toFile(), "rw")) {
            raf.setLength(5L << 20);
        }
        assertEquals(ContentHasher.hashFile(holeOnly, ContentHash.Algorithm.SHA256),
                SparseFiles.hash(holeOnly, ContentHash.Algorithm.SHA256));
        Path empty = Files.createFile(root.resolve("empty.bin"));
        assertEquals(ContentHasher.hashFile(empty, ContentHash.Algorithm.GIT_SHA1), SparseFiles.hash(empty, ContentHash.Algorithm.GIT_SHA1));
    }

    @Test
    void rescan_reusesNothingStale_andTheCatalogIsImmutable() throws Exception {
        ServeFixture.write(root, "acme/tiny", "a.txt", "one");
        RepoCatalog first = scan();
        ServeFixture.write(root, "acme/tiny", "a.txt", "two");
        RepoCatalog second = RepoCatalog.scan(root, ServeOptions.of(root), pool, first);
        assertFalse(first.repo("acme/tiny").commit().equals(second.repo("acme/tiny").commit()),
                "rewritten within the same timestamp tick as the first scan, yet rehashed");
        assertEquals(ContentHasher.hash("one".getBytes(StandardCharsets.UTF_8), ContentHash.Algorithm.GIT_SHA1).hex(),
                first.repo("acme/tiny").file("a.txt").gitOid());
        assertNull(second.repo("acme/nope"));
    }
}
