package io.weightfs.fetch;

import io.weightfs.hub.ByteStream;
import io.weightfs.hub.Deadline;
import io.weightfs.manifest.ContentHash;
import io.weightfs.source.CheckedStream;
import io.weightfs.source.RepoFile;
import io.weightfs.source.Source;
import io.weightfs.store.Blob;
import io.weightfs.store.NoSpaceException;
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
 * <h2>The pipeline</h2>
 * A worker takes the most urgent block from the queue, extends it into a <em>run</em> of the
 * blob's following blocks that are asked for and nobody fetches yet (up to
 * {@link Options#maxRunBlocks()}), claims them across the node's processes, and pulls the run from
 * the source as one stream, {@link #READ_BYTES} at a time, into the blob through one
 * {@link Blob.Writer}: one writer per stream, large positional writes, the block CRC and the blob's
 * digest updated from the buffer while it is hot. Between reads the worker, not the source, applies
 * the policy: it refreshes its claims, pauses a background run while a read waits, and stops early
 * when a read cut its run. Readers can use a block's bytes as soon as they are written
 * ({@link #awaitBytes}), not only once the whole block is in.
 *
 * <h2>Policy</h2>
 * A read that waits must never wait for background work:
 * <ol>
 *   <li><b>One queue, three classes</b> ({@link FetchQueue}): FOREGROUND (a read is waiting) over
 *       READAHEAD (a stream's predicted next blocks) over PREFETCH (the background fill).</li>
 *   <li><b>Reserved connections.</b> {@code reserved} workers take only FOREGROUND and READAHEAD
 *       work, so a read finds a free connection even when the fill holds every other one.</li>
 *   <li><b>Pausing the fill.</b> While any read waits, PREFETCH runs stop reading their sockets
 *       between reads ({@link ForegroundGate}); TCP flow control then stops the sender, and the
 *       link carries the read's bytes. A pause lasts at most {@link ForegroundGate#MAX_PAUSE_MILLIS}.</li>
 *   <li><b>Cutting a run.</b> A read that needs a block far ahead in another worker's run takes it
 *       out of the run (the run stops before it), so it is fetched now instead of after the blocks
 *       before it.</li>
 * </ol>
 * A block asked for twice is fetched once (single-flight: one {@link Pending} per block, every asker
 * gets the same future; across processes through the blob's claims). The number of background
 * connections follows what the link delivers ({@link ConcurrencyTuner}).
 *
 * <p>With {@link Scheduling#FIFO} the queue is one FIFO, and there are no reserved connections, no
 * pausing and no cutting: the benchmark's "priorities off" baseline.
 *
 * <h2>Threads</h2>
 * {@code connections + reserved} platform workers, owned by this object from construction to
 * {@link #close()}, never interrupted (an interrupt during FileChannel I/O would close the blob's
 * channel for every reader). Each owns one direct read buffer. Futures complete on the workers,
 * outside any lock; the only locks (a pending block's, a run's) guard a few fields and never I/O.
 */
public final class BlockFetcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BlockFetcher.class);
    /** Workers look at the closed flag this often when idle. */
    private static final long IDLE_POLL_MILLIS = 100;
    /** The tuner's measuring period: long enough to average a few blocks per connection. */
    private static final long TUNE_PERIOD_MILLIS = 2000;
    /**
     * Bytes per read from a source: 1 MiB keeps socket {@code read()} calls at a few thousand per
     * GiB (each returns what the socket buffer holds, up to this) and stays in the CPU's cache for
     * the CRC and digest that follow the write.
     */
    static final int READ_BYTES = 1 << 20;
    /** How often a worker looks whether another process's download of its block has landed. */
    private static final long CLAIM_POLL_MILLIS = 20;
    /** Claims are refreshed about once a second while a run lasts (stale after 30 s). */
    private static final long CLAIM_REFRESH_NANOS = 1_000_000_000L;

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
     * @param maxRunBlocks the most consecutive blocks one request fetches
     */
    public record Options(int connections, int minConnections, int reserved, Scheduling mode, int maxRunBlocks) {
        /**
         * 8 blocks (64 MiB at the default block size): one request's setup is nothing next to its
         * transfer, and a run is short enough that readers far ahead cut it rarely.
         */
        public static final int DEFAULT_MAX_RUN_BLOCKS = 8;

        public Options {
            if (connections < 1 || minConnections < 1 || minConnections > connections || reserved < 0 || maxRunBlocks < 1) {
                throw new IllegalArgumentException("bad fetcher options: " + connections + "/" + minConnections + "/" + reserved + "/" + maxRunBlocks);
            }
        }

        public Options(int connections, int minConnections, int reserved, Scheduling mode) {
            this(connections, minConnections, reserved, mode, DEFAULT_MAX_RUN_BLOCKS);
        }

        /**
         * The defaults for {@code n} connections: the tuner starts at one (on a fast link one stream
         * is already at the CPU's limit; it climbs while more connections deliver more), and a
         * quarter more (at least one) are kept for reads.
         */
        public static Options of(int n, boolean priorities) {
            if (!priorities) {
                return new Options(n, n, 0, Scheduling.FIFO);
            }
            return new Options(n, 1, Math.max(1, n / 4), Scheduling.PRIORITY);
        }

        public static Options fixed(int n) {
            return new Options(n, n, Math.max(1, n / 4), Scheduling.PRIORITY);
        }

        public Options withMaxRunBlocks(int blocks) {
            return new Options(connections, minConnections, reserved, mode, blocks);
        }
    }

    private final Source source;
    private final Options options;
    private final FetchQueue<Pending> queue;
    private final ConcurrentHashMap<BlockId, Pending> inFlight = new ConcurrentHashMap<>();
    private final ForegroundGate gate = new ForegroundGate();
    private final ConcurrencyTuner tuner;
    private final AtomicLong bytesFetched = new AtomicLong();
    private final AtomicLong[] bytesByClass = {new AtomicLong(), new AtomicLong(), new AtomicLong()};
    private final AtomicLong blocksFetched = new AtomicLong();
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final AtomicLong fetchedByOthers = new AtomicLong();
    private final AtomicLong runsCut = new AtomicLong();
    private final List<Thread> workers = new ArrayList<>();
    private volatile java.util.function.LongConsumer delivered = n -> {};
    /** Told each request's time to its first byte, in nanoseconds, with its class (the metrics' latency histogram). */
    private volatile java.util.function.ObjLongConsumer<Priority> firstByte = (p, nanos) -> {};
    private volatile boolean closed;

    private record BlockId(ContentHash hash, int block) {}

    /**
     * One block asked for, queued or being fetched, whoever asked. Readers wait on {@link #done}
     * (the whole block written) or on {@link #until} (its first bytes written).
     */
    static final class Pending {
        final RepoFile file;
        final Blob blob;
        final int block;
        final CompletableFuture<Void> done = new CompletableFuture<>();
        /** A worker owns it (it is part of a run). */
        final AtomicBoolean taken = new AtomicBoolean();
        volatile Priority priority;
        /** The run it is part of while taken. */
        volatile Run run;
        /** Guarded by this: futures waiting for a number of the block's bytes to be written. */
        private final List<Object[]> waiters = new ArrayList<>();
        /** Bytes of the block written so far. Guarded by this for writes. */
        private volatile int progress;

        Pending(RepoFile file, Blob blob, int block, Priority priority) {
            this.file = file;
            this.blob = blob;
            this.block = block;
            this.priority = priority;
        }

        /** Completes once the block's first {@code bytes} are written (or the block is done, or failed). */
        CompletableFuture<Void> until(int bytes) {
            synchronized (this) {
                if (progress >= bytes) {
                    return CompletableFuture.completedFuture(null);
                }
                if (done.isDone()) {
                    return done;
                }
                CompletableFuture<Void> f = new CompletableFuture<>();
                waiters.add(new Object[] {bytes, f});
                return f;
            }
        }

        @SuppressWarnings("unchecked")
        void progressed(int bytes) {
            List<CompletableFuture<Void>> ready = new ArrayList<>();
            synchronized (this) {
                progress = bytes;
                for (java.util.Iterator<Object[]> it = waiters.iterator(); it.hasNext(); ) {
                    Object[] w = it.next();
                    if ((int) w[0] <= bytes) {
                        ready.add((CompletableFuture<Void>) w[1]);
                        it.remove();
                    }
                }
            }
            ready.forEach(f -> f.complete(null));
        }

        @SuppressWarnings("unchecked")
        void finish(Throwable failure) {
            List<CompletableFuture<Void>> all = new ArrayList<>();
            synchronized (this) {
                waiters.forEach(w -> all.add((CompletableFuture<Void>) w[1]));
                waiters.clear();
            }
            if (failure == null) {
                done.complete(null);
                all.forEach(f -> f.complete(null));
            } else {
                done.completeExceptionally(failure);
                all.forEach(f -> f.completeExceptionally(failure));
            }
        }
    }

    /** Consecutive blocks of one blob fetched by one worker through one stream. */
    static final class Run {
        final Blob blob;
        final List<Pending> blocks = new ArrayList<>();
        /** Guarded by this: the block after the last one the run will fetch. */
        int end;
        /** Guarded by this: the worker may write up to (not including) this block with its current read. */
        int reservedTo;

        Run(Blob blob) {
            this.blob = blob;
        }

        /** The most urgent class among the run's blocks. */
        synchronized Priority priority() {
            Priority p = Priority.PREFETCH;
            for (Pending b : blocks) {
                if (b.priority.compareTo(p) < 0) {
                    p = b.priority;
                }
            }
            return p;
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

    /** Tells {@code l} of every chunk of bytes written into the store (for a progress bar). */
    public void onDelivered(java.util.function.LongConsumer l) {
        this.delivered = l;
    }

    public Source source() {
        return source;
    }

    /** Tells {@code observer} how long each request to the source took to deliver its first byte (for metrics). */
    public void onFirstByte(java.util.function.ObjLongConsumer<Priority> observer) {
        this.firstByte = observer;
    }

    /**
     * Asks for a block. Completes at once if the block is present; otherwise when it has been
     * written (servable) or failed.
     */
    public CompletableFuture<Void> demand(RepoFile file, Blob blob, int block, Priority priority) {
        if (blob.isPresent(block)) {
            return CompletableFuture.completedFuture(null);
        }
        Pending p = pending(file, blob, block, priority);
        return p == null ? CompletableFuture.completedFuture(null) : p.done;
    }

    /**
     * Asks for the blocks of {@code [offset, end)} and completes once those bytes are written
     * (servable), which for a block being written can be long before the block is complete.
     */
    public CompletableFuture<Void> awaitBytes(RepoFile file, Blob blob, long offset, long end, Priority priority) {
        List<CompletableFuture<Void>> waits = new ArrayList<>();
        for (int b = blob.blockOf(offset); b <= blob.blockOf(end - 1); b++) {
            long blockStart = blob.blockOffset(b);
            int needed = (int) (Math.min(end, blockStart + blob.blockLength(b)) - blockStart);
            if (blob.isPresent(b) || blob.writtenBytes(b) >= needed) {
                continue;
            }
            Pending p = pending(file, blob, b, priority);
            if (p != null) {
                waits.add(needed == blob.blockLength(b) ? p.done : p.until(needed));
            }
        }
        if (waits.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        return waits.size() == 1 ? waits.get(0) : CompletableFuture.allOf(waits.toArray(CompletableFuture[]::new));
    }

    /** The pending fetch of a block, made (and queued) if there is none; null if the block turned up present. */
    private Pending pending(RepoFile file, Blob blob, int block, Priority priority) {
        if (closed) {
            Pending failed = new Pending(file, blob, block, priority);
            failed.finish(new IOException("weightfs is shutting down"));
            return failed;
        }
        BlockId id = new BlockId(blob.hash(), block);
        Pending fresh = new Pending(file, blob, block, priority);
        Pending existing = inFlight.putIfAbsent(id, fresh);
        if (existing != null && existing.blob != blob && existing.blob.isRetired()) {
            // The blob was discarded and opened afresh: the old fetch fills files that are gone.
            existing = inFlight.replace(id, existing, fresh) ? null : inFlight.get(id);
            if (existing == null) {
                if (blob.isPresent(block)) {
                    inFlight.remove(id, fresh);
                    fresh.finish(null);
                    return null;
                }
                queue.add(fresh, priority);
                return fresh;
            }
        }
        if (existing == null) {
            if (blob.isPresent(block)) {
                inFlight.remove(id, fresh);
                fresh.finish(null);
                return null;
            }
            queue.add(fresh, priority);
            return fresh;
        }
        if (priority.compareTo(existing.priority) < 0) {
            existing.priority = priority;
            if (!existing.taken.get()) {
                // A second entry at the higher class; whichever a worker takes first claims the fetch.
                queue.add(existing, priority);
            } else if (priority == Priority.FOREGROUND && options.mode() == Scheduling.PRIORITY) {
                cut(existing);
            }
        }
        return existing;
    }

    /**
     * A read needs a block that another worker's run will reach only after the blocks before it:
     * the run stops before it, and it (and the rest of the run) is queued again at its own class.
     */
    /**
     * A read cuts a run only at a block at least this many blocks past the one the run's worker is
     * writing: the next block comes soonest from the worker's own stream.
     */
    static final int CUT_MIN_AHEAD = 1;

    private void cut(Pending p) {
        Run run = p.run;
        if (run == null) {
            return;
        }
        List<Pending> freed = new ArrayList<>();
        synchronized (run) {
            if (p.block < run.reservedTo + CUT_MIN_AHEAD || p.block >= run.end) {
                // The worker is at it, past it, or in the block just before it: it comes soonest
                // from there. (A sequential reader's readahead asks for the next block while the
                // run is still writing this one; cutting there sent the bytes already in flight on
                // the run's connection twice and cost a new request per block.)
                return;
            }
            for (Pending q : run.blocks) {
                if (q.block >= p.block) {
                    freed.add(q);
                }
            }
            run.end = p.block;
            run.blocks.removeAll(freed);
        }
        runsCut.incrementAndGet();
        // All free first, then queued: the worker that takes the first can extend its run over the rest.
        for (Pending q : freed) {
            q.run = null;
            q.taken.set(false);
        }
        for (Pending q : freed) {
            queue.add(q, q.priority);
        }
    }

    /**
     * Whether a read may fetch this block's bytes itself instead of waiting for the block: nobody
     * is downloading it, and nobody but the background fill has asked for it.
     */
    public boolean onlyPrefetchWants(Blob blob, int block) {
        Pending w = inFlight.get(new BlockId(blob.hash(), block));
        return w == null || (!w.taken.get() && w.priority == Priority.PREFETCH);
    }

    /**
     * Marks a read as waiting for the duration of the returned handle: background downloads pause
     * between reads until every waiting read is done (priority mode only).
     */
    public ForegroundGate.Waiting foregroundWaiting() {
        return options.mode() == Scheduling.PRIORITY ? gate.enter() : ForegroundGate.Waiting.NONE;
    }

    /** Blocks queued or in flight. */
    public int pending() {
        return inFlight.size();
    }

    public long bytesFetched() {
        return bytesFetched.get();
    }

    /** Bytes fetched into the store by class: FOREGROUND, READAHEAD, PREFETCH. */
    public long bytesFetched(Priority p) {
        return bytesByClass[p.ordinal()].get();
    }

    /** Counts bytes a read fetched for itself, bypassing the store (as FOREGROUND). */
    void countReadThrough(long bytes) {
        bytesByClass[Priority.FOREGROUND.ordinal()].addAndGet(bytes);
    }

    public long blocksFetched() {
        return blocksFetched.get();
    }

    /** Requests sent to the source (one per run). */
    public long requests() {
        return requests.get();
    }

    public long failures() {
        return failures.get();
    }

    /** Runs a read took a block out of, to fetch it sooner. */
    public long runsCut() {
        return runsCut.get();
    }

    /** Blocks another process on the node fetched while this one waited for them. */
    public long blocksFetchedByOthers() {
        return fetchedByOthers.get();
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
        ByteBuffer buf = ByteBuffer.allocateDirect(READ_BYTES);
        while (!closed) {
            Pending p;
            try {
                // Above the tuner's limit a general worker only takes work a read is waiting for.
                p = queue.take(index >= 0 && index >= tuner.limit() ? Priority.READAHEAD : lowest, IDLE_POLL_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
            if (p == null || p.done.isDone() || !p.taken.compareAndSet(false, true)) {
                continue; // idle, done already, or a duplicate entry of a promoted block
            }
            Run run = null;
            try {
                if (p.blob.isPresent(p.block) || !claimOrWait(p)) {
                    complete(p, false);
                    continue;
                }
                run = buildRun(p);
                fetch(run, buf);
            } catch (IOException | RuntimeException e) {
                List<Pending> unfinished = run == null ? List.of(p) : unfinished(run);
                for (Pending q : unfinished) {
                    q.blob.releaseClaim(q.block);
                    inFlight.remove(new BlockId(q.blob.hash(), q.block), q);
                    q.finish(e);
                }
                if (!closed && !(e instanceof NoSpaceException)) {
                    failures.incrementAndGet();
                    LOG.warn("fetching block {} of {} failed: {}", p.block, p.file.describe(), e.getMessage());
                }
            }
        }
    }

    private static List<Pending> unfinished(Run run) {
        synchronized (run) {
            return run.blocks.stream().filter(q -> !q.done.isDone()).toList();
        }
    }

    /** The block and the following ones asked for that nobody else fetches, up to the run limit. */
    private Run buildRun(Pending first) {
        Run run = new Run(first.blob);
        first.run = run;
        run.blocks.add(first);
        int end = first.block + 1;
        Blob blob = first.blob;
        while (end < blob.blockCount() && end - first.block < options.maxRunBlocks()) {
            Pending q = inFlight.get(new BlockId(blob.hash(), end));
            if (q == null || q.blob != blob || q.done.isDone() || !q.taken.compareAndSet(false, true)) {
                break;
            }
            // A block an earlier process got part-way into starts a run of its own, which resumes
            // inside it instead of fetching its first bytes again.
            if (blob.isPresent(end) || blob.durableBytes(end) > 0 || !blob.claimFetch(end)) {
                q.taken.set(false);
                break;
            }
            q.run = run;
            run.blocks.add(q);
            end++;
        }
        synchronized (run) {
            run.end = end;
            // The first block is this worker's from now on: a read can cut the run only after it.
            run.reservedTo = first.block + 1;
        }
        return run;
    }

    /**
     * Claims the block across the node's processes. If another process is fetching it, waits for
     * it to become present (returns false: nothing to fetch) or for its claim to go stale (then
     * claims it and returns true). One download per block per node, not per daemon.
     */
    private boolean claimOrWait(Pending w) throws IOException {
        boolean waited = false;
        while (!closed) {
            if (w.blob.claimFetch(w.block)) {
                // The claim may be free because its holder just finished: look again before downloading.
                if (w.blob.isPresent(w.block)) {
                    w.blob.releaseClaim(w.block);
                    if (waited) {
                        fetchedByOthers.incrementAndGet();
                    }
                    return false;
                }
                return true;
            }
            waited = true;
            if (w.blob.isPresent(w.block)) {
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

    /** Pulls one run from the source into its blob. */
    private void fetch(Run run, ByteBuffer buf) throws IOException {
        Blob blob = run.blob;
        Pending first = run.blocks.get(0);
        if (!blob.mayCache()) {
            throw new NoSpaceException("the node store has no room for new blocks");
        }
        Blob.Writer writer = blob.openWriter(first.block);
        long endByte;
        synchronized (run) {
            endByte = Math.min(blob.size(), blob.blockOffset(run.end));
        }
        long start = writer.position();
        requests.incrementAndGet();
        long lastRefresh = System.nanoTime();
        // Time to the first byte: the open and the reads until one delivers, not the gate's pauses between them.
        boolean waitingForFirstByte = true;
        try (ByteStream stream = source.open(first.file, start, endByte - start, Deadline.NONE)) {
            long firstByteNanos = System.nanoTime() - lastRefresh;
            while (!closed) {
                long now = System.nanoTime();
                if (now - lastRefresh > CLAIM_REFRESH_NANOS) {
                    refreshClaims(run);
                    lastRefresh = now;
                }
                if (options.mode() == Scheduling.PRIORITY && run.priority() == Priority.PREFETCH) {
                    // Background work yields to waiting reads; a run a read is waiting for does not.
                    gate.pauseWhileWaiting(() -> run.priority() != Priority.PREFETCH || closed);
                }
                long limit;
                synchronized (run) {
                    limit = Math.min(blob.size(), blob.blockOffset(run.end));
                    if (writer.position() >= limit) {
                        break; // done, or a read cut the run here
                    }
                    // One read never crosses a block's end, so a read can cut the run at any later block.
                    int current = writer.block();
                    limit = Math.min(limit, blob.blockOffset(current) + blob.blockLength(current));
                    run.reservedTo = current + 1;
                }
                buf.clear();
                buf.limit((int) Math.min(buf.capacity(), limit - writer.position()));
                long readStart = System.nanoTime();
                int n = stream.read(buf);
                if (waitingForFirstByte && n > 0) {
                    waitingForFirstByte = false;
                    firstByte.accept(run.priority(), firstByteNanos + System.nanoTime() - readStart);
                } else if (waitingForFirstByte) {
                    firstByteNanos += System.nanoTime() - readStart;
                }
                if (n < 0) {
                    throw new IOException("the source ended the range of " + first.file.describe() + " at byte " + writer.position());
                }
                if (n == 0) {
                    continue;
                }
                buf.flip();
                int block = writer.block();
                int completed = writer.write(buf);
                tuner.delivered(n);
                delivered.accept(n);
                boolean checked = stream instanceof CheckedStream c && c.deliveredChecked();
                for (int i = 0; i < completed; i++) {
                    Pending q = member(run, block + i);
                    if (checked) {
                        blob.markBlockHashChecked(block + i);
                    }
                    if (q != null) {
                        complete(q, true);
                    }
                }
                if (writer.block() < blob.blockCount()) {
                    Pending current = member(run, writer.block());
                    if (current != null) {
                        current.progressed(blob.writtenBytes(writer.block()));
                    }
                }
            }
            if (closed) {
                throw new IOException("weightfs is shutting down");
            }
        }
    }

    private static Pending member(Run run, int block) {
        synchronized (run) {
            for (Pending q : run.blocks) {
                if (q.block == block) {
                    return q;
                }
            }
        }
        return null;
    }

    private static void refreshClaims(Run run) {
        List<Pending> blocks;
        synchronized (run) {
            blocks = List.copyOf(run.blocks);
        }
        for (Pending q : blocks) {
            if (!q.done.isDone()) {
                run.blob.refreshClaim(q.block);
            }
        }
    }

    /** A block is written (or turned out present): tell its waiters, count it if this process fetched it. */
    private void complete(Pending p, boolean fetchedHere) {
        inFlight.remove(new BlockId(p.blob.hash(), p.block), p);
        if (fetchedHere && !p.done.isDone()) {
            int length = p.blob.blockLength(p.block);
            bytesFetched.addAndGet(length);
            bytesByClass[p.priority.ordinal()].addAndGet(length);
            blocksFetched.incrementAndGet();
        }
        p.finish(null);
    }

    /**
     * Stops taking work and fails every pending demand at once. A worker in the middle of a
     * download stops at its next read (bounded by the source's timeouts) and exits; it is a daemon
     * thread, so it never holds the process up.
     */
    @Override
    public void close() {
        closed = true;
        gate.release();
        IOException stopping = new IOException("weightfs is shutting down");
        for (Pending w : inFlight.values()) {
            w.finish(stopping);
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
