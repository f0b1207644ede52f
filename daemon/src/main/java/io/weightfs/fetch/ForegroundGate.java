package io.weightfs.fetch;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * Lets background downloads step aside while a read waits. Readers {@link #enter()} while they wait
 * for bytes; background downloads call {@link #pauseWhileWaiting} between chunks and stop reading
 * their sockets while anyone waits, so the sender's TCP window closes and the link carries the
 * read's bytes instead. A pause ends when nobody waits, when the download is promoted, or after
 * {@link #MAX_PAUSE_MILLIS}, whichever is first: the fill is slowed, never stopped for good.
 *
 * <p>Thread-safe; the lock is held only to count and to wait.
 */
public final class ForegroundGate {
    /**
     * Longest single pause of a background chunk. Long enough for a read's block to arrive on a slow
     * link; short enough that a stream of reads cannot starve the fill.
     */
    static final long MAX_PAUSE_MILLIS = 2000;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition quiet = lock.newCondition();
    /** Guarded by lock. */
    private int waiting;
    /** Guarded by lock. */
    private boolean released;

    /** A read's registration as waiting; close it when the read has its bytes. */
    public interface Waiting extends AutoCloseable {
        Waiting NONE = () -> {};

        @Override
        void close();
    }

    Waiting enter() {
        lock.lock();
        try {
            waiting++;
        } finally {
            lock.unlock();
        }
        boolean[] closed = {false};
        return () -> {
            lock.lock();
            try {
                if (!closed[0]) {
                    closed[0] = true;
                    waiting--;
                    if (waiting == 0) {
                        quiet.signalAll();
                    }
                }
            } finally {
                lock.unlock();
            }
        };
    }

    int waiting() {
        lock.lock();
        try {
            return waiting;
        } finally {
            lock.unlock();
        }
    }

    /** Waits while any read waits, unless {@code exempt} becomes true; at most {@link #MAX_PAUSE_MILLIS}. */
    void pauseWhileWaiting(BooleanSupplier exempt) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(MAX_PAUSE_MILLIS);
        lock.lock();
        try {
            while (waiting > 0 && !released && !exempt.getAsBoolean()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return;
                }
                // Wake now and then to see whether the download was promoted meanwhile.
                quiet.awaitNanos(Math.min(left, TimeUnit.MILLISECONDS.toNanos(20)));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            lock.unlock();
        }
    }

    /** Lets every paused download go, for good (shutdown). */
    void release() {
        lock.lock();
        try {
            released = true;
            quiet.signalAll();
        } finally {
            lock.unlock();
        }
    }
}
