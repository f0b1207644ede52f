package io.weightfs.fetch;

import java.util.Comparator;
import java.util.PriorityQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The one queue of block fetches: highest class first (FOREGROUND, then READAHEAD, then PREFETCH),
 * first come first served within a class. A worker says which classes it may take: the reserved
 * workers take only FOREGROUND and READAHEAD, so a read never waits for a whole prefetch block to
 * finish before a connection is free for it.
 *
 * <p>In {@link BlockFetcher.Scheduling#FIFO} (priorities off, for comparison in the benchmark) the queue is one FIFO and
 * every worker takes anything.
 *
 * <p>Thread-safe; the lock guards only the heap, and no I/O or callback runs under it.
 *
 * @param <T> what is queued
 */
final class FetchQueue<T> {
    private record Entry<T>(T item, BlockFetcher.Priority priority, long seq) {}

    private final BlockFetcher.Scheduling mode;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition nonEmpty = lock.newCondition();
    /** Guarded by lock. */
    private final PriorityQueue<Entry<T>> heap;
    /** Guarded by lock. */
    private long seq;

    FetchQueue(BlockFetcher.Scheduling mode) {
        this.mode = mode;
        Comparator<Entry<T>> bySeq = Comparator.comparingLong(Entry::seq);
        this.heap = new PriorityQueue<>(mode == BlockFetcher.Scheduling.FIFO ? bySeq
                : Comparator.<Entry<T>, BlockFetcher.Priority>comparing(Entry::priority).thenComparing(bySeq));
    }

    BlockFetcher.Scheduling mode() {
        return mode;
    }

    void add(T item, BlockFetcher.Priority priority) {
        lock.lock();
        try {
            heap.add(new Entry<>(item, priority, seq++));
            nonEmpty.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * The next item of class {@code lowest} or higher, or null if there is none now.
     *
     * @param lowest the lowest class this worker may take (PREFETCH: anything)
     */
    T poll(BlockFetcher.Priority lowest) {
        lock.lock();
        try {
            return pollLocked(lowest);
        } finally {
            lock.unlock();
        }
    }

    /** Like {@link #poll}, waiting up to {@code timeoutMillis} for something takeable. */
    T take(BlockFetcher.Priority lowest, long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        lock.lock();
        try {
            while (true) {
                T t = pollLocked(lowest);
                if (t != null) {
                    return t;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return null;
                }
                nonEmpty.awaitNanos(left);
            }
        } finally {
            lock.unlock();
        }
    }

    private T pollLocked(BlockFetcher.Priority lowest) {
        Entry<T> head = heap.peek();
        if (head == null) {
            return null;
        }
        if (mode == BlockFetcher.Scheduling.PRIORITY && head.priority().compareTo(lowest) > 0) {
            return null;
        }
        return heap.poll().item();
    }

    int size() {
        lock.lock();
        try {
            return heap.size();
        } finally {
            lock.unlock();
        }
    }
}
