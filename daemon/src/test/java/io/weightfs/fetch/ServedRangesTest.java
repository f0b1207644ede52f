package io.weightfs.fetch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weightfs.manifest.ContentHash;
import io.weightfs.store.Blob;
import io.weightfs.store.BlockStore;
import io.weightfs.store.StoreOptions;
import io.weightfs.testing.PatternContent;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What is compared once a blob whose bytes were served early verifies, and what is trusted. */
class ServedRangesTest {
    private static final int BLOCK = 64 * 1024;
    private static final PatternContent CONTENT = new PatternContent(3, 3 * BLOCK + 777);
    private static final ContentHash HASH = CONTENT.hash(ContentHash.Algorithm.SHA256);

    @TempDir
    Path dir;

    private static Blob filled(BlockStore store) throws Exception {
        CompletableFuture<Blob> verified = new CompletableFuture<>();
        store.addListener(new BlockStore.BlobListener() {
            @Override
            public void blobVerified(Blob blob) {
                verified.complete(blob);
            }

            @Override
            public void blobCorrupt(Blob blob, ContentHash actual) {}
        });
        Blob blob = store.blob(HASH, CONTENT.size());
        Blob.Writer w = blob.openWriter(0);
        while (w.position() < blob.size()) {
            int n = (int) Math.min(10_000, blob.size() - w.position());
            w.write(ByteBuffer.wrap(CONTENT.bytes(w.position(), n)));
        }
        assertTrue(verified.get(10, TimeUnit.SECONDS) == blob);
        return blob;
    }

    @Test
    void bytesReadFromTheBlobsOwnFile_inTheGenerationThatVerified_areNotReadAgain() throws Exception {
        try (BlockStore store = BlockStore.open(dir, new StoreOptions(BLOCK, 0))) {
            Blob blob = filled(store);
            ServedRanges served = new ServedRanges();
            long gen = blob.generation();
            served.record(HASH, 0, ByteBuffer.wrap(CONTENT.bytes(0, 5000)), blob, gen);
            served.record(HASH, 5000, ByteBuffer.wrap(CONTENT.bytes(5000, 5000)), blob, gen);
            served.record(HASH, 2 * BLOCK, ByteBuffer.wrap(CONTENT.bytes(2 * BLOCK, 100)), blob, gen);
            assertEquals(0, served.check(blob));
            assertEquals(1, served.skipped());
            assertEquals(0, served.compared());
        }
    }

    @Test
    void bytesFromTheSource_areCompared_andAWrongOneIsFound() throws Exception {
        try (BlockStore store = BlockStore.open(dir, new StoreOptions(BLOCK, 0))) {
            Blob blob = filled(store);
            ServedRanges served = new ServedRanges();
            served.record(HASH, 0, ByteBuffer.wrap(CONTENT.bytes(0, 4096)), blob, blob.generation());
            byte[] wrong = CONTENT.bytes(BLOCK, 4096);
            wrong[17] ^= 1;
            served.record(HASH, BLOCK, ByteBuffer.wrap(wrong), null, -1);
            assertEquals(1, served.check(blob), "the range read straight from the source differed");
            assertEquals(0, served.skipped());
            assertEquals(1, served.compared());
        }
    }

    @Test
    void bytesFromAnEarlierGeneration_areCompared() throws Exception {
        try (BlockStore store = BlockStore.open(dir, new StoreOptions(BLOCK, 0))) {
            Blob blob = filled(store);
            ServedRanges served = new ServedRanges();
            byte[] wrong = CONTENT.bytes(0, 4096);
            wrong[0] ^= 1;
            served.record(HASH, 0, ByteBuffer.wrap(wrong), blob, blob.generation() - 1);
            assertEquals(1, served.check(blob));
            assertEquals(1, served.compared());
            // A right range from an earlier generation compares equal.
            served.record(HASH, 0, ByteBuffer.wrap(CONTENT.bytes(0, 4096)), blob, blob.generation() - 1);
            assertEquals(0, served.check(blob));
            assertEquals(2, served.compared());
        }
    }
}
