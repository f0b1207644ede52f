package io.weightfs.hub;

import java.time.Duration;

/**
 * When a piece of work must be done by: a foreground read's {@code --read-timeout}, {@code weightfs
 * fetch --timeout}, or {@link #NONE} for background work. Retries never sleep past it, and the
 * transfer watchdog aborts a request that is still running at it.
 *
 * @param atNanos the {@link System#nanoTime()} of the deadline ({@link Long#MAX_VALUE}: none)
 * @param what what the deadline is for, e.g. {@code "the read's deadline (--read-timeout 60s)"}
 */
public record Deadline(long atNanos, String what) {
    public static final Deadline NONE = new Deadline(Long.MAX_VALUE, "no deadline");

    public static Deadline in(Duration d, String what) {
        long now = System.nanoTime();
        long n = d.toNanos();
        return new Deadline(n >= Long.MAX_VALUE - now ? Long.MAX_VALUE : now + n, what);
    }

    public boolean isNone() {
        return atNanos == Long.MAX_VALUE;
    }

    /** Nanoseconds left (0 when passed; {@link Long#MAX_VALUE} for none). */
    public long remainingNanos() {
        if (isNone()) {
            return Long.MAX_VALUE;
        }
        return Math.max(0, atNanos - System.nanoTime());
    }

    public boolean passed() {
        return !isNone() && System.nanoTime() - atNanos >= 0;
    }

    /** The earlier of two deadlines. */
    public Deadline min(Deadline other) {
        return other.atNanos - atNanos < 0 ? other : this;
    }
}
