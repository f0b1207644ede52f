package io.weightfs.store;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes written bytes durable in batches, then records them in the blobs' state files.
 *
 * <p><b>Policy.</b> Writers report how far each block they write has got ({@link #written}). The
 * syncer forces a blob's file to disk (one {@code fdatasync} per blob per batch, never one per
 * write) when {@link #BATCH_BYTES} were written since the last batch, or {@link #INTERVAL_MILLIS}
 * after the first unsynced write, whichever comes first, and only then raises the blocks' durable
 * progress. Partly written blocks are recorded too, so a daemon killed during a slow fill resumes
 * inside the block instead of fetching it again: a kill costs at most one interval's worth of
 * bytes. Blocks that became wholly durable release their cross-process fetch claim, and a blob whose
 * hash already matched is marked verified once its last block is durable.
 *
 * <p><b>Threads.</b> One thread, owned from construction to {@link #close()}; it is never interrupted
 * (an interrupt during FileChannel I/O would close the blob's channel for every thread). The lock
 * guards only the pending map; no I/O happens under it.
 */
final class Syncer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Syncer.class);
    /**
     * 64 MiB per fdatasync: on this kind of machine a sync per 8 MiB cost a quarter of the write
     * speed (PLATFORM.md), one per 64 MiB almost nothing.
     */
    static final long BATCH_BYTES = 64L << 20;
    /**
     * Bytes written but not yet durable wait at most this long: at 4 MB/s a kill -9 loses at most
     * 400 KB (half that on average), and at disk speed the byte threshold comes first anyway. An
     * fdatasync ten times a second costs nothing at the rates where this interval is the one that
     * triggers.
     */
    static final long INTERVAL_MILLIS = 100;

    /** The latest progress of one block written in this process, not yet durable. */
    private record Progress(int bytes, int crc, long generation) {}

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition due = lock.newCondition();
    /** Guarded by lock. */
    private Map<Blob, Map<Integer, Progress>> pending = new HashMap<>();
    /** Guarded by lock. */
    private long unsyncedBytes;
    /** Guarded by lock. */
    private long firstUnsyncedNanos;
    private final long intervalNanos;
    private final Thread thread;
    private volatile boolean closed;

    Syncer(long intervalMillis) {
        this.intervalNanos = TimeUnit.MILLISECONDS.toNanos(intervalMillis);
        this.thread = Thread.ofPlatform().daemon(true).name("weightfs-store-sync").start(this::loop);
    }

    /** A writer's report: block {@code block} of {@code blob} now has {@code bytes} written, with this CRC. */
    void written(Blob blob, int block, int bytes, int crc, long generation, long newBytes) {
        lock.lock();
        try {
            pending.computeIfAbsent(blob, b -> new HashMap<>()).put(block, new Progress(bytes, crc, generation));
            if (unsyncedBytes == 0) {
                firstUnsyncedNanos = System.nanoTime();
            }
            unsyncedBytes += newBytes;
            if (unsyncedBytes >= BATCH_BYTES) {
                due.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Asks for a batch now (a blob finished: its verified mark should not wait). */
    void soon(Blob blob) {
        lock.lock();
        try {
            pending.computeIfAbsent(blob, b -> new HashMap<>());
            if (unsyncedBytes == 0) {
                firstUnsyncedNanos = System.nanoTime() - intervalNanos;
            }
            unsyncedBytes = Math.max(unsyncedBytes, 1);
            due.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void loop() {
        while (!closed) {
            Map<Blob, Map<Integer, Progress>> batch;
            lock.lock();
            try {
                long waitNanos = unsyncedBytes == 0 ? TimeUnit.MILLISECONDS.toNanos(100)
                        : firstUnsyncedNanos + intervalNanos - System.nanoTime();
                if (unsyncedBytes < BATCH_BYTES && waitNanos > 0) {
                    due.awaitNanos(waitNanos);
                    continue;
                }
                if (pending.isEmpty()) {
                    unsyncedBytes = 0;
                    continue;
                }
                batch = pending;
                pending = new HashMap<>();
                unsyncedBytes = 0;
            } catch (InterruptedException e) {
                return;
            } finally {
                lock.unlock();
            }
            sync(batch);
        }
    }

    /** Forces each blob's file once, then records its blocks' progress. Outside any lock. */
    private static void sync(Map<Blob, Map<Integer, Progress>> batch) {
        for (Map.Entry<Blob, Map<Integer, Progress>> e : batch.entrySet()) {
            Blob blob = e.getKey();
            try {
                if (!e.getValue().isEmpty()) {
                    blob.channel().force(false);
                }
                List<Integer> whole = new ArrayList<>();
                for (Map.Entry<Integer, Progress> p : e.getValue().entrySet()) {
                    Progress pr = p.getValue();
                    if (blob.recordDurable(p.getKey(), pr.bytes(), pr.crc(), pr.generation())) {
                        whole.add(p.getKey());
                    }
                }
                blob.afterSync(whole);
            } catch (IOException | RuntimeException ex) {
                LOG.error("cannot sync blob {}: {}; its new bytes stay unrecorded and will be fetched again after a restart",
                        blob.hash(), ex.toString());
            }
        }
    }

    /** Makes everything written so far durable and recorded, on the calling thread. */
    void flush() {
        Map<Blob, Map<Integer, Progress>> batch;
        lock.lock();
        try {
            batch = pending;
            pending = new HashMap<>();
            unsyncedBytes = 0;
        } finally {
            lock.unlock();
        }
        sync(batch);
    }

    @Override
    public void close() {
        closed = true;
        lock.lock();
        try {
            due.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        flush();
    }
}
