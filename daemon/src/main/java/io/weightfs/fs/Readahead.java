package io.weightfs.fs;

import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * Predicts the next bytes of sequential streams in one open file, in the manner of mountpoint-s3's
 * prefetcher: each stream has a window of bytes to fetch ahead of it, which starts at one block and
 * doubles each time the stream moves into a new block, up to a cap, so a loader streaming a shard
 * gets the link's full rate while a random reader costs nothing extra.
 *
 * <p>A read continues a stream if it starts at most {@link #BACKWARD_SLACK} before the stream's end
 * (the kernel keeps several readahead requests in flight, and they arrive out of order) or at most
 * {@code forwardSlack} after it (a small forward seek, e.g. over a tensor a loader skips). Any
 * other read starts a new stream; several streams per handle are tracked (parallel loaders reading
 * one file through one descriptor), the least recently used dropped first.
 *
 * <p>Thread-safe (synchronized; pure arithmetic, no I/O).
 */
final class Readahead {
    /** The kernel's own readahead for one stream can reorder up to a few MiB of requests. */
    static final long BACKWARD_SLACK = 4L << 20;
    /** Streams tracked per handle: enough for a loader's worker threads sharing one descriptor. */
    static final int MAX_STREAMS = 8;

    private final long blockSize;
    private final long maxWindow;
    private final long forwardSlack;
    /** Guarded by this. Most recently used last. */
    private final ArrayDeque<Stream> streams = new ArrayDeque<>();

    /** One sequential stream: where it ends, how far ahead to fetch, which block it is in. */
    private static final class Stream {
        long end;
        long window;
        long block;

        Stream(long end, long window, long block) {
            this.end = end;
            this.window = window;
            this.block = block;
        }
    }

    /**
     * @param blockSize the store's block size: the initial window and the unit of growth
     * @param maxWindow the largest window
     */
    Readahead(long blockSize, long maxWindow) {
        this.blockSize = blockSize;
        this.maxWindow = Math.max(blockSize, maxWindow);
        // A forward seek of up to half a block is cheaper to read through than to restart for.
        this.forwardSlack = Math.max(256 * 1024, blockSize / 2);
    }

    /**
     * Records a read and returns the range to fetch ahead, {@code [from, to)}, or null when the
     * read is not (yet) part of a sequential stream.
     */
    synchronized long[] onRead(long offset, long length, long fileSize) {
        long end = offset + length;
        Stream s = find(offset);
        if (s == null) {
            if (streams.size() == MAX_STREAMS) {
                streams.removeFirst();
            }
            streams.addLast(new Stream(end, blockSize, end / blockSize));
            // A first read is not a stream yet: wait for a second one before spending bandwidth.
            return null;
        }
        streams.remove(s);
        streams.addLast(s);
        s.end = Math.max(s.end, end);
        long block = s.end / blockSize;
        if (block > s.block) {
            s.block = block;
            s.window = Math.min(maxWindow, s.window * 2);
        }
        long from = s.end;
        long to = Math.min(fileSize, from + s.window);
        return from < to ? new long[] {from, to} : null;
    }

    private Stream find(long offset) {
        for (Iterator<Stream> it = streams.descendingIterator(); it.hasNext(); ) {
            Stream s = it.next();
            if (offset >= s.end - BACKWARD_SLACK && offset <= s.end + forwardSlack) {
                return s;
            }
        }
        return null;
    }

    /** Whether a read at {@code offset} would continue one of the streams (without recording it). */
    synchronized boolean continues(long offset) {
        return find(offset) != null;
    }

    /** The window of the stream a read at {@code offset} would continue, or 0 (for tests and status). */
    synchronized long windowAt(long offset) {
        Stream s = find(offset);
        return s == null ? 0 : s.window;
    }
}
