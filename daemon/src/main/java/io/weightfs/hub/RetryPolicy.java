package io.weightfs.hub;

import java.time.Duration;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.function.DoubleSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * When and how long to wait before retrying a Hub call (HUB-PROTOCOL.md §5 "Backoff"): at most
 * {@link #maxRetries()} retries, sleeping base·1, 2, 4, 8, 8 with "equal jitter" (half the delay
 * fixed, half random) so that many nodes restarting together do not retry in lock-step. A 429 that
 * says when the window resets ({@code RateLimit: ...;t=<s>} or an integer {@code Retry-After}) is
 * honoured instead, plus one second, as huggingface_hub does.
 *
 * <p>Immutable; the random source is injected so tests are deterministic.
 */
public final class RetryPolicy {
    /** huggingface_hub's own ceiling; five retries cover a ~30 s outage at the default base. */
    public static final int DEFAULT_MAX_RETRIES = 5;
    /** huggingface_hub's base delay. */
    public static final Duration DEFAULT_BASE = Duration.ofSeconds(1);
    /** The doubling stops at 8 x base, as in huggingface_hub (1, 2, 4, 8, 8 s). */
    private static final int MAX_MULTIPLIER = 8;
    /** A server-requested wait is taken as said up to a day (a larger number is a server bug). */
    private static final Duration MAX_SERVER_WAIT = Duration.ofDays(1);

    private static final Pattern RATELIMIT_T = Pattern.compile("(?:^|;)\\s*t\\s*=\\s*(\\d+)");

    private final int maxRetries;
    private final Duration base;
    private final DoubleSupplier random;

    public RetryPolicy(int maxRetries, Duration base, DoubleSupplier random) {
        if (maxRetries < 0) {
            throw new IllegalArgumentException("maxRetries must be >= 0, got " + maxRetries);
        }
        this.maxRetries = maxRetries;
        this.base = base;
        this.random = random;
    }

    public static RetryPolicy defaults() {
        return new RetryPolicy(DEFAULT_MAX_RETRIES, DEFAULT_BASE, Math::random);
    }

    public int maxRetries() {
        return maxRetries;
    }

    /** Whether a status is worth retrying: 408, 429, 500, 502, 503, 504. */
    public static boolean retryableStatus(int status) {
        return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
    }

    /**
     * The delay before retry number {@code retry} (1-based).
     *
     * @param rateLimit the response's {@code RateLimit} header, or null
     * @param retryAfter the response's {@code Retry-After} header, or null
     */
    public Duration delay(int retry, String rateLimit, String retryAfter) {
        OptionalLong told = serverWaitSeconds(rateLimit, retryAfter);
        if (told.isPresent()) {
            Duration d = Duration.ofSeconds(told.getAsLong() + 1);
            return d.compareTo(MAX_SERVER_WAIT) > 0 ? MAX_SERVER_WAIT : d;
        }
        long multiplier = Math.min(MAX_MULTIPLIER, 1L << Math.min(30, Math.max(0, retry - 1)));
        long full = base.toMillis() * multiplier;
        long half = full / 2;
        return Duration.ofMillis(half + (long) (random.getAsDouble() * (full - half)));
    }

    /** Seconds the server asked us to wait: {@code RateLimit: "x";r=0;t=N}, else an integer {@code Retry-After}. */
    static OptionalLong serverWaitSeconds(String rateLimit, String retryAfter) {
        if (rateLimit != null) {
            Matcher m = RATELIMIT_T.matcher(rateLimit.toLowerCase(Locale.ROOT));
            if (m.find()) {
                return OptionalLong.of(Long.parseLong(m.group(1)));
            }
        }
        if (retryAfter != null) {
            String s = retryAfter.strip();
            if (!s.isEmpty() && s.chars().allMatch(Character::isDigit) && s.length() < 10) {
                return OptionalLong.of(Long.parseLong(s));
            }
        }
        return OptionalLong.empty();
    }
}
