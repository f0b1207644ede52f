package io.weightfs.store;

import io.weightfs.manifest.ContentHash;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A block store: the registry of open {@link Blob}s, where their files live, and the services they
 * share (the {@link Syncer}, the verifier threads, the free-space guard, eviction, listeners). See
 * the package comment for the layout and the durability rules.
 *
 * <p>Two layouts: the node store ({@link #open}: {@code blobs/<algo>/<xx>/<hash>} plus
 * {@code .state}), and a staging store for {@code weightfs fetch} ({@link #staging}), whose blobs are
 * the destination's temporary files, so an eager download resumes inside a file after a crash the
 * same way a mount does.
 *
 * <p><b>Threads.</b> Opening is instant (no index to load). The syncer thread batches durability;
 * a verifier pool (one thread per core) hashes what writers could not hash as it passed. Listeners
 * are called on those threads, never under a lock.
 */
public final class BlockStore implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BlockStore.class);
    static final String STATE_SUFFIX = ".state";
    /**
     * A fetch claim not refreshed for this long belongs to a process that died or hangs; another
     * takes over. Downloads refresh their claim about once a second while bytes arrive.
     */
    static final long CLAIM_STALE_SECONDS = 30;
    /** The free space is looked at no more than once a second: statvfs is cheap, but not free. */
    private static final long FREE_CHECK_NANOS = 1_000_000_000L;
    /** After a write failed for lack of space, no block is cached for this long, then writes are tried again. */
    private static final long FULL_BACKOFF_NANOS = 5_000_000_000L;

    /** Where a blob's two files live. */
    public interface Layout {
        Path data(ContentHash hash);

        default Path state(ContentHash hash) {
            Path d = data(hash);
            return d.resolveSibling(d.getFileName() + STATE_SUFFIX);
        }
    }

    /** Told when a blob's whole-content check has finished. */
    public interface BlobListener {
        /** The content hashed right and every block is durable. */
        void blobVerified(Blob blob);

        /** The content did not hash right; every block was dropped and must be fetched again. */
        void blobCorrupt(Blob blob, ContentHash actual);
    }

    private final Path dir;
    private final StoreOptions options;
    private final Layout layout;
    private final Clock clock;
    private final ConcurrentHashMap<ContentHash, CompletableFuture<Blob>> blobs = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<ContentHash, Object> lifecycle = new ConcurrentHashMap<>();
    private final Syncer syncer;
    private final ExecutorService verifier;
    private final List<BlobListener> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final AtomicLong hashMismatches = new AtomicLong();
    private final AtomicLong crcMismatches = new AtomicLong();
    private final AtomicLong hotHashedBytes = new AtomicLong();
    private final AtomicLong caughtUpBytes = new AtomicLong();
    private final AtomicLong lowSpaceRefusals = new AtomicLong();
    private final AtomicLong evictedBlobs = new AtomicLong();
    /** When this process last read each blob (for least-recently-used eviction). */
    private final ConcurrentHashMap<ContentHash, Long> lastUse = new ConcurrentHashMap<>();
    /** Free bytes on the store's filesystem; injectable so tests can run out of space on demand. */
    private volatile LongSupplier freeSpace = this::usableSpace;
    private volatile long freeCheckedAtNanos;
    private volatile boolean low;
    private final AtomicBoolean lowLogged = new AtomicBoolean();
    /** When a write last failed for lack of space (0: never), and what the filesystem said. */
    private volatile long fullSinceNanos;
    /** When the current lack of space was first seen by {@link #spaceProblemMillis} (0: none). */
    private volatile long problemSinceNanos;
    private volatile String fullReason;
    private final AtomicBoolean fullLogged = new AtomicBoolean();
    private volatile boolean closed;
    private final Owners owners;

    private BlockStore(Path dir, StoreOptions options, Layout layout, Clock clock, Owners owners) {
        this.dir = dir;
        this.options = options;
        this.layout = layout;
        this.clock = clock;
        this.owners = owners;
        this.syncer = new Syncer(options.syncIntervalMillis());
        this.verifier = Executors.newFixedThreadPool(Math.max(1, Runtime.getRuntime().availableProcessors()),
                Thread.ofPlatform().daemon(true).name("weightfs-verify-", 0).factory());
    }

    /** Opens the node store in {@code dir}. Instant: each blob's state is mapped when the blob is first used. */
    public static BlockStore open(Path dir, StoreOptions options) throws IOException {
        return open(dir, options, Clock.systemUTC());
    }

    public static BlockStore open(Path dir, StoreOptions options, Clock clock) throws IOException {
        Path blobs = dir.resolve("blobs");
        Files.createDirectories(blobs);
        return new BlockStore(dir, options, h -> blobs.resolve(h.algorithm().label()).resolve(h.hex().substring(0, 2)).resolve(h.hex()),
                clock, Owners.register(dir.resolve("owners")));
    }

    /**
     * A store whose blobs live where {@code layout} says (the temporary files of an eager
     * download); {@code dir} is only named in messages.
     */
    public static BlockStore staging(Path dir, StoreOptions options, Layout layout) {
        return new BlockStore(dir, options, layout, Clock.systemUTC(), Owners.NONE);
    }

    public Path dir() {
        return dir;
    }

    public StoreOptions options() {
        return options;
    }

    public void addListener(BlobListener l) {
        listeners.add(l);
    }

    public void removeListener(BlobListener l) {
        listeners.remove(l);
    }

    public long hashMismatches() {
        return hashMismatches.get();
    }

    public long crcMismatches() {
        return crcMismatches.get();
    }

    /** Bytes the digests took from writers' buffers as they passed. */
    public long hotHashedBytes() {
        return hotHashedBytes.get();
    }

    /** Bytes the digests had to read back from blob files (written ahead of the hashed prefix, or by others). */
    public long caughtUpBytes() {
        return caughtUpBytes.get();
    }

    public long lowSpaceRefusals() {
        return lowSpaceRefusals.get();
    }

    public long evictedBlobs() {
        return evictedBlobs.get();
    }

    /** How long the store has been unable to cache for lack of space (0: it can cache). */
    public long spaceProblemMillis() {
        long since = problemSinceNanos;
        if (spaceProblem() == null) {
            return 0;
        }
        if (since == 0) {
            problemSinceNanos = System.nanoTime();
            return 0;
        }
        return (System.nanoTime() - since) / 1_000_000;
    }

    /**
     * Why the store cannot cache now ("store full: ..."), or null when it can. A full store stays
     * full, for this answer, until a block is written again: the tries in between (every few
     * seconds) do not make it look fine.
     */
    public String spaceProblem() {
        if (fullSinceNanos != 0) {
            return "store full: " + fullReason;
        }
        if (low) {
            return "store below its free-space floor (" + options.minFreeBytes() + " bytes)";
        }
        problemSinceNanos = 0;
        return null;
    }

    /** A block was written whole: whatever lack of space there was is over. */
    void blockCommitted() {
        if (fullSinceNanos != 0) {
            fullSinceNanos = 0;
            problemSinceNanos = 0;
            fullLogged.set(false);
            LOG.info("the node store {} has room again", dir);
        }
    }

    /** Notes a read of a blob, for least-recently-used eviction. */
    public void noteUse(ContentHash hash) {
        lastUse.put(hash, clock.millis());
    }

    /** Replaces how free space is measured (tests). */
    public void setFreeSpaceProbe(LongSupplier probe) {
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
     * Whether new blocks may be cached: not below the free-space floor, and not for a few seconds
     * after a write failed for lack of space. A refusal is counted; the first is logged.
     */
    public boolean mayCache() {
        long now = System.nanoTime();
        if (fullSinceNanos != 0 && now - fullSinceNanos < FULL_BACKOFF_NANOS) {
            lowSpaceRefusals.incrementAndGet();
            return false;
        }
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
        if (low) {
            lowSpaceRefusals.incrementAndGet();
        }
        return !low;
    }

    /** A write failed because the filesystem is full: stop caching for a while, say so once. */
    void noteFull(IOException e) {
        fullReason = e.getMessage();
        fullSinceNanos = System.nanoTime();
        if (problemSinceNanos == 0) {
            problemSinceNanos = fullSinceNanos;
        }
        if (fullLogged.compareAndSet(false, true)) {
            LOG.warn("the node store {} is full ({}): new blocks are not cached, reads go straight to the source;"
                    + " free space or set --store-max-size", dir, e.getMessage());
        }
    }

    /** Whether an I/O error means the filesystem is full. */
    public static boolean isNoSpace(IOException e) {
        String m = e.getMessage();
        return m != null && (m.contains("No space left on device") || m.contains("Disk quota exceeded"));
    }

    /** What an eviction pass did. */
    public record Eviction(long bytesBefore, long bytesAfter, List<ContentHash> evicted) {}

    /**
     * Evicts least recently used verified blobs, none of {@code inUse}, until the blob files hold at
     * most {@code maxBytes}. A blob's last use is this process's last read of it, else its file's
     * modification time. An evicted blob is marked retired in its state (other processes open it
     * again), then its data file and its state file are removed; a process that still has them open
     * keeps reading the bytes it had.
     */
    public Eviction evict(long maxBytes, Set<ContentHash> inUse) throws IOException {
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
                    long size;
                    try {
                        size = Files.size(f);
                    } catch (NoSuchFileException gone) {
                        continue;
                    }
                    total += size;
                    if (!inUse.contains(h) && BlobState.peekVerified(layout.state(h))) {
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
            BlobState.retireFile(layout.state(c.hash()));
            CompletableFuture<Blob> open = blobs.remove(c.hash());
            Blob b = open == null ? null : open.getNow(null);
            if (b != null) {
                b.retire();
            }
            Files.deleteIfExists(layout.state(c.hash()));
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

    /** Where a blob's data file lives. */
    public Path blobPath(ContentHash hash) {
        return layout.data(hash);
    }

    /**
     * The blob of a hash, opened on first use (its data file created sparse at its final size, its
     * state file mapped). One {@link Blob} per hash per store; a retired one is opened again.
     */
    public Blob blob(ContentHash hash, long size) throws IOException {
        while (true) {
            CompletableFuture<Blob> mine = new CompletableFuture<>();
            CompletableFuture<Blob> existing = blobs.putIfAbsent(hash, mine);
            if (existing == null) {
                try {
                    Blob b = openBlob(hash, size);
                    mine.complete(b);
                    b.verifyIfComplete();
                    return b;
                } catch (IOException | RuntimeException e) {
                    blobs.remove(hash, mine);
                    mine.completeExceptionally(e);
                    throw e;
                }
            }
            Blob b = join(existing, "blob " + hash);
            if (b.isRetired()) {
                blobs.remove(hash, existing);
                continue;
            }
            if (b.size() != size) {
                throw new IOException("blob " + hash + " is known with size " + b.size() + ", asked for with size " + size
                        + ": two manifests disagree about the same content hash");
            }
            return b;
        }
    }

    /** The blob of a hash if this store has opened it (for progress reports); never opens one. */
    public java.util.Optional<Blob> openedBlob(ContentHash hash) {
        CompletableFuture<Blob> f = blobs.get(hash);
        return f == null ? java.util.Optional.empty() : java.util.Optional.ofNullable(f.getNow(null));
    }

    private Blob openBlob(ContentHash hash, long size) throws IOException {
        synchronized (lifecycleLock(hash)) {
            try {
                return openBlobLocked(hash, size);
            } catch (IOException e) {
                if (isNoSpace(e)) {
                    noteFull(e);
                    throw new NoSpaceException("the node store's filesystem is full (" + e.getMessage() + ")");
                }
                throw e;
            }
        }
    }

    private Blob openBlobLocked(ContentHash hash, long size) throws IOException {
        if (closed) {
            throw new IOException("the block store " + dir + " is closed");
        }
        Path data = layout.data(hash);
        Path statePath = layout.state(hash);
        Files.createDirectories(data.getParent());
        int blockSize = options.blockSize();
        BlobState state;
        try {
            state = BlobState.openOrCreate(statePath, size, blockSize);
            if (state.retired()) {
                state = BlobState.replace(statePath, size, blockSize);
            }
        } catch (BlobState.MismatchException e) {
            LOG.info("starting blob {} afresh: {}", hash, e.getMessage());
            state = BlobState.replace(statePath, size, blockSize);
        }
        boolean dataOk = Files.exists(data) && Files.size(data) == size;
        if (!dataOk) {
            if (Files.exists(data) || state.verified() || anyProgress(state)) {
                // The file vanished or changed size under its state: nothing recorded can be trusted.
                LOG.warn("blob file {} is missing or has the wrong size; forgetting its blocks", data);
                state = BlobState.replace(statePath, size, blockSize);
            }
            try (RandomAccessFile raf = new RandomAccessFile(data.toFile(), "rw")) {
                raf.setLength(size);
            }
        }
        FileChannel ch = FileChannel.open(data, StandardOpenOption.READ, StandardOpenOption.WRITE);
        return new Blob(this, hash, size, blockSize, ch, state);
    }

    private static boolean anyProgress(BlobState s) {
        for (int b = 0; b < s.blockCount(); b++) {
            if (s.durableBytes(b) > 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * Closes a blob and removes its state file, leaving the data file (the eager download moves it
     * into place once verified).
     */
    public void release(Blob blob) throws IOException {
        blobs.remove(blob.hash());
        blob.retire();
        blob.channel().close();
        Files.deleteIfExists(layout.state(blob.hash()));
    }

    private static <T> T join(CompletableFuture<T> f, String what) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted waiting for " + what);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw new IOException("cannot open " + what + ": " + io.getMessage(), io);
            }
            throw new IOException("cannot open " + what + ": " + c, c);
        }
    }

    // --- called by Blob ------------------------------------------------------------------------

    Syncer syncer() {
        return syncer;
    }

    /** Runs catch-up hashing on the verifier threads; after close, nothing more is verified. */
    void verifyLater(Runnable task) {
        try {
            verifier.execute(task);
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            LOG.debug("store closing: not verifying now");
        }
    }

    Owners owners() {
        return owners;
    }

    long nowSeconds() {
        return clock.millis() / 1000;
    }

    void blockCorrupt(Blob blob, int block, int expected, int actual) {
        crcMismatches.incrementAndGet();
        LOG.warn("block {} of {} failed its CRC check (expected {}, found {}): dropped, it will be fetched again",
                block, blob.hash(), Integer.toHexString(expected), Integer.toHexString(actual));
    }

    void blobHashed(Blob blob, BlobDigest d) {
        hotHashedBytes.addAndGet(d.hotBytes());
        caughtUpBytes.addAndGet(d.caughtUpBytes());
        LOG.debug("hashed {}: {} bytes as they were written, {} read back", blob.hash(), d.hotBytes(), d.caughtUpBytes());
    }

    void blobVerified(Blob blob) {
        LOG.debug("verified {}", blob.hash());
        listeners.forEach(l -> l.blobVerified(blob));
    }

    void blobCorrupt(Blob blob, ContentHash actual) {
        LOG.warn("blob {} hashed to {}: the content received was wrong; discarding it to fetch again", blob.hash(), actual);
        try {
            discard(blob);
        } catch (IOException e) {
            LOG.error("cannot discard the wrong content of {}: {}", blob.hash(), e.toString());
        }
        listeners.forEach(l -> l.blobCorrupt(blob, actual));
        // Counted once handled: whoever sees the count sees the discard's consequences too.
        hashMismatches.incrementAndGet();
    }

    void verificationFailed(Blob blob, Exception e) {
        LOG.error("cannot verify blob {}: {}", blob.hash(), e.toString());
    }

    /**
     * Drops a blob whose content was wrong: nothing of it is served again, in this process or any
     * other. It is retired (its state says so to every process that maps it, its object here
     * forgets everything) and its two files are removed, so the next use makes fresh ones: writers
     * or syncs still busy with the old content write into files that are gone, never into the new.
     */
    public void discard(Blob blob) throws IOException {
        ContentHash h = blob.hash();
        synchronized (lifecycleLock(h)) {
            blob.state().clearProgress();
            blob.state().clearFlag(BlobState.VERIFIED);
            blob.state().setFlag(BlobState.RETIRED);
            blob.retireDiscarded();
            Files.deleteIfExists(layout.state(h));
            Files.deleteIfExists(layout.data(h));
            CompletableFuture<Blob> f = blobs.get(h);
            if (f != null && f.getNow(null) == blob) {
                blobs.remove(h, f);
            }
        }
    }

    /**
     * Serialises the creation and removal of one blob's files in this process (an open racing a
     * discard must not map the files being removed). Held only around those file operations, never
     * by a read or a write of bytes.
     */
    private Object lifecycleLock(ContentHash h) {
        return lifecycle.computeIfAbsent(h, k -> new Object());
    }

    /** Makes every byte written so far durable and recorded (shutdown, tests). */
    public void flush() {
        syncer.flush();
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
            verifier.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        syncer.close();
        owners.close();
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
    }
}
