package io.weightfs.hub;

import java.io.IOException;

/**
 * A Hub answer that a user can act on: what went wrong, for which repo, and what to do. The
 * message never contains a token.
 */
public final class HubException extends IOException {

    /** What kind of failure, from the status code and {@code X-Error-Code} (HUB-PROTOCOL.md §5). */
    public enum Kind {
        REPO_NOT_FOUND(false),
        GATED(false),
        REVISION_NOT_FOUND(false),
        ENTRY_NOT_FOUND(false),
        INVALID_CREDENTIALS(false),
        DISABLED(false),
        BAD_REQUEST(false),
        FORBIDDEN(false),
        /** A signed CDN URL expired or was refused; resolving the file again fixes it. */
        DOWNLOAD_URL_EXPIRED(true),
        /** The Hub is asked for something while {@code HF_HUB_OFFLINE} is set. */
        OFFLINE(false),
        /** The server broke the protocol (a missing header, a wrong range). */
        PROTOCOL(true),
        /**
         * A tree listing no Hub sends: a malformed entry or a pagination loop. Never retried, and
         * nothing is built from it (see {@code manifest.ListingRules} for the rules on its content).
         */
        BAD_LISTING(false),
        /** 408, 429, 5xx: worth retrying. */
        TRANSIENT(true),
        /** Any other status. */
        HTTP(false);

        private final boolean retryable;

        Kind(boolean retryable) {
            this.retryable = retryable;
        }

        public boolean retryable() {
            return retryable;
        }
    }

    private final Kind kind;
    private final int status;
    /** The response's {@code RateLimit} header, for the retry delay; never shown to users. */
    private final String rateLimit;
    /** The response's {@code Retry-After} header. */
    private final String retryAfter;

    public HubException(Kind kind, int status, String message) {
        this(kind, status, message, null, null);
    }

    HubException(Kind kind, int status, String message, String rateLimit, String retryAfter) {
        super(message);
        this.kind = kind;
        this.status = status;
        this.rateLimit = rateLimit;
        this.retryAfter = retryAfter;
    }

    String rateLimit() {
        return rateLimit;
    }

    String retryAfter() {
        return retryAfter;
    }

    public Kind kind() {
        return kind;
    }

    /** The HTTP status, or 0 when none was received. */
    public int status() {
        return status;
    }

    public boolean retryable() {
        return kind.retryable();
    }
}
