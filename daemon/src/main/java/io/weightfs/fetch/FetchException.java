package io.weightfs.fetch;

import java.io.IOException;

/**
 * Why a read could not be served. The filesystem maps each kind to one errno (EIO for most,
 * EINTR for {@link Kind#INTERRUPTED}); the message says what failed and what to do.
 */
public final class FetchException extends IOException {
    /** What went wrong. */
    public enum Kind {
        /** The source or the store failed; the message has the cause. */
        IO,
        /** The bytes did not arrive within the read's deadline ({@code --read-timeout}). */
        TIMED_OUT,
        /** The file failed for good (its content never hashed right, or its source kept failing). */
        FAILED,
        /** Bytes served earlier through this open file turned out wrong: the reader must start again. */
        SERVED_WRONG,
        /** The reader was interrupted while it waited. */
        INTERRUPTED,
        /** weightfs is unmounting. */
        CLOSED
    }

    private final Kind kind;

    public FetchException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public FetchException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
