package io.weightfs.source;

/**
 * A stream that can say whether the bytes it delivered were checked against per-block hashes
 * before they were handed out (the shared tier's block lists), so that they may be served before
 * the whole blob's hash is known even with {@code --verify before-serve}.
 */
public interface CheckedStream {
    /** Whether every byte delivered so far was checked against its block's hash. */
    boolean deliveredChecked();
}
