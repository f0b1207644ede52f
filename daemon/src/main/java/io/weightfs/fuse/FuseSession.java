package io.weightfs.fuse;

import java.util.concurrent.CompletableFuture;

/**
 * One binding's running mount, as {@link MountedFs} drives it: a loop that ends when the kernel
 * connection goes away (unmount, abort), and native resources to free once it has ended.
 */
interface FuseSession {
    FuseBinding binding();

    /**
     * Completes when the binding's FUSE loop has returned: no callback is running or will run,
     * except jfuse's {@code destroy}, which {@link #release()} triggers.
     */
    CompletableFuture<Void> loopEnded();

    /** Frees native resources. Only after {@link #loopEnded()} completed; idempotent. */
    void release();

    long largestReadRequest();

    long unexpectedFailures();

    /** What the transport negotiated that a user may want to know ("passthrough on"); empty if nothing. */
    default String transportNote() {
        return "";
    }
}
