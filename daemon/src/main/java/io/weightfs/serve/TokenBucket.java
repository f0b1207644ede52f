package io.weightfs.serve;

import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * A rate limit shared by every body the server sends: {@link #acquire} blocks until the bytes fit
 * the rate. Implemented as a virtual schedule (the time at which the link is next free) rather than
 * a refilling counter, so waiting callers are served in the order they asked without a queue.
 *
 * <p>Thread-safe. The schedule is guarded by {@code this}; the sleep happens outside the lock. Time
 * and sleeping are injected so tests need neither.
 */
final class TokenBucket {
    /** A sleep, injectable so tests can advance a fake clock instead. */
    interface Sleeper {
        void sleepNanos(long nanos) throws InterruptedException;
    }

    /**
     * Idle time that may be made up in a burst: 100 ms, so a sender that paused briefly is not
     * penalised, but a long pause does not let a large burst through at wire speed.
     */
    private static final long BURST_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    /** Largest single send: 64 KiB keeps the pacing smooth at any rate above ~1 MB/s. */
    private static final int MAX_CHUNK = 64 * 1024;
    /** At least 50 sends a second, so slow rates are paced smoothly too. */
    private static final int CHUNKS_PER_SECOND = 50;

    private final long bytesPerSecond;
    private final LongSupplier nanoClock;
    private final Sleeper sleeper;
    /** Guarded by this: when the bytes granted so far will have gone out at the rate. */
    private long nextFreeNanos;

    TokenBucket(long bytesPerSecond, LongSupplier nanoClock, Sleeper sleeper) {
        if (bytesPerSecond < 1) {
            throw new IllegalArgumentException("rate must be at least 1 byte/s, got " + bytesPerSecond);
        }
        this.bytesPerSecond = bytesPerSecond;
        this.nanoClock = nanoClock;
        this.sleeper = sleeper;
        this.nextFreeNanos = nanoClock.getAsLong() - BURST_NANOS;
    }

    static TokenBucket system(long bytesPerSecond) {
        return new TokenBucket(bytesPerSecond, System::nanoTime, TimeUnit.NANOSECONDS::sleep);
    }

    long bytesPerSecond() {
        return bytesPerSecond;
    }

    /** How many bytes to send per {@link #acquire}. */
    int chunkSize() {
        return Math.clamp(bytesPerSecond / CHUNKS_PER_SECOND, 1, MAX_CHUNK);
    }

    /** Waits until {@code bytes} more may be sent. */
    void acquire(long bytes) throws InterruptedException {
        long wait;
        synchronized (this) {
            long now = nanoClock.getAsLong();
            nextFreeNanos = Math.max(nextFreeNanos, now - BURST_NANOS) + nanosFor(bytes);
            wait = nextFreeNanos - now;
        }
        if (wait > 0) {
            sleeper.sleepNanos(wait);
        }
    }

    private long nanosFor(long bytes) {
        // bytes is at most a chunk here; Math.multiplyHigh is not needed below 9e9 bytes.
        return Math.multiplyExact(bytes, 1_000_000_000L) / bytesPerSecond;
    }
}
