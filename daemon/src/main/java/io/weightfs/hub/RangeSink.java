package io.weightfs.hub;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Where the bytes of a ranged download go. Called on the downloading thread, in increasing
 * position order; a retry after a cut connection continues at the first position not yet written.
 */
@FunctionalInterface
public interface RangeSink {
    /**
     * @param position offset in the file of {@code bytes}' first byte
     * @param bytes the data, between position and limit; the callee must consume all of it before
     *     returning (the buffer is reused)
     */
    void write(long position, ByteBuffer bytes) throws IOException;
}
