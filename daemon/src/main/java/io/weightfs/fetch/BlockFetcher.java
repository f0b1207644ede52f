package io.weightfs.fetch;

import io.weightfs.hub.RangeSink;
import io.weightfs.manifest.ContentHash;
import io.weightfs.source.RepoFile;
import io.weightfs.source.Source;
import io.weightfs.store.Blob;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fetches blocks into the store, and decides what goes first.
 *
 * <h2>Policy</h2>
 * A read that waits must never wait for background work. Three things make that so:
 * <ol>
 *   <li><b>One queue, three classes</b> ({@link FetchQueue}): FOREGROUND (a read is waiting) over
 *       READAHEAD (a stream's predicted next blocks) over PREFETCH (the background fill).</li>
 *   <li><b>Reserved connections.</b> {@code reserved} workers take only FOREGROUND and READAHEAD
 *       work, so a read finds a free connection even when the fill holds every other one.</li>
 *   <li><b>Pausing the fill.</b> While any read waits, PREFETCH downloads stop reading their sockets
 *       between chunks ({@link ForegroundGate}); TCP flow control then stops the sender, and the
 *       link's bandwidth goes to the read instead of being shared nine ways. A pause lasts at most
 *       {@link ForegroundGate#MAX_PAUSE_MILLIS} per chunk, so the fill always moves.</li>
 * </ol>
 * A block queued as PREFETCH that a read needs is promoted, not fetched again (single-flight: one
 * fetch per block in this process, every asker gets the same future). The number of background
 * connections adapts to what the source delivers ({@link ConcurrencyTuner}).
 *
 * <p>With {@link Scheduling#FIFO} all three are off (one FIFO queue, no reserved connections,
 * no pausing): the benchmark's "priorities off" baseline.
 *
 * <h2>Threads</h2>
 * {@code connections + reserved} platform workers, owned by this object from construction to
 * {@link #close()}, never interrupted (an interrupt during FileChannel I/O would close the blob's
 * channel for every reader). Futures complete on the workers, outside any lock.
 */
public final class BlockFetcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BlockFetcher.class);
    /** Workers look at the closed flag this often when idle. */
    private static final long IDLE_POLL_MILLIS = 100;
    /** The tuner's measuring period: long enough to average a few blocks per connection. */
    private static final long TUNE_PERIOD_MILLIS = 2000;

    /** Who is waiting: a read (FOREGROUND), a predicted read (READAHEAD), nobody yet (PREFETCH). */
    public enum Priority { FOREGROUND, READAHEAD, PREFETCH }

    /** PRIORITY: classes, reserved connections, the fill pausing for reads. FIFO: none of it. */
    public enum Scheduling { PRIORITY, FIFO }

    /**
     * Fetcher settings.
     *
     * @param connections workers for any class (the background fill's ceiling)
     * @param minConnections where the tuner starts (== connections: no tuning)
     * @param reserved extra workers for FOREGROUND and READAHEAD only
     * @param mode PRIORITY, or FIFO to turn every priority mechanism off
     */
    public record Options(int connections, int minConnections, int reserved, Scheduling mode) {
        public Options {
            if (connections < 1 || minConnections < 1 || minConnections > connections || reserved < 0) {
                throw new IllegalArgumentException("bad fetcher options: " + connections + "/" + minConnections + "/" + reserved);
            }
        }

        /**
         * The defaults for {@code n} connections: the tuner starts at half, and a quarter more
         * (at least one) are kept for reads.
         */
        public static Options of(int n, boolean priorities) {
            if (!priorities) {
                return new Options(n, n, 0, Scheduling.FIFO);
            }
            return new Options(n, Math.max(1, n / 2), Math.max(1, n / 4), Scheduling.PRIORITY);
        }

        public static Options fixed(int n) {
            return new Options(n, n, Math.max(1, n / 4), Scheduling.PRIORITY);
        }
    }

    private final Source source;
    private final Options options;
    private final FetchQueue<InFlight> queue;
    private final ConcurrentHashMap<BlockId, InFlight> inFlight = new ConcurrentHashMap<>();
    private final ForegroundGate gate = new ForegroundGate();
    private final ConcurrencyTuner tuner;
    private final AtomicLong bytesFetched = new AtomicLong();
    private final AtomicLong[] bytesByClass = {new AtomicLong(), new AtomicLong(), new AtomicLong()};
    private final AtomicLong blocksFetched = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final AtomicLong fetchedByOthers = new AtomicLong();
    private final AtomicLong othersTookOver = new AtomicLong();
    /** How often a worker looks whether another process's download of its block has landed. */
    private static final long CLAIM_POLL_MILLIS = 20;
    /** Claims are refreshed about once a second while bytes arrive (stale after 30 s). */
    private static final long CLAIM_REFRESH_NANOS = 1_000_000_000L;
    private final List<Thread> workers = new ArrayList<>();
    private volatile boolean closed;

    private record BlockId(ContentHash hash, int block) {}

    /** One block being fetched, whoever asked for it. */
    private static final class InFlight {
        final RepoFile file;
        final Blob blob;
        final int block;
        final CompletableFuture<Void> done = new CompletableFuture<>();
        final AtomicBoolean claimed = new AtomicBoolean();
        volatile Priority priority;

        InFlight(RepoFile file, Blob blob, int block, Priority priority) {
            this.file = file;
            this.blob = blob;
            this.block = block;
            this.priority = priority;
        }
    }

    public BlockFetcher(Source source, int connections) {
        this(source, Options.fixed(connections), Clock.systemUTC());
    }

    public BlockFetcher(Source source, Options options, Clock clock) {
        this.source = source;
        this.options = options;
        this.queue = new FetchQueue<>(options.mode());
        this.tuner = new ConcurrencyTuner(options.minConnections(), options.connections(), TUNE_PERIOD_MILLIS, clock);
        ThreadFactory f = Thread.ofPlatform().daemon(true).name("weightfs-fetch-", 0).factory();
        for (int i = 0; i < options.connections(); i++) {
            int index = i;
            workers.add(f.newThread(() -> workLoop(index, Priority.PREFETCH)));
        }
        for (int i = 0; i < options.reserved(); i++) {
            workers.add(f.newThread(() -> workLoop(-1, Priority.READAHEAD)));
        }
        workers.forEach(Thread::start);
    }

    public Options options() {
        return options;
    }

    /**
     * Asks for a block. Completes at once if the block is present; otherwise when it has been
     * written (servable) or failed.
     */
    public CompletableFuture<Void> demand(RepoFile file, Blob blob, int block, Priority priority) {
        if (blob.isPresentAnywhere(block)) {
            return CompletableFuture.completedFuture(null);
        }
        if (closed) {
            return CompletableFuture.failedFuture(new IOException("weightfs is shutting down"));
        }
        BlockId id = new BlockId(blob.hash(), block);
        InFlight fresh = new InFlight(file, blob, block, priority);
        InFlight existing = inFlight.putIfAbsent(id, fresh);
        if (existing == null) {
            queue.add(fresh, priority);
            return fresh.done;
        }
        if (priority.compareTo(existing.priority) < 0) {
            existing.priority = priority;
            if (!existing.claimed.get()) {
                // A second entry at the higher class; whichever a worker takes first claims the fetch.
                queue.add(existing, priority);
            }
        }
        return existing.done;
    }

    /**
     * Whether a read may fetch this block's bytes itself instead of waiting for the block: nobody
     * is downloading it, and nobody but the background fill has asked for it. A block a stream's
     * readahead or another read asked for is coming soon; fetching its bytes twice would only
     * take bandwidth from it.
     */
    public boolean onlyPrefetchWants(Blob blob, int block) {
        InFlight w = inFlight.get(new BlockId(blob.hash(), block));
        return w == null || (!w.claimed.get() && w.priority == Priority.PREFETCH);
    }

    /** Whether a worker is already downloading this block (as opposed to queued, or not asked for). */
    public boolean isStarted(Blob blob, int block) {
        InFlight w = inFlight.get(new BlockId(blob.hash(), block));
        return w != null && w.claimed.get();
    }

    /**
     * Marks a read as waiting for the duration of the returned handle: background downloads pause
     * between chunks until every waiting read is done (priority mode only).
     */
    public ForegroundGate.Waiting foregroundWaiting() {
        return options.mode() == Scheduling.PRIORITY ? gate.enter() : ForegroundGate.Waiting.NONE;
    }

    /** Reads a range straight from the source into {@code dst}, bypassing the store (for a waiting read). */
    public int readThrough(RepoFile file, long offset, ByteBuffer dst) throws IOException {
        int start = dst.position();
        int length = dst.remaining();
        source.read(file, offset, length, (pos, bytes) -> dst.put(bytes));
        bytesByClass[Priority.FOREGROUND.ordinal()].addAndGet(length);
        return dst.position() - start;
    }

    /** Blocks queued or in flight. */
    public int pending() {
        return inFlight.size();
    }

    public long bytesFetched() {
        return bytesFetched.get();
    }

    /** Bytes fetched by class: FOREGROUND (including read-through), READAHEAD, PREFETCH. */
    public long bytesFetched(Priority p) {
        return bytesByClass[p.ordinal()].get();
    }

    public long blocksFetched() {
        return blocksFetched.get();
    }

    public long failures() {
        return failures.get();
    }

    /** The background connections the tuner allows now. */
    public int connectionLimit() {
        return tuner.limit();
    }

    /**
     * @param index the worker's place among the general workers (-1 for a reserved worker)
     * @param lowest the lowest class it may take
     */
    private void workLoop(int index, Priority lowest) {
        while (!closed) {
            InFlight w;
            try {
                if (index >= 0 && index >= tuner.limit()) {
                    // Above the tuner's limit: only work a read is waiting for.
                    w = queue.take(Priority.READAHEAD, IDLE_POLL_MILLIS);
                } else {
                    w = queue.take(lowest, IDLE_POLL_MILLIS);
                }
            } catch (InterruptedException e) {
                return;
            }
            if (w == null || !w.claimed.compareAndSet(false, true)) {
                continue; // idle, or a duplicate entry of a promoted block
            }
            BlockId id = new BlockId(w.blob.hash(), w.block);
            try {
                if (!w.blob.isPresentAnywhere(w.block) && claimOrWait(w)) {
                    fetch(w);
                }
                inFlight.remove(id, w);
                w.done.complete(null);
            } catch (IOException | RuntimeException e) {
                w.blob.releaseClaim(w.block);
                inFlight.remove(id, w);
                if (!closed && !(e instanceof io.weightfs.store.NoSpaceException)) {
                    failures.incrementAndGet();
                    LOG.warn("fetching block {} of {} failed: {}", w.block, w.file.describe(), e.getMessage());
                }
                w.done.completeExceptionally(e);
            }
        }
    }

    /**
     * Claims the block across the node's processes. If another process is fetching it, waits for
     * it to land in the index (returns false: nothing to fetch) or for its claim to go stale (then
     * claims it and returns true). One download per block per node, not per daemon.
     */
    private boolean claimOrWait(InFlight w) throws IOException {
        boolean waited = false;
        while (!closed) {
            if (w.blob.claimFetch(w.block)) {
                // The claim may be free because its holder just finished: look again before downloading.
                if (w.blob.isPresentAnywhere(w.block)) {
                    w.blob.releaseClaim(w.block);
                    if (waited) {
                        fetchedByOthers.incrementAndGet();
                    }
                    return false;
                }
                if (waited) {
                    othersTookOver.incrementAndGet();
                }
                return true;
            }
            waited = true;
            if (w.blob.isPresentAnywhere(w.block)) {
                fetchedByOthers.incrementAndGet();
                return false;
            }
            try {
                Thread.sleep(CLAIM_POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted waiting for another process's download");
            }
        }
        throw new IOException("weightfs is shutting down");
    }

    /** Blocks another process on the node fetched while this one waited for them. */
    public long blocksFetchedByOthers() {
        return fetchedByOthers.get();
    }

    private void fetch(InFlight w) throws IOException {
        if (!w.blob.cacheable()) {
            throw new io.weightfs.store.NoSpaceException("the node store is below its free-space floor");
        }
        Blob.BlockWriter writer = w.blob.openBlock(w.block);
        long offset = w.blob.blockOffset(w.block);
        int length = w.blob.blockLength(w.block);
        long[] lastRefresh = {System.nanoTime()};
        RangeSink sink = (pos, bytes) -> {
            long now = System.nanoTime();
            if (now - lastRefresh[0] > CLAIM_REFRESH_NANOS) {
                w.blob.refreshClaim(w.block);
                lastRefresh[0] = now;
            }
            if (w.priority == Priority.PREFETCH) {
                // Background work yields to waiting reads; a promoted block does not.
                gate.pauseWhileWaiting(() -> w.priority != Priority.PREFETCH || closed);
            }
            int n = bytes.remaining();
            writer.write(pos, bytes);
            tuner.delivered(n);
        };
        source.read(w.file, offset, length, sink);
        writer.commit();
        bytesFetched.addAndGet(length);
        bytesByClass[w.priority.ordinal()].addAndGet(length);
        blocksFetched.incrementAndGet();
    }

    /**
     * Stops taking work and fails every pending demand at once. A worker in the middle of a
     * download finishes it (bounded by the source's timeouts) and then exits; it is a daemon
     * thread, so it never holds the process up.
     */
    @Override
    public void close() {
        closed = true;
        gate.release();
        IOException stopping = new IOException("weightfs is shutting down");
        for (InFlight w : inFlight.values()) {
            w.done.completeExceptionally(stopping);
        }
        for (Thread t : workers) {
            try {
                t.join(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
