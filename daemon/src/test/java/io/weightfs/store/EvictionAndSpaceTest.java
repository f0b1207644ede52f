package io.weightfs.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weightfs.manifest.ContentHash;
import io.weightfs.testing.PatternContent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvictionAndSpaceTest {
    private static final int BLOCK = BlockStoreTest.BLOCK;
    private static final StoreOptions OPTIONS = BlockStoreTest.SMALL_BLOCKS;

    @TempDir
    Path dir;

    /** Writes a whole blob and waits until it is verified. */
    private static Blob fill(BlockStore store, PatternContent c) throws Exception {
        ContentHash h = c.hash(ContentHash.Algorithm.SHA256);
        CompletableFuture<Void> verified = new CompletableFuture<>();
        store.addListener(new BlockStore.BlobListener() {
            @Override
            public void blobVerified(Blob blob) {
                if (blob.hash().equals(h)) {
                    verified.complete(null);
                }
            }

            @Override
            public void blobCorrupt(Blob blob, ContentHash actual) {}
        });
        Blob blob = store.blob(h, c.size());
        BlockStoreTest.write(blob, 0, blob.blockCount(), c, BLOCK);
        verified.get(10, TimeUnit.SECONDS);
        return blob;
    }

    @Test
    void eviction_removesLeastRecentlyUsedCompleteBlobs_neverOpenOnes_untilUnderTheLimit() throws Exception {
        try (BlockStore store = BlockStore.open(dir, OPTIONS)) {
            Blob oldest = fill(store, new PatternContent(1, 3 * BLOCK));
            Blob open = fill(store, new PatternContent(2, 3 * BLOCK));
            Blob middle = fill(store, new PatternContent(3, 3 * BLOCK));
            Blob newest = fill(store, new PatternContent(4, 3 * BLOCK));
            long t = System.currentTimeMillis() - 100_000;
            for (Blob b : List.of(oldest, open, middle, newest)) {
                Files.setLastModifiedTime(store.blobPath(b.hash()), FileTime.fromMillis(t += 10_000));
            }
            BlockStore.Eviction e = store.evict(2L * 3 * BLOCK, Set.of(open.hash()));
            assertEquals(List.of(oldest.hash(), middle.hash()), e.evicted());
            assertFalse(Files.exists(store.blobPath(oldest.hash())));
            assertFalse(Files.exists(store.blobPath(oldest.hash()).resolveSibling(oldest.hash().hex() + ".state")), "its state goes too");
            assertTrue(Files.exists(store.blobPath(open.hash())), "a blob an open file needs stays");
            assertEquals(2L * 3 * BLOCK, e.bytesAfter());
            assertTrue(oldest.isRetired(), "holders of the evicted blob open it again");
            assertFalse(store.blob(oldest.hash(), 3 * BLOCK).isPresent(0), "and its readers fetch again");
        }
    }

    @Test
    void belowTheFreeSpaceFloor_noBlockIsCached_andTheRefusalIsCounted() throws Exception {
        try (BlockStore store = BlockStore.open(dir, OPTIONS.withMinFreeBytes(1 << 20))) {
            store.setFreeSpaceProbe(() -> 1000);
            Blob b = store.blob(new PatternContent(5, BLOCK).hash(ContentHash.Algorithm.SHA256), BLOCK);
            assertFalse(b.mayCache());
            assertEquals(1, store.lowSpaceRefusals());
            assertTrue(store.spaceProblem().contains("free-space floor"));
            store.setFreeSpaceProbe(() -> 10L << 30);
            assertTrue(b.mayCache());
        }
    }
}
