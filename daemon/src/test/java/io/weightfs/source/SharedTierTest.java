package io.weightfs.source;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weightfs.manifest.ContentHash;
import io.weightfs.testing.MutableClock;
import io.weightfs.testing.PatternContent;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SharedTierTest {
    private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
    private static final PatternContent CONTENT = new PatternContent(4, 2L * SharedTier.BLOCK_SIZE + 1234);
    private static final ContentHash HASH = CONTENT.hash(ContentHash.Algorithm.SHA256);

    @TempDir
    Path dir;

    private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));

    private Path localBlob() throws Exception {
        Path p = dir.resolve("local.bin");
        CONTENT.writeTo(p);
        return p;
    }

    private static RepoFile file() {
        return new RepoFile("acme/m", COMMIT, CONTENT.manifestFile("w.safetensors", ContentHash.Algorithm.SHA256), Optional.empty());
    }

    @Test
    void aPublishedBlob_isReadBackBlockCheckedAndByteForByte() throws Exception {
        SharedTier tier = new SharedTier(dir.resolve("shared"), "org", "node-a", clock);
        assertEquals(SharedTier.Published.PUBLISHED, tier.publish(HASH, CONTENT.size(), localBlob()));
        assertTrue(tier.has(HASH));
        assertEquals(SharedTier.Published.ALREADY_THERE, tier.publish(HASH, CONTENT.size(), localBlob()));
        SharedSource source = new SharedSource(tier);
        long off = SharedTier.BLOCK_SIZE - 100;
        ByteBuffer got = ByteBuffer.allocate(300);
        io.weightfs.testing.ByteStreams.readInto(source, file(), off, 300, got);
        assertArrayEquals(CONTENT.bytes(off, 300), got.array());
        try (Stream<Path> tmp = Files.list(dir.resolve("shared/org/tmp"))) {
            assertEquals(0, tmp.count(), "nothing left in tmp");
        }
    }

    @Test
    void aLiveLease_keepsOtherNodesOff_andAnExpiredOneIsTakenOver() throws Exception {
        SharedTier a = new SharedTier(dir.resolve("shared"), "org", "node-a", clock);
        SharedTier b = new SharedTier(dir.resolve("shared"), "org", "node-b", clock);
        // node a died holding the lease: its lease file stays behind.
        Optional<SharedTier.Lease> held = SharedTier.Lease.acquire(a.leasePath(HASH), "node-a", clock);
        assertTrue(held.isPresent());
        assertEquals(SharedTier.Published.LEASED_ELSEWHERE, b.publish(HASH, CONTENT.size(), localBlob()));
        clock.advance(SharedTier.LEASE_TTL.plus(Duration.ofSeconds(1)));
        assertEquals(SharedTier.Published.PUBLISHED, b.publish(HASH, CONTENT.size(), localBlob()));
        assertFalse(Files.exists(a.leasePath(HASH)), "the lease is released after the upload");
    }

    @Test
    void aBadBlock_isCaught_andTheBlobQuarantined() throws Exception {
        SharedTier tier = new SharedTier(dir.resolve("shared"), "org", "node-a", clock);
        tier.publish(HASH, CONTENT.size(), localBlob());
        try (RandomAccessFile raf = new RandomAccessFile(tier.blobPath(HASH).toFile(), "rw")) {
            raf.seek(SharedTier.BLOCK_SIZE + 7);
            raf.write(0x55 ^ raf.readByte());
        }
        SharedSource source = new SharedSource(tier);
        ByteBuffer got = ByteBuffer.allocate(10);
        // Block 0 is fine.
        io.weightfs.testing.ByteStreams.readInto(source, file(), 0, 10, got);
        assertThrows(SharedSource.CorruptSharedBlobException.class,
                () -> io.weightfs.testing.ByteStreams.readInto(source, file(), SharedTier.BLOCK_SIZE, 10, ByteBuffer.allocate(10)));
        assertFalse(tier.has(HASH));
        assertEquals(1, source.badBlocks());
    }

    @Test
    void aBlockListThatDoesNotFitItsBlob_isRefused() throws Exception {
        byte[] data = new BlockList(1 << 20, 5, new byte[][] {new byte[32]}).encode();
        assertThrows(java.io.IOException.class, () -> BlockList.decode(data, 6));
        data[0] = 'X';
        assertThrows(java.io.IOException.class, () -> BlockList.decode(data, 5));
    }

    @Test
    void namespaces_mustBePlainNames() {
        assertThrows(IllegalArgumentException.class, () -> new SharedTier(dir, "../other", "n", clock));
        assertThrows(IllegalArgumentException.class, () -> new SharedTier(dir, "", "n", clock));
    }
}
