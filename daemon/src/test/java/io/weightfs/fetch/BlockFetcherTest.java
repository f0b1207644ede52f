package io.weightfs.fetch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weightfs.hub.ByteStream;
import io.weightfs.hub.Deadline;
import io.weightfs.manifest.ContentHash;
import io.weightfs.source.RepoFile;
import io.weightfs.source.Source;
import io.weightfs.store.Blob;
import io.weightfs.store.BlockStore;
import io.weightfs.store.StoreOptions;
import io.weightfs.testing.FakeSource;
import io.weightfs.testing.PatternContent;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlockFetcherTest {
    private static final int BLOCK = 64 * 1024;
    private static final StoreOptions SMALL = new StoreOptions(BLOCK, 0);
    private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
    private static final PatternContent CONTENT = new PatternContent(3, 10 * BLOCK);

    @TempDir
    Path dir;

    private static RepoFile file() {
        return new RepoFile("o/m", COMMIT, CONTENT.manifestFile("w.bin", ContentHash.Algorithm.SHA256), Optional.empty());
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(5);
        }
    }

    /** A source that holds streams starting at chosen offsets until released; others pass at once. */
    private static final class HoldingSource implements Source {
        final FakeSource inner = new FakeSource();
        final Set<Long> held = ConcurrentHashMap.newKeySet();
        final CountDownLatch release = new CountDownLatch(1);
        final AtomicInteger holding = new AtomicInteger();

        @Override
        public String name() {
            return "holding";
        }

        @Override
        public ByteStream open(RepoFile file, long offset, long length, Deadline deadline) throws IOException {
            if (held.contains(offset)) {
                holding.incrementAndGet();
                try {
                    if (!release.await(30, TimeUnit.SECONDS)) {
                        throw new IOException("never released");
                    }
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
            }
            return inner.open(file, offset, length, deadline);
        }
    }

    @Test
    void aBlockAskedForTwice_isFetchedOnce_andBothAskersGetTheSameFuture() throws Exception {
        HoldingSource source = new HoldingSource();
        source.inner.put("w.bin", CONTENT);
        source.held.add(3L * BLOCK);
        try (BlockStore store = BlockStore.open(dir, SMALL); BlockFetcher fetcher = new BlockFetcher(source, 1)) {
            RepoFile f = file();
            Blob blob = store.blob(f.file().hash(), f.size());
            CompletableFuture<Void> a = fetcher.demand(f, blob, 3, BlockFetcher.Priority.PREFETCH);
            CompletableFuture<Void> b = fetcher.demand(f, blob, 3, BlockFetcher.Priority.FOREGROUND);
            assertSame(a, b);
            source.release.countDown();
            b.get(10, TimeUnit.SECONDS);
            assertEquals(List.of("w.bin@196608+65536"), source.inner.reads());
            assertTrue(fetcher.demand(f, blob, 3, BlockFetcher.Priority.FOREGROUND).isDone(), "present blocks complete at once");
        }
    }

    @Test
    void consecutiveBlocksAskedFor_areFetchedAsOneRun_withOneRequest() throws Exception {
        HoldingSource source = new HoldingSource();
        source.inner.put("w.bin", CONTENT);
        source.held.add(0L);
        try (BlockStore store = BlockStore.open(dir, SMALL);
                BlockFetcher fetcher = new BlockFetcher(source, new BlockFetcher.Options(1, 1, 0, BlockFetcher.Scheduling.PRIORITY, 4),
                        Clock.systemUTC())) {
            RepoFile f = file();
            Blob blob = store.blob(f.file().hash(), f.size());
            List<CompletableFuture<Void>> all = new ArrayList<>();
            // Block 0 is taken (and held) first; 1..9 queue meanwhile and become runs of at most 4.
            all.add(fetcher.demand(f, blob, 0, BlockFetcher.Priority.PREFETCH));
            await(() -> source.holding.get() == 1, "the first request");
            for (int b = 1; b < 10; b++) {
                all.add(fetcher.demand(f, blob, b, BlockFetcher.Priority.PREFETCH));
            }
            source.release.countDown();
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
            assertEquals(List.of("w.bin@0+65536", "w.bin@65536+262144", "w.bin@327680+262144", "w.bin@589824+65536"),
                    source.inner.reads());
            assertEquals(4, fetcher.requests());
        }
    }

    @Test
    void aReadWaitingForBytes_isServedAsTheyArrive_notWhenTheWholeBlockIsIn() throws Exception {
        FakeSource source = new FakeSource().put("w.bin", CONTENT).hold("w.bin");
        try (BlockStore store = BlockStore.open(dir, SMALL); BlockFetcher fetcher = new BlockFetcher(source, 1)) {
            RepoFile f = file();
            Blob blob = store.blob(f.file().hash(), f.size());
            // The first 20 KB of block 2: the fake delivers 16 KiB per read.
            CompletableFuture<Void> head = fetcher.awaitBytes(f, blob, 2L * BLOCK, 2L * BLOCK + 20_000, BlockFetcher.Priority.FOREGROUND);
            CompletableFuture<Void> whole = fetcher.demand(f, blob, 2, BlockFetcher.Priority.FOREGROUND);
            source.release("w.bin", 1);
            assertThrows(java.util.concurrent.TimeoutException.class, () -> head.get(200, TimeUnit.MILLISECONDS));
            source.release("w.bin", 1);
            head.get(10, TimeUnit.SECONDS);
            assertFalse(whole.isDone(), "the block is not complete, its first bytes are");
            assertTrue(blob.writtenBytes(2) >= 20_000);
            source.release("w.bin", Integer.MAX_VALUE / 2);
            whole.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aForegroundRead_ofABlockFarAheadInAnotherWorkersRun_cutsTheRun_andIsFetchedNow() throws Exception {
        HoldingSource source = new HoldingSource();
        source.inner.put("w.bin", CONTENT).hold("w.bin");
        source.held.add(9L * BLOCK);
        BlockFetcher.Options opts = new BlockFetcher.Options(1, 1, 1, BlockFetcher.Scheduling.PRIORITY, 8);
        try (BlockStore store = BlockStore.open(dir, SMALL); BlockFetcher fetcher = new BlockFetcher(source, opts, Clock.systemUTC())) {
            RepoFile f = file();
            Blob blob = store.blob(f.file().hash(), f.size());
            // Block 9 keeps the only general worker busy while blocks 0-7 queue up behind it.
            CompletableFuture<Void> first = fetcher.demand(f, blob, 9, BlockFetcher.Priority.PREFETCH);
            await(() -> source.holding.get() == 1, "the general worker to take block 9");
            List<CompletableFuture<Void>> fill = new ArrayList<>();
            for (int b = 0; b < 8; b++) {
                fill.add(fetcher.demand(f, blob, b, BlockFetcher.Priority.PREFETCH));
            }
            source.release.countDown();
            source.inner.release("w.bin", 4); // block 9's 64 KiB in 16 KiB reads
            first.get(10, TimeUnit.SECONDS);
            await(() -> source.inner.reads().size() == 2, "the fill's run to start");
            assertEquals("w.bin@0+524288", source.inner.reads().get(1), "one run of eight blocks");
            CompletableFuture<Void> read = fetcher.demand(f, blob, 6, BlockFetcher.Priority.FOREGROUND);
            await(() -> source.inner.reads().size() == 3, "the read's own request");
            assertEquals("w.bin@393216+131072", source.inner.reads().get(2), "block 6 (and 7, cut with it) fetched on their own");
            assertEquals(1, fetcher.runsCut());
            source.inner.release("w.bin", Integer.MAX_VALUE / 2);
            read.get(10, TimeUnit.SECONDS);
            CompletableFuture.allOf(fill.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
            for (int b = 0; b < 8; b++) {
                assertTrue(blob.isPresent(b));
            }
            assertEquals(3, fetcher.requests());
        }
    }

    @Test
    void aForegroundRead_ofTheBlockRightAfterTheOneARunIsWriting_doesNotCutTheRun() throws Exception {
        HoldingSource source = new HoldingSource();
        source.inner.put("w.bin", CONTENT).hold("w.bin");
        source.held.add(9L * BLOCK);
        BlockFetcher.Options opts = new BlockFetcher.Options(1, 1, 1, BlockFetcher.Scheduling.PRIORITY, 8);
        try (BlockStore store = BlockStore.open(dir, SMALL); BlockFetcher fetcher = new BlockFetcher(source, opts, Clock.systemUTC())) {
            RepoFile f = file();
            Blob blob = store.blob(f.file().hash(), f.size());
            CompletableFuture<Void> first = fetcher.demand(f, blob, 9, BlockFetcher.Priority.PREFETCH);
            await(() -> source.holding.get() == 1, "the general worker to take block 9");
            List<CompletableFuture<Void>> fill = new ArrayList<>();
            for (int b = 0; b < 8; b++) {
                fill.add(fetcher.demand(f, blob, b, BlockFetcher.Priority.PREFETCH));
            }
            source.release.countDown();
            source.inner.release("w.bin", 4); // block 9's 64 KiB in 16 KiB reads
            first.get(10, TimeUnit.SECONDS);
            await(() -> source.inner.reads().size() == 2, "the fill's run to start");
            assertEquals("w.bin@0+524288", source.inner.reads().get(1), "one run of eight blocks");
            // The run is writing block 0; a sequential reader's readahead asks for block 1.
            CompletableFuture<Void> read = fetcher.demand(f, blob, 1, BlockFetcher.Priority.FOREGROUND);
            source.inner.release("w.bin", Integer.MAX_VALUE / 2);
            read.get(10, TimeUnit.SECONDS);
            CompletableFuture.allOf(fill.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
            for (int b = 0; b < 8; b++) {
                assertTrue(blob.isPresent(b));
            }
            assertEquals(0, fetcher.runsCut(), "the next block comes from the run's own stream");
            assertEquals(2, fetcher.requests(), "block 9's request and the one run: no request of its own for block 1");
        }
    }

    @Test
    void aForegroundRead_completesWhilePrefetchHoldsEveryGeneralConnection() throws Exception {
        HoldingSource source = new HoldingSource();
        source.inner.put("w.bin", CONTENT);
        for (int b = 0; b < 4; b++) {
            source.held.add((long) b * BLOCK);
        }
        BlockFetcher.Options opts = new BlockFetcher.Options(2, 2, 1, BlockFetcher.Scheduling.PRIORITY, 1);
        try (BlockStore store = BlockStore.open(dir, SMALL); BlockFetcher fetcher = new BlockFetcher(source, opts, Clock.systemUTC())) {
            RepoFile f = file();
            Blob blob = store.blob(f.file().hash(), f.size());
            List<CompletableFuture<Void>> background = new ArrayList<>();
            for (int b = 0; b < 4; b++) {
                background.add(fetcher.demand(f, blob, b, BlockFetcher.Priority.PREFETCH));
            }
            await(() -> source.holding.get() >= 2, "both general connections to be stuck in prefetch");
            assertEquals(2, source.holding.get());
            fetcher.demand(f, blob, 9, BlockFetcher.Priority.FOREGROUND).get(10, TimeUnit.SECONDS);
            assertTrue(blob.isPresent(9));
            assertTrue(background.stream().noneMatch(CompletableFuture::isDone), "and they are still stuck");
            source.release.countDown();
            CompletableFuture.allOf(background.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void inFifoMode_thereIsNoReservedConnection_soTheReadWaits() throws Exception {
        HoldingSource source = new HoldingSource();
        source.inner.put("w.bin", CONTENT);
        source.held.add(0L);
        try (BlockStore store = BlockStore.open(dir, SMALL);
                BlockFetcher fetcher = new BlockFetcher(source, BlockFetcher.Options.of(1, false).withMaxRunBlocks(1), Clock.systemUTC())) {
            RepoFile f = file();
            Blob blob = store.blob(f.file().hash(), f.size());
            CompletableFuture<Void> stuck = fetcher.demand(f, blob, 0, BlockFetcher.Priority.PREFETCH);
            await(() -> source.holding.get() >= 1, "the prefetch to hold the only connection");
            CompletableFuture<Void> read = fetcher.demand(f, blob, 9, BlockFetcher.Priority.FOREGROUND);
            assertThrows(java.util.concurrent.TimeoutException.class, () -> read.get(300, TimeUnit.MILLISECONDS));
            source.release.countDown();
            read.get(10, TimeUnit.SECONDS);
            stuck.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aFailedRun_failsEveryBlockNotYetWritten_andReleasesTheirClaims() throws Exception {
        FakeSource source = new FakeSource().put("w.bin", CONTENT).failNext(1);
        try (BlockStore store = BlockStore.open(dir, SMALL);
                BlockFetcher fetcher = new BlockFetcher(source, new BlockFetcher.Options(1, 1, 0, BlockFetcher.Scheduling.PRIORITY, 4),
                        Clock.systemUTC())) {
            RepoFile f = file();
            Blob blob = store.blob(f.file().hash(), f.size());
            CompletableFuture<Void> b0 = fetcher.demand(f, blob, 0, BlockFetcher.Priority.PREFETCH);
            java.util.concurrent.ExecutionException e = assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> b0.get(10, TimeUnit.SECONDS));
            assertTrue(e.getCause().getMessage().contains("injected failure"), e.toString());
            assertTrue(blob.claimFetch(0), "the claim was given up");
            fetcher.demand(f, blob, 0, BlockFetcher.Priority.PREFETCH).get(10, TimeUnit.SECONDS);
        }
    }
}
