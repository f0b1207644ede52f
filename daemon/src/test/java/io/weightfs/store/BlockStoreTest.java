package io.weightfs.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weightfs.manifest.ContentHash;
import io.weightfs.testing.PatternContent;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlockStoreTest {
    private static final StoreOptions SMALL_BLOCKS = new StoreOptions(64 * 1024, 10_000, 0);
    /** Three full blocks and a partial one. */
    private static final PatternContent CONTENT = new PatternContent(7, 3 * 64 * 1024 + 1234);
    private static final ContentHash HASH = CONTENT.hash(ContentHash.Algorithm.SHA256);

    @TempDir
    Path dir;

    private static void writeBlock(Blob blob, int block, PatternContent content) throws Exception {
        Blob.BlockWriter w = blob.openBlock(block);
        long off = blob.blockOffset(block);
        int len = blob.blockLength(block);
        // Two writes, as a socket would deliver them.
        w.write(off, ByteBuffer.wrap(content.bytes(off, len / 2)));
        w.write(off + len / 2, ByteBuffer.wrap(content.bytes(off + len / 2, len - len / 2)));
        w.commit();
    }

    private static final class Events implements BlockStore.BlobListener {
        final CompletableFuture<Blob> verified = new CompletableFuture<>();
        final CompletableFuture<ContentHash> corrupt = new CompletableFuture<>();

        @Override
        public void blobVerified(Blob blob) {
            verified.complete(blob);
        }

        @Override
        public void blobCorrupt(Blob blob, ContentHash actual) {
            corrupt.complete(actual);
        }
    }

    @Test
    void blocksWritten_areReadable_andTheLastOneVerifiesTheWholeBlob() throws Exception {
        try (BlockStore store = BlockStore.openWithMemoryIndex(dir, SMALL_BLOCKS)) {
            Events events = new Events();
            store.addListener(events);
            Blob blob = store.blob(HASH, CONTENT.size());
            assertEquals(4, blob.blockCount());
            writeBlock(blob, 2, CONTENT);
            assertTrue(blob.isPresent(2));
            assertFalse(blob.isPresent(1));
            ByteBuffer got = ByteBuffer.allocate(1000);
            blob.read(got, blob.blockOffset(2) + 10);
            assertArrayEquals(CONTENT.bytes(blob.blockOffset(2) + 10, 1000), got.array());
            for (int b : new int[] {0, 1, 3}) {
                writeBlock(blob, b, CONTENT);
            }
            events.verified.get(10, TimeUnit.SECONDS);
            assertTrue(blob.isVerified());
            assertEquals(dir.resolve("blobs/sha256").resolve(HASH.hex().substring(0, 2)).resolve(HASH.hex()), store.blobPath(HASH));
        }
    }

    @Test
    void wrongContent_isDiscardedWhole_andReported() throws Exception {
        PatternContent wrong = new PatternContent(8, CONTENT.size());
        try (BlockStore store = BlockStore.openWithMemoryIndex(dir, SMALL_BLOCKS)) {
            Events events = new Events();
            store.addListener(events);
            Blob blob = store.blob(HASH, CONTENT.size());
            long gen = blob.generation();
            for (int b = 0; b < 4; b++) {
                writeBlock(blob, b, b == 1 ? wrong : CONTENT);
            }
            events.corrupt.get(10, TimeUnit.SECONDS);
            assertEquals(0, blob.presentCount());
            assertFalse(blob.isVerified());
            assertTrue(blob.generation() != gen, "readers in flight must notice the discard");
            assertEquals(1, store.hashMismatches());
        }
    }

    @Test
    void anEmptyBlob_isVerifiedWithoutAnyBlock() throws Exception {
        ContentHash empty = new PatternContent(1, 0).hash(ContentHash.Algorithm.GIT_SHA1);
        try (BlockStore store = BlockStore.openWithMemoryIndex(dir, SMALL_BLOCKS)) {
            Events events = new Events();
            store.addListener(events);
            Blob blob = store.blob(empty, 0);
            events.verified.get(10, TimeUnit.SECONDS);
            assertTrue(blob.isVerified());
        }
    }

    @Test
    void afterARestart_durableBlocksArePresent_andACorruptedOneIsCaughtByItsCrc() throws Exception {
        try (BlockStore store = BlockStore.open(dir, SMALL_BLOCKS)) {
            Blob blob = store.blob(HASH, CONTENT.size());
            writeBlock(blob, 0, CONTENT);
            writeBlock(blob, 1, CONTENT);
        }
        // Bit rot (or a torn write) in block 1 while the daemon was down.
        try (RandomAccessFile raf = new RandomAccessFile(dir.resolve("blobs/sha256").resolve(HASH.hex().substring(0, 2))
                .resolve(HASH.hex()).toFile(), "rw")) {
            raf.seek(64 * 1024 + 5);
            int b = raf.read();
            raf.seek(64 * 1024 + 5);
            raf.write(b ^ 0x40);
        }
        try (BlockStore store = BlockStore.open(dir, SMALL_BLOCKS)) {
            Blob blob = store.blob(HASH, CONTENT.size());
            assertTrue(blob.isPresent(0));
            assertTrue(blob.isPresent(1));
            assertFalse(blob.isPresent(2));
            assertTrue(blob.ensureReadable(0));
            assertFalse(blob.ensureReadable(1), "the corrupted block must not be served");
            assertFalse(blob.isPresent(1));
            assertEquals(1, store.crcMismatches());
        }
        try (BlockStore store = BlockStore.open(dir, SMALL_BLOCKS)) {
            assertFalse(store.blob(HASH, CONTENT.size()).isPresent(1), "and the index forgot it");
        }
    }
}
