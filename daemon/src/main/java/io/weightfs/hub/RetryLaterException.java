package io.weightfs.hub;

import java.io.IOException;
import java.time.Duration;

/**
 * The server asked for a wait longer than this request may spend (its deadline, or the longest
 * wait slept in place, {@link Retrier#MAX_INLINE_WAIT}): nothing was slept. The background fill
 * tries again after {@link #after()}, a waiting read fails now with the message.
 */
public final class RetryLaterException extends IOException {
    private final Duration after;

    RetryLaterException(String message, Duration after, Throwable cause) {
        super(message, cause);
        this.after = after;
    }

    /** How long the server asked to wait. */
    public Duration after() {
        return after;
    }
}
