package io.weightfs.source;

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
}
