package io.weightfs.source;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TieredSourceTest {
    private static final long MB = 1_000_000;

    @Test
    void theEstimate_predictsLatencyPlusTransfer_andGoesStale() {
        TieredSource.Estimate e = new TieredSource.Estimate();
        assertTrue(Double.isNaN(e.predictMillis(MB, 0)), "unknown before any read");
        e.record(8 * MB, 80_000_000L, 0); // 8 MB in 80 ms: 100 MB/s
        e.record(4096, 2_000_000L, 0);    // a small read: 2 ms latency
        double p = e.predictMillis(8 * MB, 1000);
        assertTrue(p > 70 && p < 100, "predicted " + p + " ms");
        assertTrue(Double.isNaN(e.predictMillis(MB, TieredSource.STALE_MILLIS + 1)), "stale after a while: measure again");
    }

    @Test
    void aFasterTier_hasTheSmallerPrediction() {
        TieredSource.Estimate fast = new TieredSource.Estimate();
        TieredSource.Estimate slow = new TieredSource.Estimate();
        fast.record(8 * MB, 20_000_000L, 0);
        slow.record(8 * MB, 200_000_000L, 0);
        assertTrue(fast.predictMillis(8 * MB, 10) < slow.predictMillis(8 * MB, 10));
    }

    private static TieredSource tiered() {
        return new TieredSource(null, null, java.time.Clock.systemUTC());
    }

    @Test
    void withTheHubUnmeasured_everyReadGoesToTheSharedTier_neverToTheHubToMeasureIt() {
        TieredSource t = tiered();
        for (int i = 0; i < 100; i++) {
            assertTrue(t.preferShared(8 * MB, i), "read " + i + " went to the Hub only to measure it");
        }
        t.recordForTest(true, 8 * MB, 80_000_000L, 0);
        for (int i = 0; i < 100; i++) {
            assertTrue(t.preferShared(8 * MB, 1000 + i), "a known shared tier and an unknown Hub: the shared tier");
        }
        // Stale shared estimate, Hub still unknown: still the shared tier.
        assertTrue(t.preferShared(8 * MB, TieredSource.STALE_MILLIS * 3));
    }

    @Test
    void withTheHubKnownFromReadsThatNeededIt_theFasterTierWins_andAStaleSharedTierIsMeasuredOnce() {
        TieredSource t = tiered();
        t.recordForTest(false, 8 * MB, 20_000_000L, 0); // Hub: 400 MB/s
        assertTrue(t.preferShared(8 * MB, 1), "the shared tier unknown: one read measures it");
        assertFalse(t.preferShared(8 * MB, 2), "meanwhile the others go to the known Hub");
        t.recordForTest(true, 8 * MB, 200_000_000L, 3); // shared: 40 MB/s
        assertFalse(t.preferShared(8 * MB, 4), "the Hub is faster");
        t.recordForTest(true, 8 * MB, 2_000_000L, 5); // shared got fast
        t.recordForTest(true, 8 * MB, 2_000_000L, 5);
        t.recordForTest(true, 8 * MB, 2_000_000L, 5);
        assertTrue(t.preferShared(8 * MB, 6), "the shared tier is faster now");
    }
}
