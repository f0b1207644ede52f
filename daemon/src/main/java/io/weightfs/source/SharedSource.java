package io.weightfs.source;

import io.weightfs.hub.ByteStream;
import io.weightfs.hub.Deadline;
import io.weightfs.manifest.ContentHash;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The shared tier as a source. Every block is read whole and checked against the blob's block list
 * before any of its bytes are handed out: nothing unverified leaves this class. A block that fails
 * the check is counted, the shared blob is quarantined, and {@link CorruptSharedBlobException} tells
 * the caller to take the bytes from the next tier.
 *
 * <p>Thread-safe. Memory is bounded: at most {@link #BUFFERS} block buffers exist, and a stream
 * beyond that waits for one.
 */
public final class SharedSource implements Source {
    /** Concurrent shared-tier streams; each holds one block buffer (8 MiB with this node's lists). */
    static final int BUFFERS = 4;

    private final SharedTier tier;
    private final BlockingQueue<ByteBuffer> buffers = new ArrayBlockingQueue<>(BUFFERS);
    private final AtomicLong badBlocks = new AtomicLong();
    /** Guarded by this. */
    private int allocated;

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
    public ByteStream open(RepoFile file, long offset, long length, Deadline deadline) throws IOException {
        ContentHash h = file.file().hash();
        BlockList list;
        try {
            list = tier.blockList(h, file.size());
        } catch (SharedTier.BadContentException e) {
            // Only content that stayed bad over re-reads; a read that failed (ESTALE to the end) is no reason.
            tier.quarantine(h, "its block list is unusable: " + e.getMessage());
            throw new CorruptSharedBlobException("shared blob " + h + " has an unusable block list: " + e.getMessage());
        }
        return new BlockCheckedStream(file, list, offset, offset + length);
    }

    /** Reads the tier's blob a whole block at a time, hands out bytes only of blocks that matched. */
    private final class BlockCheckedStream implements ByteStream, CheckedStream {
        private final RepoFile file;
        private final BlockList list;
        private final long end;
        private long pos;
        private ByteBuffer block;
        /** File offset of {@link #block}'s first byte, when it holds a checked block. */
        private long blockStart = -1;

        BlockCheckedStream(RepoFile file, BlockList list, long offset, long end) {
            this.file = file;
            this.list = list;
            this.pos = offset;
            this.end = end;
        }

        @Override
        public boolean deliveredChecked() {
            return true;
        }

        @Override
        public long position() {
            return pos;
        }

        @Override
        public long end() {
            return end;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            if (pos >= end) {
                return -1;
            }
            int b = (int) (pos / list.blockSize());
            if (blockStart != list.blockOffset(b)) {
                loadChecked(b);
            }
            int from = (int) (pos - blockStart);
            int n = (int) Math.min(Math.min(dst.remaining(), end - pos), list.blockLength(b) - from);
            dst.put(block.slice(from, n));
            pos += n;
            if (pos >= end) {
                tier.touchUsed(file.file().hash());
            }
            return n;
        }

        private void loadChecked(int b) throws IOException {
            if (block == null) {
                block = takeBuffer(list.blockSize());
            }
            long start = list.blockOffset(b);
            ContentHash h = file.file().hash();
            // Reads, retries ESTALE, and re-reads stale or short content before calling it bad.
            if (!tier.readVerifiedBlock(h, list, b, block)) {
                blockStart = -1;
                badBlocks.incrementAndGet();
                tier.quarantine(h, "block " + b + " does not match its hash");
                throw new CorruptSharedBlobException("block " + b + " of shared blob " + h + " does not match its hash");
            }
            blockStart = start;
        }

        @Override
        public void close() {
            if (block != null) {
                buffers.offer(block);
                block = null;
            }
        }
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
}
