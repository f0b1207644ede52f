package io.weightfs.fs;

import java.util.concurrent.CompletableFuture;

/**
 * What the control files {@code /.weightfs/status.json} and {@code /.weightfs/wait} say. The
 * filesystem only serves them; what they contain is the {@code control} package's.
 */
public interface ControlFiles {
    /** The status as JSON text, rendered when the file is opened. */
    String statusJson();

    /**
     * Blocks until every file is verified or has failed, or until {@code unmounting} completes
     * (then throws), and returns the wait file's text: {@code complete: N files verified} or
     * {@code failed: ...}, one line.
     */
    String awaitCompletion(CompletableFuture<?> unmounting) throws FsException;
}
