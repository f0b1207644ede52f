package io.weightfs.fetch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
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

    @Test
    void aForegroundDemand_overtakesQueuedPrefetch() throws Exception {
        GatedSource source = new GatedSource();
        source.inner.put("w.bin", CONTENT);
        try (BlockStore store = BlockStore.openWithMemoryIndex(dir, SMALL); BlockFetcher fetcher = new BlockFetcher(source, 1)) {
            RepoFile f = new RepoFile("o/m", COMMIT, CONTENT.manifestFile("w.bin", ContentHash.Algorithm.SHA256), Optional.empty());
            Blob blob = store.blob(f.file().hash(), f.size());
            // Block 0 occupies the only worker; 1..5 queue as prefetch; then block 9 is needed by a read.
            List<CompletableFuture<Void>> all = new java.util.ArrayList<>();
            all.add(fetcher.demand(f, blob, 0, BlockFetcher.Priority.PREFETCH));
            assertTrue(source.firstArrived.await(10, TimeUnit.SECONDS));
            for (int b = 1; b <= 5; b++) {
                all.add(fetcher.demand(f, blob, b, BlockFetcher.Priority.PREFETCH));
            }
            all.add(fetcher.demand(f, blob, 9, BlockFetcher.Priority.FOREGROUND));
            // A queued prefetch block asked for by a read is promoted too.
            fetcher.demand(f, blob, 4, BlockFetcher.Priority.FOREGROUND);
            source.gate.countDown();
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
            List<String> order = source.inner.reads();
            assertEquals("w.bin@0+65536", order.get(0));
            assertEquals("w.bin@589824+65536", order.get(1), "the read's block goes right after the one in flight: " + order);
            assertEquals("w.bin@262144+65536", order.get(2), "then the promoted one: " + order);
        }
    }
}
