package io.weightfs.fetch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weightfs.hub.RangeSink;
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
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlockFetcherTest {
    private static final StoreOptions SMALL = new StoreOptions(64 * 1024, 10_000, 0);
    private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
    private static final PatternContent CONTENT = new PatternContent(3, 10 * 64 * 1024);

    @TempDir
    Path dir;

    /** A source that holds every read until released, so the test decides what is in flight. */
    private static final class GatedSource implements Source {
        final FakeSource inner = new FakeSource();
        final CountDownLatch gate = new CountDownLatch(1);
        final CountDownLatch firstArrived = new CountDownLatch(1);

        @Override
        public String name() {
            return "gated";
        }

        @Override
        public void read(RepoFile file, long offset, long length, RangeSink sink) throws IOException {
            firstArrived.countDown();
            try {
                if (!gate.await(30, TimeUnit.SECONDS)) {
                    throw new IOException("gate never opened");
                }
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            inner.read(file, offset, length, sink);
        }
    }

    @Test
    void aBlockAskedForTwice_isFetchedOnce_andBothAskersGetTheSameFuture() throws Exception {
        GatedSource source = new GatedSource();
        source.inner.put("w.bin", CONTENT);
        try (BlockStore store = BlockStore.openWithMemoryIndex(dir, SMALL); BlockFetcher fetcher = new BlockFetcher(source, 1)) {
            RepoFile f = new RepoFile("o/m", COMMIT, CONTENT.manifestFile("w.bin", ContentHash.Algorithm.SHA256), Optional.empty());
            Blob blob = store.blob(f.file().hash(), f.size());
            CompletableFuture<Void> a = fetcher.demand(f, blob, 3, BlockFetcher.Priority.PREFETCH);
            CompletableFuture<Void> b = fetcher.demand(f, blob, 3, BlockFetcher.Priority.FOREGROUND);
            assertSame(a, b);
            source.gate.countDown();
            b.get(10, TimeUnit.SECONDS);
            assertEquals(List.of("w.bin@196608+65536"), source.inner.reads());
            assertTrue(fetcher.demand(f, blob, 3, BlockFetcher.Priority.FOREGROUND).isDone(), "present blocks complete at once");
        }
    }

    /** A source that holds reads of chosen offsets until released; others pass at once. */
    private static final class HoldingSource implements Source {
        final FakeSource inner = new FakeSource();
        final java.util.Set<Long> held = java.util.concurrent.ConcurrentHashMap.newKeySet();
        final CountDownLatch release = new CountDownLatch(1);
        final java.util.concurrent.atomic.AtomicInteger holding = new java.util.concurrent.atomic.AtomicInteger();

        @Override
        public String name() {
            return "holding";
        }

        @Override
        public void read(RepoFile file, long offset, long length, RangeSink sink) throws IOException {
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
            inner.read(file, offset, length, sink);
        }
    }

    @Test
    void aForegroundRead_completesWhilePrefetchHoldsEveryGeneralConnection() throws Exception {
        HoldingSource source = new HoldingSource();
        source.inner.put("w.bin", CONTENT);
        for (int b = 0; b < 4; b++) {
            source.held.add((long) b * 64 * 1024);
        }
        BlockFetcher.Options opts = new BlockFetcher.Options(2, 2, 1, BlockFetcher.Scheduling.PRIORITY);
        try (BlockStore store = BlockStore.openWithMemoryIndex(dir, SMALL);
                BlockFetcher fetcher = new BlockFetcher(source, opts, java.time.Clock.systemUTC())) {
            RepoFile f = new RepoFile("o/m", COMMIT, CONTENT.manifestFile("w.bin", ContentHash.Algorithm.SHA256), Optional.empty());
            Blob blob = store.blob(f.file().hash(), f.size());
            List<CompletableFuture<Void>> background = new java.util.ArrayList<>();
            for (int b = 0; b < 4; b++) {
                background.add(fetcher.demand(f, blob, b, BlockFetcher.Priority.PREFETCH));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (source.holding.get() < 2 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertEquals(2, source.holding.get(), "both general connections are stuck in prefetch");
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
        try (BlockStore store = BlockStore.openWithMemoryIndex(dir, SMALL);
                BlockFetcher fetcher = new BlockFetcher(source, BlockFetcher.Options.of(1, false), java.time.Clock.systemUTC())) {
            RepoFile f = new RepoFile("o/m", COMMIT, CONTENT.manifestFile("w.bin", ContentHash.Algorithm.SHA256), Optional.empty());
            Blob blob = store.blob(f.file().hash(), f.size());
            CompletableFuture<Void> stuck = fetcher.demand(f, blob, 0, BlockFetcher.Priority.PREFETCH);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (source.holding.get() < 1 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            CompletableFuture<Void> read = fetcher.demand(f, blob, 9, BlockFetcher.Priority.FOREGROUND);
            assertThrows(java.util.concurrent.TimeoutException.class, () -> read.get(300, TimeUnit.MILLISECONDS));
            source.release.countDown();
            read.get(10, TimeUnit.SECONDS);
            stuck.get(10, TimeUnit.SECONDS);
        }
    }
}
