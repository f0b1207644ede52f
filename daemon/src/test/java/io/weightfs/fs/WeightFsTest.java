package io.weightfs.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.weightfs.config.RepoEntry;
import io.weightfs.fetch.BlockFetcher;
import io.weightfs.fetch.PrefetchOrder;
import io.weightfs.fetch.Prefetcher;
import io.weightfs.fetch.Reader;
import io.weightfs.control.MountStatus;
import io.weightfs.manifest.ContentHash;
import io.weightfs.manifest.Manifest;
import io.weightfs.manifest.ManifestFile;
import io.weightfs.manifest.ResolvedEntry;
import io.weightfs.store.BlockStore;
import io.weightfs.store.StoreOptions;
import io.weightfs.testing.FakeSource;
import io.weightfs.testing.PatternContent;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WeightFsTest {
    private static final int BLOCK = 64 * 1024;
    private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
    private static final PatternContent WEIGHTS = new PatternContent(5, 7L * BLOCK + 999);
    private static final PatternContent CONFIG = new PatternContent(6, 300);

    @TempDir
    Path dir;

    private final FakeSource source = new FakeSource().put("model.safetensors", WEIGHTS).put("config.json", CONFIG);
    private BlockStore store;
    private BlockFetcher fetcher;
    private Prefetcher prefetcher;
    private Reader reader;
    private WeightFs fs;

    private void start(boolean prefetch) throws Exception {
        start(prefetch, true);
    }

    private void start(boolean prefetch, boolean priorities) throws Exception {
        // As a mount does: reads fetch their own bytes only while a fill will store the blocks.
        start(prefetch, priorities, Reader.Options.DEFAULTS.withReadThrough(prefetch));
    }

    private void start(boolean prefetch, boolean priorities, Reader.Options readOptions) throws Exception {
        List<ManifestFile> files = List.of(
                CONFIG.manifestFile("config.json", ContentHash.Algorithm.GIT_SHA1),
                WEIGHTS.manifestFile("model.safetensors", ContentHash.Algorithm.SHA256));
        Manifest m = new Manifest("acme/m", "main", COMMIT, files);
        RepoEntry e = new RepoEntry(0, "model_cache", "acme/m", "main", "llama", Optional.empty(), List.of(), Optional.empty());
        List<ResolvedEntry> entries = List.of(new ResolvedEntry(e, m, files, Optional.empty()));
        store = BlockStore.open(dir, new StoreOptions(BLOCK, 0));
        fetcher = new BlockFetcher(source, BlockFetcher.Options.of(2, priorities), Clock.systemUTC());
        Prefetcher[] fill = new Prefetcher[1];
        reader = new Reader(store, fetcher, h -> fill[0].failure(h), null, readOptions);
        prefetcher = new Prefetcher(store, fetcher, PrefetchOrder.order(entries), List.of(), 16, Duration.ofMillis(1));
        fill[0] = prefetcher;
        prefetcher.onGaveUp(reader::gaveUp);
        fs = new WeightFs(entries, r -> 1_700_000_000_000L, reader,
                mounted -> new MountStatus(mounted, store, fetcher, prefetcher, reader, Optional.empty(), Clock.systemUTC()), BLOCK,
                Clock.systemUTC());
        if (prefetch) {
            prefetcher.start();
        } else {
            prefetcher.watchOnly();
        }
    }

    @AfterEach
    void stop() {
        for (AutoCloseable c : new AutoCloseable[] {fs, prefetcher, fetcher, store}) {
            // fs closes the reader too.
            if (c != null) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // best effort
                }
            }
        }
    }

    private byte[] read(String path, long offset, int length) throws Exception {
        long h = fs.open(path, false);
        try {
            ByteBuffer buf = ByteBuffer.allocate(length);
            int n = fs.read(h, buf, offset);
            byte[] out = new byte[n];
            buf.flip().get(out);
            return out;
        } finally {
            fs.release(h);
        }
    }

    @Test
    void theTree_listsEveryFileAtItsSize_withoutFetchingAnything() throws Exception {
        start(false);
        assertEquals(List.of(".weightfs", "llama"), fs.readdir("/").stream().map(DirEntry::name).toList());
        assertEquals(WEIGHTS.size(), fs.getattr("/llama/model.safetensors").size());
        assertEquals(1_700_000_000_000L, fs.getattr("/llama/config.json").mtimeMillis());
        assertTrue(fs.getattr("/llama").directory());
        assertEquals(FsException.Kind.NOT_FOUND, assertThrows(FsException.class, () -> fs.getattr("/nope")).kind());
        assertTrue(source.reads().isEmpty());
    }

    @Test
    void aSmallReadOfBlocksNobodyFetches_isReadThrough_withOneRequestForExactlyItsBytes() throws Exception {
        start(false, true, Reader.Options.DEFAULTS);
        long off = 2L * BLOCK - 10;
        assertArrayEquals(WEIGHTS.bytes(off, 20), read("/llama/model.safetensors", off, 20));
        assertEquals(List.of("model.safetensors@131062+20"), source.reads());
    }

    @Test
    void aRead_waitingForBlocks_fetchesExactlyTheBlocksItNeeds_andReturnsTheRightBytes() throws Exception {
        start(false, false);
        long off = 2L * BLOCK - 10;
        assertArrayEquals(WEIGHTS.bytes(off, 20), read("/llama/model.safetensors", off, 20));
        // Exactly the two blocks it needs: in one request, or one each when both workers took one.
        List<String> reads = source.reads();
        assertTrue(reads.equals(List.of("model.safetensors@65536+131072"))
                || java.util.Set.copyOf(reads).equals(java.util.Set.of("model.safetensors@65536+65536", "model.safetensors@131072+65536")),
                reads.toString());
        // The last, partial block, and a read past the end.
        assertArrayEquals(WEIGHTS.bytes(WEIGHTS.size() - 50, 50), read("/llama/model.safetensors", WEIGHTS.size() - 50, 500));
        assertEquals(0, read("/llama/model.safetensors", WEIGHTS.size(), 10).length);
    }

    @Test
    void theFill_verifiesEverything_andTheControlFilesSaySo() throws Exception {
        start(true);
        prefetcher.completion().get(30, TimeUnit.SECONDS);
        JsonObject status = JsonParser.parseString(new String(read("/.weightfs/status.json", 0, 1 << 20), StandardCharsets.UTF_8))
                .getAsJsonObject();
        assertTrue(status.get("complete").getAsBoolean(), status.toString());
        assertEquals(2, status.get("filesVerified").getAsInt());
        assertEquals(WEIGHTS.size() + CONFIG.size(), status.get("bytesVerified").getAsLong());
        assertTrue(new String(read("/.weightfs/wait", 0, 100), StandardCharsets.UTF_8).startsWith("complete: 2 files"));
        assertTrue(fs.directIo(fs.open("/.weightfs/status.json", false)));
        assertTrue(source.reads().indexOf("config.json@0+300") < 3, "small files are fetched first: " + source.reads());
    }

    @Test
    void contentThatNeverHashesRight_failsTheFile_andItsReadsGetEio_neverWrongBytes() throws Exception {
        source.corrupt("model.safetensors");
        start(true);
        prefetcher.completion().get(30, TimeUnit.SECONDS);
        assertTrue(prefetcher.failure(WEIGHTS.manifestFile("model.safetensors", ContentHash.Algorithm.SHA256).hash()).isPresent());
        FsException e = assertThrows(FsException.class, () -> read("/llama/model.safetensors", 0, 100));
        assertEquals(FsException.Kind.IO, e.kind());
        assertTrue(new String(read("/.weightfs/wait", 0, 400), StandardCharsets.UTF_8).startsWith("failed: /llama/model.safetensors"));
        assertTrue(store.hashMismatches() >= 1);
    }

    @Test
    void writesAndDirectoryReads_areRefused() throws Exception {
        start(false);
        assertEquals(FsException.Kind.READ_ONLY, assertThrows(FsException.class, () -> fs.open("/llama/config.json", true)).kind());
        assertEquals(FsException.Kind.IS_A_DIRECTORY, assertThrows(FsException.class, () -> fs.open("/llama", false)).kind());
        assertFalse(fs.directIo(fs.open("/llama/config.json", false)));
    }

    private long open(String path) throws Exception {
        return fs.open(path, false);
    }

    private byte[] readOpen(long h, long offset, int length) throws Exception {
        ByteBuffer buf = ByteBuffer.allocate(length);
        int n = fs.read(h, buf, offset);
        byte[] out = new byte[n];
        buf.flip().get(out);
        return out;
    }

    @Test
    void bytesServedBeforeVerification_thatTurnOutWrong_failTheOpenFile_andAreReported() throws Exception {
        // The first copy of byte 50 is wrong; the blob fails its hash, is fetched again (right this
        // time) and verifies. A reader that got the wrong byte in between must hear of it.
        source.corruptOnce("model.safetensors", 50);
        start(false, false);
        long h = open("/llama/model.safetensors");
        byte[] early = readOpen(h, 0, 100);
        assertEquals((byte) (WEIGHTS.bytes(50, 1)[0] ^ 0xFF), early[50], "served lazily, before the blob could be checked");
        // The rest of the blob arrives (not through this open file): it fails its hash and is discarded.
        io.weightfs.source.RepoFile file = new io.weightfs.source.RepoFile("acme/m", COMMIT,
                WEIGHTS.manifestFile("model.safetensors", ContentHash.Algorithm.SHA256), Optional.empty());
        io.weightfs.store.Blob blob = store.blob(file.file().hash(), file.size());
        for (int b = 0; b < blob.blockCount(); b++) {
            fetcher.demand(file, blob, b, BlockFetcher.Priority.PREFETCH);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (store.hashMismatches() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(1, store.hashMismatches());
        FsException e = assertThrows(FsException.class, () -> readOpen(h, 0, 100));
        assertEquals(FsException.Kind.IO, e.kind());
        assertTrue(e.getMessage().contains("reopen"), e.getMessage());
        // A new open reads the right bytes, fetched again.
        assertArrayEquals(WEIGHTS.bytes(0, 100), read("/llama/model.safetensors", 0, 100));
        fs.release(h);
    }

    @Test
    void withVerifyBeforeServe_aMultiBlockFile_isServedOnlyOnceItsWholeHashMatched() throws Exception {
        source.corruptOnce("model.safetensors", 3L * BLOCK + 5);
        start(false, true, new Reader.Options(Duration.ofSeconds(30), Reader.Verify.BEFORE_SERVE));
        assertArrayEquals(WEIGHTS.bytes(3L * BLOCK, 100), read("/llama/model.safetensors", 3L * BLOCK, 100),
                "never the wrong bytes, even though the first copy was wrong");
        assertArrayEquals(WEIGHTS.bytes(0, 100), read("/llama/model.safetensors", 0, 100));
        assertTrue(source.corruptOnceDelivered("model.safetensors"), "the wrong copy was handed out");
        // Usually the wrong copy lands in the store and fails the whole hash (1). One clean-clone
        // CI run in five saw 0: the wrong copy went in bytes that never reached the store (a run
        // cut short by the foreground read is one such path). Either way no reader saw it, which
        // is what this test is for (asserted above).
        assertTrue(store.hashMismatches() <= 1, "mismatches: " + store.hashMismatches());
    }

    @Test
    void aReadWhoseBytesDoNotArrive_failsAtItsDeadline_withTheReason() throws Exception {
        source.hold("model.safetensors");
        start(false, false, new Reader.Options(Duration.ofMillis(300), Reader.Verify.LAZY));
        FsException e = assertThrows(FsException.class, () -> read("/llama/model.safetensors", 0, 100));
        assertEquals(FsException.Kind.IO, e.kind());
        assertTrue(e.getMessage().contains("--read-timeout"), e.getMessage());
        assertEquals(1, reader.timeouts());
        source.release("model.safetensors", Integer.MAX_VALUE / 2);
    }

    @Test
    void withoutABackgroundFill_readingEveryByte_verifiesEveryFile_andTheWaitEnds() throws Exception {
        start(false);
        read("/llama/config.json", 0, 1000);
        for (long off = 0; off < WEIGHTS.size(); off += BLOCK) {
            read("/llama/model.safetensors", off, BLOCK);
        }
        prefetcher.completion().get(20, TimeUnit.SECONDS);
        assertTrue(new String(read("/.weightfs/wait", 0, 100), StandardCharsets.UTF_8).startsWith("complete: 2 files"));
        JsonObject status = JsonParser.parseString(new String(read("/.weightfs/status.json", 0, 1 << 20), StandardCharsets.UTF_8))
                .getAsJsonObject();
        assertEquals(2, status.get("filesVerified").getAsInt(), status.toString());
        long frozen = status.get("elapsedMillis").getAsLong();
        Thread.sleep(50);
        JsonObject later = JsonParser.parseString(new String(read("/.weightfs/status.json", 0, 1 << 20), StandardCharsets.UTF_8))
                .getAsJsonObject();
        assertEquals(frozen, later.get("elapsedMillis").getAsLong(), "the rate is frozen once the fill is done");
    }

    @Test
    void anInterruptedRead_andAnInterruptedWait_stopWaiting_withEintr() throws Exception {
        source.hold("model.safetensors");
        start(false, false, new Reader.Options(Duration.ofSeconds(60), Reader.Verify.LAZY));
        long h = open("/llama/model.safetensors");
        java.util.concurrent.CompletableFuture<Void> signal = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.CompletableFuture<FsException> outcome = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                fs.read(h, ByteBuffer.allocate(100), 0, () -> signal);
                return null;
            } catch (FsException e) {
                return e;
            }
        });
        Thread.sleep(100);
        assertFalse(outcome.isDone(), "the read waits for its bytes");
        signal.complete(null);
        assertEquals(FsException.Kind.INTERRUPTED, outcome.get(5, TimeUnit.SECONDS).kind());

        long w = open("/.weightfs/wait");
        java.util.concurrent.CompletableFuture<Void> signal2 = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.CompletableFuture<FsException> waited = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                fs.read(w, ByteBuffer.allocate(100), 0, () -> signal2);
                return null;
            } catch (FsException e) {
                return e;
            }
        });
        signal2.complete(null);
        assertEquals(FsException.Kind.INTERRUPTED, waited.get(5, TimeUnit.SECONDS).kind(), "the wait file's reader was let go");
        source.release("model.safetensors", Integer.MAX_VALUE / 2);
    }
}
