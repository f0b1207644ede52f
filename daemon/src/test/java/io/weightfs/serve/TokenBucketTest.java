package io.weightfs.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The throttle's schedule, on a fake clock that sleeping advances. */
class TokenBucketTest {
    private long now = 1_000_000_000L;
    private long slept;

    private TokenBucket bucket(long rate) {
        return new TokenBucket(rate, () -> now, nanos -> {
            slept += nanos;
            now += nanos;
        });
    }

    @Test
    void sustainedSending_takesSizeOverRate_lessTheBurst() throws Exception {
        TokenBucket b = bucket(1_000_000);
        for (int i = 0; i < 100; i++) {
            b.acquire(10_000); // 1 MB in all
        }
        // 1 s for 1 MB at 1 MB/s, less the 100 ms of idle credit the first sends may use.
        assertEquals(TimeUnit.MILLISECONDS.toNanos(900), slept);
    }

    @Test
    void idleTime_earnsAtMostTheBurst() throws Exception {
        TokenBucket b = bucket(1_000_000);
        b.acquire(100_000);
        assertEquals(0, slept, "the first 100 ms worth go at once");
        now += TimeUnit.SECONDS.toNanos(10);
        b.acquire(300_000);
        assertEquals(TimeUnit.MILLISECONDS.toNanos(200), slept, "ten idle seconds bought only 100 ms of credit");
    }

    @Test
    void chunkSize_isSmallForSlowRatesAndCappedForFastOnes() {
        assertEquals(1, bucket(10).chunkSize());
        assertEquals(20_000, bucket(1_000_000).chunkSize());
        assertEquals(64 * 1024, bucket(10_000_000_000L).chunkSize());
        assertTrue(bucket(50).chunkSize() >= 1);
    }
}
