package io.weightfs.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {
    private static final RetryPolicy NO_JITTER_LOW = new RetryPolicy(5, Duration.ofSeconds(1), () -> 0.0);
    private static final RetryPolicy NO_JITTER_HIGH = new RetryPolicy(5, Duration.ofSeconds(1), () -> 1.0);

    @Test
    void delays_doubleUpToEightTimesTheBase_likeHuggingfaceHub() {
        long[] want = {1000, 2000, 4000, 8000, 8000};
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], NO_JITTER_HIGH.delay(i + 1, null, null).toMillis());
            assertEquals(want[i] / 2, NO_JITTER_LOW.delay(i + 1, null, null).toMillis());
        }
    }

    @Test
    void rateLimitHeader_tellsHowLongToWait_plusOneSecond() {
        assertEquals(Duration.ofSeconds(8), NO_JITTER_LOW.delay(1, "\"api\";r=0;t=7", null));
    }

    @Test
    void integerRetryAfter_isHonoured_andHttpDatesAreIgnored() {
        assertEquals(Duration.ofSeconds(4), NO_JITTER_LOW.delay(1, null, "3"));
        assertEquals(Duration.ofMillis(500), NO_JITTER_LOW.delay(1, null, "Wed, 21 Oct 2015 07:28:00 GMT"));
    }

    @Test
    void longServerWaits_areTakenAsSaid_upToADay() {
        assertEquals(Duration.ofSeconds(3601), NO_JITTER_LOW.delay(1, null, "3600"));
        assertEquals(Duration.ofDays(1), NO_JITTER_LOW.delay(1, null, "999999"));
    }

    @Test
    void onlyTransientStatuses_areRetryable() {
        for (int s : new int[] {408, 429, 500, 502, 503, 504}) {
            assertTrue(RetryPolicy.retryableStatus(s), "status " + s);
        }
        for (int s : new int[] {400, 401, 403, 404, 416, 501}) {
            assertFalse(RetryPolicy.retryableStatus(s), "status " + s);
        }
    }
}
