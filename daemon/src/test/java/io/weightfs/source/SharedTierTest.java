package io.weightfs.source;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weightfs.manifest.ContentHash;
import io.weightfs.testing.MutableClock;
import io.weightfs.testing.ByteStreams;
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
        ByteStreams.readInto(source, file(), off, 300, got);
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
        assertEquals(SharedTier.Published.LEASED_ELSEWHERE, b.publish(HASH, CONTENT.size(), localBlob()),
                "just past its expiry, a lease may only look expired through a stale cache: left alone for the grace");
        clock.advance(SharedTier.leaseGrace(SharedTier.LEASE_TTL));
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
        ByteStreams.readInto(source, file(), 0, 10, got);
        assertThrows(SharedSource.CorruptSharedBlobException.class,
                () -> ByteStreams.readInto(source, file(), SharedTier.BLOCK_SIZE, 10, ByteBuffer.allocate(10)));
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

    // ---- a distributed filesystem with default settings (GlusterFS): stale and short reads, ESTALE ----

    /** File operations that fail or lie the first times, as a client mount of a default GlusterFS volume can. */
    private static final class FlakyIo implements SharedTier.Io {
        int staleOpens;
        int staleContentOpens;
        int emptyLists;
        int staleLists;
        final Path staleCopy;
        int opens;

        FlakyIo(Path staleCopy) {
            this.staleCopy = staleCopy;
        }

        @Override
        public synchronized java.nio.channels.FileChannel open(Path p) throws java.io.IOException {
            opens++;
            if (staleOpens > 0) {
                staleOpens--;
                throw new java.nio.file.FileSystemException(p.toString(), null, "Stale file handle");
            }
            if (staleContentOpens > 0) {
                staleContentOpens--;
                return java.nio.channels.FileChannel.open(staleCopy); // yesterday's bytes, or an empty file
            }
            return SharedTier.Io.super.open(p);
        }

        @Override
        public synchronized byte[] readAll(Path p) throws java.io.IOException {
            if (staleLists > 0) {
                staleLists--;
                throw new java.nio.file.FileSystemException(p.toString(), null, "Stale file handle");
            }
            if (emptyLists > 0) {
                emptyLists--;
                return new byte[0];
            }
            return SharedTier.Io.super.readAll(p);
        }
    }

    private final java.util.List<Duration> pauses = java.util.Collections.synchronizedList(new java.util.ArrayList<>());

    private SharedTier flakyTier(FlakyIo io) {
        return new SharedTier(dir.resolve("shared"), "org", "node-b", clock, SharedTier.LEASE_TTL, io, pauses::add);
    }

    private void publishWithAnotherNode() throws Exception {
        new SharedTier(dir.resolve("shared"), "org", "node-a", clock).publish(HASH, CONTENT.size(), localBlob());
    }

    @Test
    void aBlockReadStaleOrShort_isReadAgain_andServedRight_notQuarantined() throws Exception {
        publishWithAnotherNode();
        Path stale = dir.resolve("stale.bin");
        Files.write(stale, new byte[SharedTier.BLOCK_SIZE / 2]); // short, and zeros
        FlakyIo io = new FlakyIo(stale);
        io.staleContentOpens = 2;
        SharedTier tier = flakyTier(io);
        ByteBuffer got = ByteBuffer.allocate(1000);
        ByteStreams.readInto(new SharedSource(tier), file(), 100, 1000, got);
        assertArrayEquals(CONTENT.bytes(100, 1000), got.array());
        assertTrue(tier.has(HASH), "not quarantined");
        assertEquals(2, tier.reReads());
        assertEquals(java.util.List.of(SharedTier.RE_READ_PAUSE, SharedTier.RE_READ_PAUSE), pauses);
    }

    @Test
    void estaleOnOpen_isRetried_andTheReadSucceeds() throws Exception {
        publishWithAnotherNode();
        FlakyIo io = new FlakyIo(null);
        io.staleOpens = 3;
        SharedTier tier = flakyTier(io);
        ByteBuffer got = ByteBuffer.allocate(10);
        ByteStreams.readInto(new SharedSource(tier), file(), 0, 10, got);
        assertArrayEquals(CONTENT.bytes(0, 10), got.array());
        assertEquals(4, io.opens);
        assertTrue(tier.has(HASH));
    }

    @Test
    void aBlockListReadEmptyOnce_isReadAgain_notQuarantined() throws Exception {
        publishWithAnotherNode();
        FlakyIo io = new FlakyIo(null);
        io.emptyLists = 1;
        io.staleLists = 2;
        SharedTier tier = flakyTier(io);
        ByteBuffer got = ByteBuffer.allocate(10);
        ByteStreams.readInto(new SharedSource(tier), file(), 5, 10, got);
        assertArrayEquals(CONTENT.bytes(5, 10), got.array());
        assertTrue(tier.has(HASH));
        assertEquals(1, tier.reReads());
    }

    @Test
    void aBlockListThatCannotBeRead_failsTheRead_butIsNoReasonToQuarantine() throws Exception {
        publishWithAnotherNode();
        FlakyIo io = new FlakyIo(null);
        io.staleLists = 1000;
        SharedTier tier = flakyTier(io);
        java.io.IOException e = assertThrows(java.io.IOException.class,
                () -> ByteStreams.readInto(new SharedSource(tier), file(), 0, 10, ByteBuffer.allocate(10)));
        assertFalse(e instanceof SharedSource.CorruptSharedBlobException, e.toString());
        assertTrue(tier.has(HASH), "a read that failed says nothing about the blob");
    }

    @Test
    void aBlockThatStaysWrong_isQuarantinedAfterItsReReads() throws Exception {
        publishWithAnotherNode();
        FlakyIo io = new FlakyIo(null);
        SharedTier tier = flakyTier(io);
        try (RandomAccessFile raf = new RandomAccessFile(tier.blobPath(HASH).toFile(), "rw")) {
            raf.seek(11);
            raf.write(0x5a ^ raf.readByte());
        }
        SharedSource source = new SharedSource(tier);
        assertThrows(SharedSource.CorruptSharedBlobException.class, () -> ByteStreams.readInto(source, file(), 0, 10, ByteBuffer.allocate(10)));
        assertEquals(SharedTier.RE_READS, tier.reReads());
        assertFalse(tier.has(HASH));
    }

    @Test
    void aLeaseThatCannotBeRead_isNeverTakenOver() throws Exception {
        SharedTier b = new SharedTier(dir.resolve("shared"), "org", "node-b", clock);
        // Something at the lease's path that no read makes sense of (as ESTALE to the end would).
        Files.createDirectories(b.leasePath(HASH).resolve("unreadable"));
        clock.advance(SharedTier.LEASE_TTL.multipliedBy(10));
        assertEquals(SharedTier.Published.LEASED_ELSEWHERE, b.publish(HASH, CONTENT.size(), localBlob()));
        assertTrue(b.leasedElsewhere(HASH));
    }

    @Test
    void aLeaseTakenOverAfterItsHolderStalled_isNotRenewedByTheFormerHolder() throws Exception {
        SharedTier.Lease a = SharedTier.Lease.acquire(dir.resolve("l/x.lease"), "node-a", clock, Duration.ofSeconds(30),
                Duration.ofSeconds(10)).orElseThrow();
        clock.advance(Duration.ofSeconds(30).plus(SharedTier.leaseGrace(Duration.ofSeconds(30))).plusSeconds(1));
        SharedTier.Lease b = SharedTier.Lease.acquire(dir.resolve("l/x.lease"), "node-b", clock, Duration.ofSeconds(30),
                Duration.ofSeconds(10)).orElseThrow();
        java.io.IOException e = assertThrows(java.io.IOException.class, a::renewIfDue);
        assertTrue(e.getMessage().contains("taken over by node-b"), e.getMessage());
        assertEquals(Optional.of("node-b"), SharedTier.Lease.owner(dir.resolve("l/x.lease")));
        b.close();
    }
}
