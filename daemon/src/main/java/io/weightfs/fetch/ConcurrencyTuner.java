package io.weightfs.fetch;

import java.time.Clock;

/**
 * How many background connections to use: a hill climb on delivered throughput. Start at
 * {@code min}; each period, if the last step up raised throughput by at least
 * {@link #GAIN_TO_CLIMB}, step up again (up to {@code max}); if it did not, step back down and hold
 * there for {@link #HOLD_PERIODS} periods before probing again. One connection more is worth it
 * only while the source (or the link) still has room; on a saturated link it only adds contention.
 *
 * <p>Thread-safe (synchronized; no I/O). The clock is injected so tests step time by hand.
 */
final class ConcurrencyTuner {
    /** A step up must buy at least 5% more throughput to count: less is noise on a shared machine. */
    static final double GAIN_TO_CLIMB = 0.05;
    /** After a step up that bought nothing, stay put this many periods before trying again. */
    static final int HOLD_PERIODS = 5;

    private final int min;
    private final int max;
    private final long periodMillis;
    private final Clock clock;

    // All guarded by this.
    private int limit;
    private long periodStart;
    private long periodBytes;
    private double lastRate = -1;
    private boolean probing;
    private int hold;

    ConcurrencyTuner(int min, int max, long periodMillis, Clock clock) {
        if (min < 1 || max < min) {
            throw new IllegalArgumentException("need 1 <= min <= max, got " + min + ", " + max);
        }
        this.min = min;
        this.max = max;
        this.periodMillis = periodMillis;
        this.clock = clock;
        this.limit = min;
        this.periodStart = clock.millis();
    }

    /** Fixed concurrency: never changes. */
    static ConcurrencyTuner fixed(int n, Clock clock) {
        return new ConcurrencyTuner(n, n, Long.MAX_VALUE / 4, clock);
    }

    synchronized int limit() {
        return limit;
    }

    /** Counts delivered bytes and, at the end of a period, decides the next limit. */
    synchronized void delivered(long bytes) {
        periodBytes += bytes;
        long now = clock.millis();
        if (now - periodStart < periodMillis) {
            return;
        }
        double rate = periodBytes * 1000.0 / Math.max(1, now - periodStart);
        periodStart = now;
        periodBytes = 0;
        if (hold > 0) {
            hold--;
            lastRate = rate;
            return;
        }
        if (probing && lastRate > 0 && rate < lastRate * (1 + GAIN_TO_CLIMB)) {
            // The last step bought nothing: undo it and rest.
            limit = Math.max(min, limit - 1);
            probing = false;
            hold = HOLD_PERIODS;
        } else if (limit < max) {
            limit++;
            probing = true;
        } else {
            probing = false;
        }
        lastRate = rate;
    }
}
