package io.weightfs.hub;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The bytes of one range of one file, pulled by whoever needs them: a fetch worker reads them in
 * large chunks and decides between reads what to do next (pause for a foreground read, give up a
 * claim, stop early). Implementations resume by themselves after a cut connection, from the first
 * byte not yet delivered, within their retry budget and deadline.
 *
 * <p>Not thread-safe: one reader at a time. {@link #close()} may be called early: the rest of the
 * range is abandoned.
 */
public interface ByteStream extends AutoCloseable {
    /**
     * Reads the next bytes of the range into {@code dst} (as many as arrive in one go, at most
     * {@code dst.remaining()}), in order.
     *
     * @return the number of bytes read, or -1 once the whole range was delivered
     * @throws IOException when the source failed for good (retries and deadline exhausted), or when
     *     its bytes cannot be trusted (a bad response); bytes delivered before stay delivered
     */
    int read(ByteBuffer dst) throws IOException;

    /** The file offset of the next byte {@link #read} delivers. */
    long position();

    /** The end of the range (exclusive). */
    long end();

    @Override
    void close();
}
