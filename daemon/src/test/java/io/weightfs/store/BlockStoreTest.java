package io.weightfs.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weightfs.manifest.ContentHash;
import io.weightfs.testing.PatternContent;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlockStoreTest {
    static final int BLOCK = 64 * 1024;
    static final StoreOptions SMALL_BLOCKS = new StoreOptions(BLOCK, 0);
    /** Three full blocks and a partial one. */
    private static final PatternContent CONTENT = new PatternContent(7, 3 * BLOCK + 1234);
    private static final ContentHash HASH = CONTENT.hash(ContentHash.Algorithm.SHA256);

    @TempDir
    Path dir;

    /** Writes blocks [from, to) of a blob through one writer, in chunks of {@code chunk} bytes, as a socket would deliver them. */
    static void write(Blob blob, int from, int to, PatternContent content, int chunk) throws Exception {
        Blob.Writer w = blob.openWriter(from);
        long end = Math.min(blob.size(), blob.blockOffset(to));
        while (w.position() < end) {
            int n = (int) Math.min(chunk, end - w.position());
            w.write(ByteBuffer.wrap(content.bytes(w.position(), n)));
        }
    }

    static final class Events implements BlockStore.BlobListener {
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
    void blocksWritten_areReadable_andTheLastOneVerifiesTheWholeBlob_hashingTheBytesAsTheyPass() throws Exception {
        try (BlockStore store = BlockStore.open(dir, SMALL_BLOCKS)) {
            Events events = new Events();
            store.addListener(events);
            Blob blob = store.blob(HASH, CONTENT.size());
            assertEquals(4, blob.blockCount());
            write(blob, 0, 4, CONTENT, 10_000);
            ByteBuffer got = ByteBuffer.allocate(1000);
            blob.read(got, blob.blockOffset(2) + 10);
            assertArrayEquals(CONTENT.bytes(blob.blockOffset(2) + 10, 1000), got.array());
            events.verified.get(10, TimeUnit.SECONDS);
            assertTrue(blob.isVerified());
            assertTrue(blob.isVerifiedDurably());
            assertEquals(CONTENT.size(), store.hotHashedBytes(), "one writer in order: every byte hashed from its buffer");
            assertEquals(0, store.caughtUpBytes());
            assertEquals(dir.resolve("blobs/sha256").resolve(HASH.hex().substring(0, 2)).resolve(HASH.hex()), store.blobPath(HASH));
        }
    }

    @Test
    void blocksWrittenOutOfOrder_byTwoWriters_areHashedByReadingBackWhatWasAhead() throws Exception {
        try (BlockStore store = BlockStore.open(dir, SMALL_BLOCKS)) {
            Events events = new Events();
            store.addListener(events);
            Blob blob = store.blob(HASH, CONTENT.size());
            write(blob, 2, 4, CONTENT, 16_384);
            assertTrue(blob.isPresent(2));
            assertFalse(blob.isPresent(1));
            write(blob, 0, 2, CONTENT, 16_384);
            events.verified.get(10, TimeUnit.SECONDS);
            assertEquals(CONTENT.size(), store.hotHashedBytes() + store.caughtUpBytes());
            assertTrue(store.caughtUpBytes() > 0, "blocks written ahead of the hashed prefix were read back");
        }
    }

    @Test
    void wrongContent_isDiscardedWhole_andReported() throws Exception {
        PatternContent wrong = new PatternContent(8, CONTENT.size());
        try (BlockStore store = BlockStore.open(dir, SMALL_BLOCKS)) {
            Events events = new Events();
            store.addListener(events);
            Blob blob = store.blob(HASH, CONTENT.size());
            long gen = blob.generation();
            write(blob, 0, 1, CONTENT, 8192);
            write(blob, 1, 2, wrong, 8192);
            write(blob, 2, 4, CONTENT, 8192);
            events.corrupt.get(10, TimeUnit.SECONDS);
            assertEquals(0, blob.presentCount());
            assertFalse(blob.isVerified());
            assertTrue(blob.generation() != gen, "readers in flight must notice the discard");
            assertEquals(Boolean.FALSE, blob.verification().getNow(null));
            assertTrue(blob.isRetired());
            Blob fresh = store.blob(HASH, CONTENT.size());
            assertTrue(fresh != blob, "the next use gets a fresh blob, with fresh files");
            assertEquals(0, fresh.presentCount());
            assertEquals(1, store.hashMismatches());
        }
        try (BlockStore store = BlockStore.open(dir, SMALL_BLOCKS)) {
            assertEquals(0, store.blob(HASH, CONTENT.size()).presentCount(), "nothing of the wrong content is durable");
        }
    }

    @Test
    void anEmptyBlob_isVerifiedWithoutAnyBlock() throws Exception {
        ContentHash empty = new PatternContent(1, 0).hash(ContentHash.Algorithm.GIT_SHA1);
        try (BlockStore store = BlockStore.open(dir, SMALL_BLOCKS)) {
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
            write(blob, 0, 2, CONTENT, 20_000);
        }
        // Bit rot (or a torn write) in block 1 while the daemon was down.
        try (RandomAccessFile raf = new RandomAccessFile(dir.resolve("blobs/sha256").resolve(HASH.hex().substring(0, 2))
                .resolve(HASH.hex()).toFile(), "rw")) {
            raf.seek(BLOCK + 5);
            int b = raf.read();
            raf.seek(BLOCK + 5);
            raf.write(b ^ 0x40);
        }
        try (BlockStore store = BlockStore.open(dir, SMALL_BLOCKS)) {
            Blob blob = store.blob(HASH, CONTENT.size());
            assertFalse(blob.isPresent(2));
            // The first use CRC-checks an adopted block: a read, or the verifier hashing the blob's
            // prefix in the background, whichever comes first.
            assertTrue(blob.ensureReadable(0));
            assertFalse(blob.ensureReadable(1), "the corrupted block must not be served");
            assertFalse(blob.isPresent(1));
            assertEquals(1, store.crcMismatches(), "found once");
        }
        try (BlockStore store = BlockStore.open(dir, SMALL_BLOCKS)) {
            assertFalse(store.blob(HASH, CONTENT.size()).isPresent(1), "and its state forgot it");
        }
    }

    @Test
    void aBlockWrittenPartWay_resumesFromItsLastDurableByte_afterARestart() throws Exception {
        try (BlockStore store = BlockStore.open(dir, SMALL_BLOCKS)) {
            Blob blob = store.blob(HASH, CONTENT.size());
            Blob.Writer w = blob.openWriter(1);
            w.write(ByteBuffer.wrap(CONTENT.bytes(BLOCK, 40_000)));
            store.flush();
            // Written but never made durable: lost with the process.
            w.write(ByteBuffer.wrap(CONTENT.bytes(BLOCK + 40_000, 1000)));
        }
        try (BlockStore store = BlockStore.open(dir, SMALL_BLOCKS)) {
            Blob blob = store.blob(HASH, CONTENT.size());
            assertFalse(blob.isPresent(1));
            assertTrue(blob.durableBytes(1) >= 40_000);
            Blob.Writer w = blob.openWriter(1);
            assertEquals(BLOCK + blob.durableBytes(1), w.position(), "resumes after the durable prefix, not at the block's start");
            while (w.position() < 2L * BLOCK) {
                int n = (int) Math.min(7000, 2L * BLOCK - w.position());
                w.write(ByteBuffer.wrap(CONTENT.bytes(w.position(), n)));
            }
            assertTrue(blob.isPresent(1));
            assertTrue(blob.ensureReadable(1), "the CRC of the resumed block covers the prefix too");
        }
    }

    @Test
    void aCorruptedDurablePrefix_isWrittenAgainFromTheBlocksStart() throws Exception {
        Path file;
        try (BlockStore store = BlockStore.open(dir, SMALL_BLOCKS)) {
            Blob blob = store.blob(HASH, CONTENT.size());
            blob.openWriter(0).write(ByteBuffer.wrap(CONTENT.bytes(0, 30_000)));
            store.flush();
            file = store.blobPath(HASH);
        }
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(100);
            raf.write(0x55 ^ raf.read());
        }
        try (BlockStore store = BlockStore.open(dir, SMALL_BLOCKS)) {
            Blob blob = store.blob(HASH, CONTENT.size());
            assertEquals(0, blob.openWriter(0).position());
            assertEquals(1, store.crcMismatches());
        }
    }

    @Test
    void twoStoresOnOneDirectory_seeEachOthersDurableBlocks_andClaims() throws Exception {
        try (BlockStore a = BlockStore.open(dir, SMALL_BLOCKS); BlockStore b = BlockStore.open(dir, SMALL_BLOCKS)) {
            Blob ba = a.blob(HASH, CONTENT.size());
            Blob bb = b.blob(HASH, CONTENT.size());
            assertTrue(ba.claimFetch(0));
            // One process's id per JVM: within one JVM both stores are the same "process".
            assertTrue(bb.claimFetch(0));
            write(ba, 0, 1, CONTENT, 30_000);
            assertFalse(bb.isPresent(0), "not durable yet: the other store cannot rely on it");
            a.flush();
            assertTrue(bb.isPresent(0));
            assertTrue(bb.ensureReadable(0), "adopted, CRC-checked on first use");
        }
    }

    @Test
    void aStateFileOfAnotherBlockSize_startsTheBlobAfresh() throws Exception {
        try (BlockStore store = BlockStore.open(dir, SMALL_BLOCKS)) {
            write(store.blob(HASH, CONTENT.size()), 0, 4, CONTENT, BLOCK);
        }
        try (BlockStore store = BlockStore.open(dir, SMALL_BLOCKS.withBlockSize(2 * BLOCK))) {
            Blob blob = store.blob(HASH, CONTENT.size());
            assertFalse(blob.isPresent(0), "progress recorded in other units is not guessed at");
            assertFalse(blob.isVerified());
        }
    }

    @Test
    void aTornStateFile_isRefused_andTheBlobStartsAfresh() throws Exception {
        Path state;
        try (BlockStore store = BlockStore.open(dir, SMALL_BLOCKS)) {
            write(store.blob(HASH, CONTENT.size()), 0, 2, CONTENT, BLOCK);
            state = store.blobPath(HASH).resolveSibling(HASH.hex() + ".state");
        }
        Files.write(state, new byte[] {1, 2, 3});
        try (BlockStore store = BlockStore.open(dir, SMALL_BLOCKS)) {
            assertFalse(store.blob(HASH, CONTENT.size()).isPresent(0));
        }
    }
}
