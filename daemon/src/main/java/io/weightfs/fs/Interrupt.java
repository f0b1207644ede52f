package io.weightfs.fs;

import java.util.concurrent.CompletableFuture;

/**
 * A request's interruption, as a transport learns of it (FUSE_INTERRUPT: the reader's process was
 * signalled). A read that waits for bytes, or for the fill, stops waiting when it completes and
 * fails with EINTR. It is a future, not a thread interrupt, on purpose: interrupting a thread inside
 * FileChannel I/O would close the blob's channel for every reader.
 */
@FunctionalInterface
public interface Interrupt {
    /** Never completes: a transport that cannot interrupt. */
    Interrupt NONE = () -> NeverHolder.NEVER;

    /** Completes when the request is interrupted. */
    CompletableFuture<Void> signalled();

    /** Holds the never-completing future (interfaces cannot have private static fields). */
    final class NeverHolder {
        static final CompletableFuture<Void> NEVER = new CompletableFuture<>();

        private NeverHolder() {}
    }
}
