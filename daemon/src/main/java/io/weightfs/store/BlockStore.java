package io.weightfs.store;

import io.weightfs.manifest.ContentHash;
import io.weightfs.manifest.ContentHasher;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node block store (see the package comment for the layout and the durability rules).
 *
 * <p><b>Threads.</b> {@link #open} returns at once; the index opens on a background thread
 * ({@link #ready()}), because opening a Chronicle Map takes over a second and the mount must not
 * wait for it. A syncer thread batches durability: blocks written in the last
 * {@link StoreOptions#syncIntervalMillis()} are forced to disk with one fsync per blob, then
 * recorded in the index. A verifier pool (one thread per core) hashes complete blobs. Listeners
 * are called on those threads, never under a lock.
 */
public final class BlockStore implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BlockStore.class);

    private final Path dir;
    private final StoreOptions options;
    private final CompletableFuture<BlockIndex> index;
    private final ConcurrentHashMap<ContentHash, CompletableFuture<Blob>> blobs = new ConcurrentHashMap<>();
    private final LinkedBlockingQueue<Written> toSync = new LinkedBlockingQueue<>();
    private final Thread syncer;
    private final ExecutorService verifier;
    private final List<BlobListener> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final AtomicLong hashMismatches = new AtomicLong();
    private final AtomicLong crcMismatches = new AtomicLong();
    private volatile boolean closed;
    /** When this process last read each blob (for least-recently-used eviction). */
    private final ConcurrentHashMap<ContentHash, Long> lastUse = new ConcurrentHashMap<>();
    /** Free bytes on the store's filesystem; injectable so tests can run out of space on demand. */
    private volatile java.util.function.LongSupplier freeSpace = this::usableSpace;
    private volatile long freeCheckedAtNanos;
    private volatile boolean low;
    private final java.util.concurrent.atomic.AtomicBoolean lowLogged = new java.util.concurrent.atomic.AtomicBoolean();
    private final AtomicLong lowSpaceRefusals = new AtomicLong();
    private final AtomicLong evictedBlobs = new AtomicLong();
    /** The free space is looked at no more than once a second: statvfs is cheap, but not free. */
    private static final long FREE_CHECK_NANOS = 1_000_000_000L;

    /** This process's id in fetch claims: random, because pids repeat across containers. */
    private final long owner = java.util.concurrent.ThreadLocalRandom.current().nextLong();
    /**
     * A claim not refreshed for this long belongs to a process that died or hangs; another takes
     * over. Downloads refresh their claim about every second while bytes arrive.
     */
    static final long CLAIM_STALE_MILLIS = 30_000;

    /** Told when a blob's whole-content check has finished. */
    public interface BlobListener {
        void blobVerified(Blob blob);

        /** The blob's content did not hash right; every block was dropped and must be fetched again. */
        void blobCorrupt(Blob blob, ContentHash actual);
    }

    /** A block written to the file, waiting to be synced; {@code generation} is the blob's at write time. */
    private record Written(Blob blob, int block, int crc, long generation) {}

    private BlockStore(Path dir, StoreOptions options, Supplier<BlockIndex> openIndex) throws IOException {
        this.dir = dir;
        this.options = options;
        Files.createDirectories(dir.resolve("blobs"));
        this.index = new CompletableFuture<>();
        Thread.ofPlatform().daemon(true).name("weightfs-index-open").start(() -> {
            long t0 = System.nanoTime();
            try {
                index.complete(openIndex.get());
                LOG.debug("block index of {} open in {} ms", dir, (System.nanoTime() - t0) / 1_000_000);
            } catch (RuntimeException e) {
                LOG.error("cannot open the block index in {}: {}", dir.resolve("index"), e.toString());
                index.completeExceptionally(e);
            }
        });
        this.syncer = Thread.ofPlatform().daemon(true).name("weightfs-store-sync").start(this::syncLoop);
        this.verifier = Executors.newFixedThreadPool(Math.max(1, Runtime.getRuntime().availableProcessors()),
                Thread.ofPlatform().daemon(true).name("weightfs-verify-", 0).factory());
    }

    /** Opens the store in {@code dir}, with its persisted index. Returns at once. */
    public static BlockStore open(Path dir, StoreOptions options) throws IOException {
        return new BlockStore(dir, options, () -> {
            try {
                return ChronicleBlockIndex.open(dir.resolve("index"), options.indexEntries());
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    /** A store whose index lives in memory only (tests of the layers above). */
    public static BlockStore openWithMemoryIndex(Path dir, StoreOptions options) throws IOException {
        return new BlockStore(dir, options, MemoryBlockIndex::new);
    }

    public Path dir() {
        return dir;
    }

    public StoreOptions options() {
        return options;
    }

    /** Completes when the index is open. */
    public CompletableFuture<?> ready() {
        return index;
    }

    public void addListener(BlobListener l) {
        listeners.add(l);
    }

    public long hashMismatches() {
        return hashMismatches.get();
    }

    public long crcMismatches() {
        return crcMismatches.get();
    }

    /** Notes a read of a blob, for least-recently-used eviction. */
    public void noteUse(ContentHash hash) {
        lastUse.put(hash, System.currentTimeMillis());
    }

    /** Replaces how free space is measured (tests). */
    public void setFreeSpaceProbe(java.util.function.LongSupplier probe) {
        this.freeSpace = probe;
        this.freeCheckedAtNanos = 0;
    }

    private long usableSpace() {
        try {
            return Files.getFileStore(dir).getUsableSpace();
        } catch (IOException e) {
            return Long.MAX_VALUE;
        }
    }

    /**
     * Whether the store's filesystem is below its free-space floor. Logged once when it first is;
     * every block not cached because of it is counted ({@link #lowSpaceRefusals()}).
     */
    public boolean lowOnSpace() {
        long now = System.nanoTime();
        if (now - freeCheckedAtNanos > FREE_CHECK_NANOS) {
            freeCheckedAtNanos = now;
            low = freeSpace.getAsLong() < options.minFreeBytes();
            if (low && lowLogged.compareAndSet(false, true)) {
                LOG.warn("the node store {} is below its free-space floor ({} bytes): new blocks are not cached, reads go"
                        + " straight to the source; free space or lower --store-max-size", dir, options.minFreeBytes());
            } else if (!low) {
                lowLogged.set(false);
            }
        }
        return low;
    }

    void refusedForSpace() {
        lowSpaceRefusals.incrementAndGet();
    }

    public long lowSpaceRefusals() {
        return lowSpaceRefusals.get();
    }

    public long evictedBlobs() {
        return evictedBlobs.get();
    }

    /** What an eviction pass did. */
    public record Eviction(long bytesBefore, long bytesAfter, List<ContentHash> evicted) {}

    /**
     * Evicts least recently used complete blobs, none of {@code inUse}, until the blob files hold at
     * most {@code maxBytes}. A blob's last use is this process's last read of it, else its file's
     * modification time. An evicted blob leaves the index first and its file second; a process that
     * still has the file open keeps reading the bytes it had.
     */
    public Eviction evict(long maxBytes, java.util.Set<ContentHash> inUse) throws IOException {
        BlockIndex idx = index();
        record Candidate(ContentHash hash, Path file, long size, long lastUse) {}
        List<Candidate> candidates = new ArrayList<>();
        long total = 0;
        Path root = dir.resolve("blobs");
        for (ContentHash.Algorithm algo : ContentHash.Algorithm.values()) {
            Path algoDir = root.resolve(algo.label());
            if (!Files.isDirectory(algoDir)) {
                continue;
            }
            try (java.util.stream.Stream<Path> files = Files.walk(algoDir, 2)) {
                for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                    ContentHash h;
                    try {
                        h = new ContentHash(algo, f.getFileName().toString());
                    } catch (IllegalArgumentException notABlob) {
                        continue;
                    }
                    long size = Files.size(f);
                    total += size;
                    if (!inUse.contains(h) && idx.isVerified(h)) {
                        long used = Math.max(lastUse.getOrDefault(h, 0L), Files.getLastModifiedTime(f).toMillis());
                        candidates.add(new Candidate(h, f, size, used));
                    }
                }
            }
        }
        long before = total;
        candidates.sort(java.util.Comparator.comparingLong(Candidate::lastUse));
        List<ContentHash> evicted = new ArrayList<>();
        for (Candidate c : candidates) {
            if (total <= maxBytes) {
                break;
            }
            idx.removeBlob(c.hash(), (int) ((c.size() + options.blockSize() - 1) / options.blockSize()));
            CompletableFuture<Blob> open = blobs.remove(c.hash());
            Blob b = open == null ? null : open.getNow(null);
            if (b != null) {
                b.discardBlocks();
            }
            Files.deleteIfExists(c.file());
            lastUse.remove(c.hash());
            total -= c.size();
            evicted.add(c.hash());
            evictedBlobs.incrementAndGet();
        }
        if (!evicted.isEmpty()) {
            LOG.info("evicted {} least recently used blobs from {}: {} -> {} bytes (limit {})", evicted.size(), dir, before, total, maxBytes);
        }
        return new Eviction(before, total, evicted);
    }

    /** Where a blob's data file lives: {@code blobs/<algo>/<first two hex>/<hex>}. */
    public Path blobPath(ContentHash hash) {
        return dir.resolve("blobs").resolve(hash.algorithm().label()).resolve(hash.hex().substring(0, 2)).resolve(hash.hex());
    }

    /**
     * The blob of a hash, opened (and its file created, sparse, at its final size) on first use.
     * Waits for the index to open. One {@link Blob} per hash per store.
     */
    public Blob blob(ContentHash hash, long size) throws IOException {
        CompletableFuture<Blob> mine = new CompletableFuture<>();
        CompletableFuture<Blob> existing = blobs.putIfAbsent(hash, mine);
        if (existing == null) {
            try {
                Blob b = openBlob(hash, size);
                mine.complete(b);
                b.verifyIfComplete();
            } catch (IOException | RuntimeException e) {
                blobs.remove(hash, mine);
                mine.completeExceptionally(e);
                throw e;
            }
        }
        Blob b = join(existing == null ? mine : existing, "blob " + hash);
        if (b.size() != size) {
            throw new IOException("blob " + hash + " is known with size " + b.size() + ", asked for with size " + size
                    + ": two manifests disagree about the same content hash");
        }
        return b;
    }

    private Blob openBlob(ContentHash hash, long size) throws IOException {
        BlockIndex idx = index();
        Path file = blobPath(hash);
        Files.createDirectories(file.getParent());
        int blockCount = (int) ((size + options.blockSize() - 1) / options.blockSize());
        boolean existed = Files.exists(file);
        if (!existed || Files.size(file) != size) {
            if (existed || !idx.presentBlocks(hash, blockCount).isEmpty() || idx.isVerified(hash)) {
                // The file vanished or changed size under the index: nothing recorded can be trusted.
                LOG.warn("blob file {} is missing or has the wrong size; forgetting its blocks", file);
                idx.removeBlob(hash, blockCount);
            }
            try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
                raf.setLength(size);
            }
        }
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        return new Blob(this, hash, size, options.blockSize(), ch, idx.presentBlocks(hash, blockCount), idx.isVerified(hash));
    }

    private BlockIndex index() throws IOException {
        return join(index, "the block index");
    }

    private static <T> T join(CompletableFuture<T> f, String what) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted waiting for " + what);
        } catch (ExecutionException e) {
            Throwable c = e.getCause() instanceof java.io.UncheckedIOException u ? u.getCause() : e.getCause();
            if (c instanceof IOException io) {
                throw new IOException("cannot open " + what + ": " + io.getMessage(), io);
            }
            throw new IOException("cannot open " + what + ": " + c, c);
        }
    }

    // --- called by Blob ------------------------------------------------------------------------

    /** The CRC of a block another process recorded, if any; empty while the index is not open. */
    java.util.OptionalInt indexedBlock(ContentHash hash, int block) {
        CompletableFuture<BlockIndex> f = index;
        BlockIndex idx = f.getNow(null);
        return idx == null ? java.util.OptionalInt.empty() : idx.presentBlock(hash, block);
    }

    boolean claim(ContentHash hash, int block) throws IOException {
        return index().claim(hash, block, owner, System.currentTimeMillis(), CLAIM_STALE_MILLIS);
    }

    void refreshClaim(ContentHash hash, int block) {
        BlockIndex idx = index.getNow(null);
        if (idx != null) {
            idx.refreshClaim(hash, block, owner, System.currentTimeMillis());
        }
    }

    void releaseClaim(ContentHash hash, int block) {
        BlockIndex idx = index.getNow(null);
        if (idx != null) {
            idx.releaseClaim(hash, block, owner);
        }
    }

    void blockWritten(Blob blob, int block, int crc) {
        toSync.add(new Written(blob, block, crc, blob.generation()));
    }

    void blockCorrupt(Blob blob, int block, int expected, int actual) {
        crcMismatches.incrementAndGet();
        LOG.warn("block {} of {} failed its CRC check (expected {}, found {}): dropped, it will be fetched again",
                block, blob.hash(), Integer.toHexString(expected), Integer.toHexString(actual));
        index.thenAccept(i -> i.removeBlock(blob.hash(), block));
    }

    void verifyLater(Blob blob) {
        try {
            verifier.execute(() -> verify(blob));
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            blob.verificationDone(false);
        }
    }

    private void verify(Blob blob) {
        try {
            verifyNow(blob);
        } catch (IOException | RuntimeException e) {
            LOG.error("cannot verify blob {}: {}", blob.hash(), e.toString());
            blob.verificationDone(false);
        }
    }

    /**
     * Hashes a complete blob now, on the calling thread: marks it verified, or discards it if its
     * content is wrong (and tells the listeners). Safe to race with the background verification:
     * a discard happens only if nobody discarded the blob since this hash began.
     *
     * @return whether the blob is verified
     */
    public boolean verifyNow(Blob blob) throws IOException {
        if (blob.isVerified()) {
            return true;
        }
        long gen = blob.generation();
        blob.channel().force(false);
        ContentHash actual = hashOf(blob);
        if (actual.equals(blob.hash())) {
            if (blob.generation() != gen) {
                return false;
            }
            blob.verificationDone(true);
            // Verified is recorded after the blocks: the syncer may still hold some of them.
            flushNow();
            index().markVerified(blob.hash());
            LOG.debug("verified {}", blob.hash());
            listeners.forEach(l -> l.blobVerified(blob));
            return true;
        }
        if (blob.generation() == gen) {
            hashMismatches.incrementAndGet();
            LOG.warn("blob {} hashed to {}: the content received was wrong; discarding it to fetch again", blob.hash(), actual);
            discard(blob);
            listeners.forEach(l -> l.blobCorrupt(blob, actual));
        }
        return false;
    }

    private static ContentHash hashOf(Blob blob) throws IOException {
        ContentHasher h = ContentHasher.of(blob.hash().algorithm(), blob.size());
        // Heap, not direct: see ContentHasher.hashFile.
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(1 << 20);
        long pos = 0;
        while (pos < blob.size()) {
            buf.clear();
            buf.limit((int) Math.min(buf.capacity(), blob.size() - pos));
            int n = blob.channel().read(buf, pos);
            if (n < 0) {
                throw new IOException("blob file of " + blob.hash() + " is shorter than " + blob.size());
            }
            buf.flip();
            h.update(buf);
            pos += n;
        }
        return h.finish();
    }

    /** Drops every block of a blob, in memory, in the index and on disk. */
    public void discard(Blob blob) throws IOException {
        blob.discardBlocks();
        index().removeBlob(blob.hash(), blob.blockCount());
        // Punch the data out: truncate, then grow back to the final size (sparse again).
        blob.channel().truncate(0);
        try (RandomAccessFile raf = new RandomAccessFile(blobPath(blob.hash()).toFile(), "rw")) {
            raf.setLength(blob.size());
        }
    }

    // --- durability ----------------------------------------------------------------------------

    /**
     * Batches durability. Never interrupted: an interrupt during FileChannel I/O closes the
     * channel for every thread (ClosedByInterruptException), so shutdown is a flag plus a bounded poll.
     */
    private void syncLoop() {
        List<Written> batch = new ArrayList<>();
        while (!closed) {
            try {
                Written first = toSync.poll(100, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                if (options.syncIntervalMillis() > 0) {
                    Thread.sleep(options.syncIntervalMillis());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            toSync.drainTo(batch);
            sync(batch);
            batch.clear();
        }
    }

    /** Forces each blob's file once, then records its blocks. */
    private synchronized void sync(List<Written> batch) {
        if (batch.isEmpty()) {
            return;
        }
        Map<Blob, Map<Integer, Integer>> byBlob = new LinkedHashMap<>();
        for (Written w : batch) {
            if (w.generation() == w.blob().generation()) {
                byBlob.computeIfAbsent(w.blob(), k -> new HashMap<>()).put(w.block(), w.crc());
            }
        }
        BlockIndex idx;
        try {
            idx = index();
        } catch (IOException e) {
            LOG.error("written blocks cannot be recorded: {}", e.getMessage());
            return;
        }
        for (Map.Entry<Blob, Map<Integer, Integer>> e : byBlob.entrySet()) {
            Blob blob = e.getKey();
            long gen = blob.generation();
            try {
                blob.channel().force(false);
                if (gen == blob.generation()) {
                    idx.putBlocks(blob.hash(), e.getValue());
                }
                // Durable now: processes waiting on our claims find the blocks in the index.
                for (int block : e.getValue().keySet()) {
                    idx.releaseClaim(blob.hash(), block, owner);
                }
            } catch (IOException ex) {
                LOG.error("cannot sync blob {}: {}; its new blocks stay unrecorded and will be fetched again after a restart",
                        blob.hash(), ex.toString());
            }
        }
    }

    /** Syncs and records whatever is pending now (verification, shutdown). */
    void flushNow() {
        List<Written> batch = new ArrayList<>();
        toSync.drainTo(batch);
        sync(batch);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        // No interrupts: they would close the blob files' channels under the threads using them.
        verifier.shutdown();
        try {
            syncer.join(10_000);
            verifier.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        flushNow();
        for (CompletableFuture<Blob> f : blobs.values()) {
            Blob b = f.getNow(null);
            if (b != null) {
                try {
                    b.channel().close();
                } catch (IOException e) {
                    LOG.debug("closing {}: {}", b, e.toString());
                }
            }
        }
        index.thenAccept(BlockIndex::close);
    }
}
