package io.weightfs.fetch;

import io.weightfs.manifest.ContentHash;
import io.weightfs.source.RepoFile;
import io.weightfs.source.Source;
import io.weightfs.store.Blob;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.PriorityBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.ThreadFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fetches blocks into the store: one priority queue, a fixed set of worker threads (one per
 * connection), and single-flight per block.
 *
 * <p><b>Single-flight.</b> A block has at most one fetch in flight in this process; every asker
 * gets the same future. A block queued at a lower priority that is asked for at a higher one is
 * promoted: a second queue entry at the higher priority points to the same fetch, and whichever
 * entry a worker takes first claims it (the other is skipped).
 *
 * <p><b>Threads.</b> {@code connections} platform workers, owned by this object from construction
 * to {@link #close()}. Futures are completed on the workers, outside any lock; askers must not run
 * long work in their callbacks.
 */
public final class BlockFetcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BlockFetcher.class);

    /** Who is waiting: a read (FOREGROUND), a predicted read (READAHEAD), nobody yet (PREFETCH). */
    public enum Priority { FOREGROUND, READAHEAD, PREFETCH }

    private final Source source;
    private final PriorityBlockingQueue<Task> queue = new PriorityBlockingQueue<>();
    private final ConcurrentHashMap<BlockId, InFlight> inFlight = new ConcurrentHashMap<>();
    private final AtomicLong sequence = new AtomicLong();
    private final AtomicLong bytesFetched = new AtomicLong();
    private final AtomicLong blocksFetched = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final Thread[] workers;
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

    private record Task(InFlight work, Priority priority, long seq) implements Comparable<Task> {
        @Override
        public int compareTo(Task o) {
            int c = priority.compareTo(o.priority);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    public BlockFetcher(Source source, int connections) {
        this.source = source;
        this.workers = new Thread[connections];
        ThreadFactory f = Thread.ofPlatform().daemon(true).name("weightfs-fetch-", 0).factory();
        for (int i = 0; i < connections; i++) {
            workers[i] = f.newThread(this::workLoop);
            workers[i].start();
        }
    }

    /**
     * Asks for a block. Completes at once if the block is present; otherwise when it has been
     * written (servable) or failed.
     */
    public CompletableFuture<Void> demand(RepoFile file, Blob blob, int block, Priority priority) {
        if (blob.isPresent(block)) {
            return CompletableFuture.completedFuture(null);
        }
        if (closed) {
            return CompletableFuture.failedFuture(new IOException("weightfs is shutting down"));
        }
        BlockId id = new BlockId(blob.hash(), block);
        InFlight fresh = new InFlight(file, blob, block, priority);
        InFlight existing = inFlight.putIfAbsent(id, fresh);
        if (existing == null) {
            queue.add(new Task(fresh, priority, sequence.incrementAndGet()));
            return fresh.done;
        }
        if (priority.compareTo(existing.priority) < 0 && !existing.claimed.get()) {
            existing.priority = priority;
            queue.add(new Task(existing, priority, sequence.incrementAndGet()));
        }
        return existing.done;
    }

    /** Blocks queued or in flight. */
    public int pending() {
        return inFlight.size();
    }

    public long bytesFetched() {
        return bytesFetched.get();
    }

    public long blocksFetched() {
        return blocksFetched.get();
    }

    public long failures() {
        return failures.get();
    }

    private void workLoop() {
        while (!closed) {
            Task t;
            try {
                // A bounded poll, not take(): workers are never interrupted (an interrupt during
                // FileChannel I/O closes the blob's channel for every reader), so they look at
                // the closed flag instead.
                t = queue.poll(100, java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (t == null) {
                continue;
            }
            InFlight w = t.work();
            if (!w.claimed.compareAndSet(false, true)) {
                continue; // a duplicate entry of a promoted block
            }
            BlockId id = new BlockId(w.blob.hash(), w.block);
            try {
                if (!w.blob.isPresent(w.block)) {
                    fetch(w);
                }
                inFlight.remove(id, w);
                w.done.complete(null);
            } catch (IOException | RuntimeException e) {
                inFlight.remove(id, w);
                if (!closed) {
                    failures.incrementAndGet();
                    LOG.warn("fetching block {} of {} failed: {}", w.block, w.file.describe(), e.getMessage());
                }
                w.done.completeExceptionally(e);
            }
        }
    }

    private void fetch(InFlight w) throws IOException {
        Blob.BlockWriter writer = w.blob.openBlock(w.block);
        long offset = w.blob.blockOffset(w.block);
        int length = w.blob.blockLength(w.block);
        source.read(w.file, offset, length, writer::write);
        writer.commit();
        bytesFetched.addAndGet(length);
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
