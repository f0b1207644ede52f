package io.weightfs.source;

import io.weightfs.hub.RangeSink;
import io.weightfs.manifest.ContentHash;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The shared tier as a source. Every block is read whole and checked against the blob's block list
 * before any of its bytes reach the sink: nothing unverified leaves this class. A block that fails
 * the check is counted, the shared blob is quarantined, and {@link CorruptSharedBlobException} tells
 * the caller to take the bytes from the next tier.
 *
 * <p>Thread-safe. Memory is bounded: at most {@link #BUFFERS} block buffers exist, and a read beyond
 * that waits for one.
 */
public final class SharedSource implements Source {
    /** Concurrent shared-tier reads; each holds one block buffer (8 MiB with this node's lists). */
    static final int BUFFERS = 4;

    private final SharedTier tier;
    private final BlockingQueue<ByteBuffer> buffers = new ArrayBlockingQueue<>(BUFFERS);
    private final AtomicLong badBlocks = new AtomicLong();

    /** A shared blob failed its block check: it was quarantined; read elsewhere. */
    public static final class CorruptSharedBlobException extends IOException {
        CorruptSharedBlobException(String message) {
            super(message);
        }
    }

    public SharedSource(SharedTier tier) {
        this.tier = tier;
    }

    public SharedTier tier() {
        return tier;
    }

    @Override
    public String name() {
        return "shared";
    }

    public boolean has(RepoFile file) {
        return tier.has(file.file().hash());
    }

    public long badBlocks() {
        return badBlocks.get();
    }

    @Override
    public void read(RepoFile file, long offset, long length, RangeSink sink) throws IOException {
        ContentHash h = file.file().hash();
        BlockList list;
        try {
            list = tier.blockList(h, file.size());
        } catch (SharedTier.BadContentException e) {
            // Only content that stayed bad over re-reads; a read that failed (ESTALE to the end) is no reason.
            tier.quarantine(h, "its block list is unusable: " + e.getMessage());
            throw new CorruptSharedBlobException("shared blob " + h + " has an unusable block list: " + e.getMessage());
        }
        ByteBuffer buf = takeBuffer(list.blockSize());
        try {
            long end = offset + length;
            for (int b = (int) (offset / list.blockSize()); b < list.blockCount() && list.blockOffset(b) < end; b++) {
                long blockStart = list.blockOffset(b);
                int blockLen = list.blockLength(b);
                // Reads, retries ESTALE, and re-reads stale or short content before calling it bad.
                if (!tier.readVerifiedBlock(h, list, b, buf)) {
                    badBlocks.incrementAndGet();
                    tier.quarantine(h, "block " + b + " does not match its hash");
                    throw new CorruptSharedBlobException("block " + b + " of shared blob " + h + " does not match its hash");
                }
                long from = Math.max(offset, blockStart);
                long to = Math.min(end, blockStart + blockLen);
                ByteBuffer part = buf.slice((int) (from - blockStart), (int) (to - from));
                sink.write(from, part);
            }
        } finally {
            buffers.offer(buf);
        }
        tier.touchUsed(h);
    }

    private ByteBuffer takeBuffer(int blockSize) throws IOException {
        ByteBuffer b = buffers.poll();
        if (b == null) {
            synchronized (this) {
                if (allocated < BUFFERS) {
                    allocated++;
                    // Heap: the block is hashed before use, and digests read arrays fastest.
                    return ByteBuffer.allocate(Math.max(blockSize, SharedTier.BLOCK_SIZE));
                }
            }
            try {
                b = buffers.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted waiting for a shared-tier buffer");
            }
        }
        if (b.capacity() < blockSize) {
            // A list written with bigger blocks than ours: a one-off buffer of its size.
            return ByteBuffer.allocate(blockSize);
        }
        return b;
    }

    /** Guarded by this. */
    private int allocated;
}
