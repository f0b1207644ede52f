package io.weightfs.fetch;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.weightfs.testing.MutableClock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ConcurrencyTunerTest {
    private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    private final ConcurrencyTuner tuner = new ConcurrencyTuner(2, 8, 1000, clock);

    /** One measuring period in which the source delivered {@code rate(limit)} bytes per second. */
    private void period(java.util.function.IntToLongFunction rate) {
        clock.advance(Duration.ofMillis(1000));
        tuner.delivered(rate.applyAsLong(tuner.limit()));
    }

    @Test
    void connectionsAreAdded_whileThroughputStillRises() {
        for (int i = 0; i < 10; i++) {
            period(limit -> limit * 100_000_000L); // linear: every connection helps
        }
        assertEquals(8, tuner.limit());
    }

    @Test
    void aStepThatBuysNothing_isUndone_andTheTunerRests() {
        // The link saturates at 4 connections.
        java.util.function.IntToLongFunction saturating = limit -> Math.min(limit, 4) * 100_000_000L;
        for (int i = 0; i < 3; i++) {
            period(saturating);
        }
        assertEquals(5, tuner.limit(), "2 -> 3 -> 4 -> 5 while it rose");
        period(saturating);
        assertEquals(4, tuner.limit(), "5 bought nothing: back to 4");
        for (int i = 0; i < ConcurrencyTuner.HOLD_PERIODS; i++) {
            period(saturating);
            assertEquals(4, tuner.limit(), "resting");
        }
        period(saturating);
        assertEquals(5, tuner.limit(), "then it probes again");
    }

    @Test
    void nothingChanges_withinAPeriod() {
        tuner.delivered(1_000_000_000L);
        clock.advance(Duration.ofMillis(999));
        tuner.delivered(1_000_000_000L);
        assertEquals(2, tuner.limit());
    }
}
