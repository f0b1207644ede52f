package io.weightfs.hub;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one retry loop of the Hub client, for API calls, download-URL resolution and bulk range
 * reads alike: one object per request, told of each failed attempt ({@link #failed}), which either
 * sleeps before the next attempt or throws.
 *
 * <p><b>Schedule</b> (README "Retries"): up to {@link RetryPolicy#maxRetries()} retries of a
 * retryable failure (408, 429, 5xx, timeouts, cut connections, a bad response), sleeping
 * base x 1, 2, 4, 8, 8 with jitter, or what a 429 says ({@code RateLimit: ...;t=N} or
 * {@code Retry-After: N}, plus one second). An attempt that delivered bytes resets the budget and
 * retries at once (a flaky connection that keeps delivering never gives up), except when it was
 * abandoned for being slower than the transfer floor: then it counts. A wait longer than what is
 * left of the request's {@link Deadline}, or longer than {@link #MAX_INLINE_WAIT}, is never slept:
 * the request fails with {@link RetryLaterException} at once.
 *
 * <p>Not thread-safe: one request, one thread.
 */
final class Retrier {
    private static final Logger LOG = LoggerFactory.getLogger(Retrier.class);
    /**
     * Server-requested waits up to this long are slept in place; a longer one (a 429 with
     * {@code Retry-After: 3600}) fails the request so that a worker thread is not held for it: the
     * background fill retries the blob after the wait, a read fails now.
     */
    static final Duration MAX_INLINE_WAIT = Duration.ofSeconds(60);

    private final RetryPolicy policy;
    private final Sleeper sleeper;
    private final Deadline deadline;
    private final String what;
    private final RetryCounts counts;
    private int failures;

    /** @param counts where each retry is counted, by the status it follows (the client's, for metrics) */
    Retrier(RetryPolicy policy, Sleeper sleeper, Deadline deadline, String what, RetryCounts counts) {
        this.policy = policy;
        this.sleeper = sleeper;
        this.deadline = deadline;
        this.what = what;
        this.counts = counts;
    }

    /**
     * A failed attempt: returns after sleeping when another attempt is worth it, else throws.
     *
     * @param progressed whether the attempt delivered bytes (resets the budget)
     * @param slow whether it was abandoned for being slower than the transfer floor (counts even if it progressed)
     */
    void failed(IOException e, boolean progressed, boolean slow) throws IOException {
        if (e instanceof HubException h && !h.retryable()) {
            throw e;
        }
        if (deadline.passed()) {
            throw new InterruptedIOException(what + ": " + deadline.what() + " passed (" + e.getMessage() + ")");
        }
        if (progressed && !slow) {
            LOG.debug("resuming {} after: {}", what, e.toString());
            counts.retried(e);
            failures = 0;
            return;
        }
        failures++;
        if (failures > policy.maxRetries()) {
            if (e instanceof HubException) {
                throw e;
            }
            throw new IOException("giving up after " + policy.maxRetries() + " retries " + what + ": " + e.getMessage(), e);
        }
        HubException told = e instanceof HubException h ? h : null;
        Duration d = policy.delay(failures, told == null ? null : told.rateLimit(), told == null ? null : told.retryAfter());
        long left = deadline.remainingNanos();
        if (d.toNanos() > left || d.compareTo(MAX_INLINE_WAIT) > 0) {
            String limit = d.toNanos() > left
                    ? "more than the " + Duration.ofNanos(left).toSeconds() + " s left before " + deadline.what()
                    : "longer than the " + MAX_INLINE_WAIT.toSeconds() + " s weightfs waits in place";
            boolean serverAsked = told != null && RetryPolicy.serverWaitSeconds(told.rateLimit(), told.retryAfter()).isPresent();
            throw new RetryLaterException(what + ": " + (serverAsked ? "the server asked to wait " : "the next retry is due in ")
                    + d.toSeconds() + " s (after: " + e.getMessage() + "), " + limit + "; not waiting", d, e);
        }
        LOG.debug("retry {} of {} in {} ms after: {}", failures, what, d.toMillis(), e.toString());
        counts.retried(e);
        try {
            sleeper.sleep(d);
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting to retry " + what);
        }
    }
}
