package io.weightfs.store;

import io.weightfs.manifest.ContentHash;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.BitSet;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * One content-addressed blob in the node store: a sparse file of its final size, filled block by
 * block.
 *
 * <p><b>State and locks.</b> Which blocks are present (readable), CRC-checked in this process, and
 * durable is guarded by {@code this}; no I/O happens under it. Reads do not lock: a reader notes
 * {@link #generation()}, reads, and checks the generation again; {@link #discard} bumps it before
 * it removes anything, so a reader that raced a discard retries instead of serving removed bytes.
 */
public final class Blob {
    private final BlockStore store;
    private final ContentHash hash;
    private final long size;
    private final int blockSize;
    private final int blockCount;
    private final FileChannel channel;

    /** Guarded by this. Blocks whose bytes are in the file and may be served. */
    private final BitSet present = new BitSet();
    /** Guarded by this. Present blocks whose CRC has been checked, or that this process wrote. */
    private final BitSet checked = new BitSet();
    /** Guarded by this. CRC32C of present blocks (from the index, or computed while writing). */
    private final int[] crcs;
    /** Guarded by this. */
    private boolean verified;
    /** Guarded by this. A whole-blob hash is running. */
    private boolean verifying;
    private volatile long generation;

    Blob(BlockStore store, ContentHash hash, long size, int blockSize, FileChannel channel,
            Map<Integer, Integer> durableBlocks, boolean verified) {
        this.store = store;
        this.hash = hash;
        this.size = size;
        this.blockSize = blockSize;
        this.blockCount = (int) ((size + blockSize - 1) / blockSize);
        this.channel = channel;
        this.crcs = new int[blockCount];
        this.verified = verified;
        if (verified) {
            present.set(0, blockCount);
            checked.set(0, blockCount);
        } else {
            durableBlocks.forEach((b, crc) -> {
                if (b < blockCount) {
                    present.set(b);
                    crcs[b] = crc;
                }
            });
        }
    }

    public ContentHash hash() {
        return hash;
    }

    public long size() {
        return size;
    }

    public int blockCount() {
        return blockCount;
    }

    public int blockSize() {
        return blockSize;
    }

    public long blockOffset(int block) {
        return (long) block * blockSize;
    }

    public int blockLength(int block) {
        return (int) Math.min(blockSize, size - blockOffset(block));
    }

    public int blockOf(long offset) {
        return (int) (offset / blockSize);
    }

    public synchronized boolean isVerified() {
        return verified;
    }

    public synchronized boolean isPresent(int block) {
        return present.get(block);
    }

    public synchronized int presentCount() {
        return present.cardinality();
    }

    /** Bytes of present blocks. */
    public synchronized long presentBytes() {
        long sum = 0;
        for (int b = present.nextSetBit(0); b >= 0; b = present.nextSetBit(b + 1)) {
            sum += blockLength(b);
        }
        return sum;
    }

    /**
     * Whether a block is present, here or because another process on the node recorded it in the
     * index since this blob was opened (then it is adopted, and CRC-checked on first use).
     */
    public boolean isPresentAnywhere(int block) {
        if (isPresent(block)) {
            return true;
        }
        java.util.OptionalInt crc = store.indexedBlock(hash, block);
        if (crc.isEmpty()) {
            return false;
        }
        boolean complete;
        synchronized (this) {
            if (!present.get(block)) {
                present.set(block);
                crcs[block] = crc.getAsInt();
            }
            complete = present.cardinality() == blockCount && !verified && !verifying;
            if (complete) {
                verifying = true;
            }
        }
        if (complete) {
            store.verifyLater(this);
        }
        return true;
    }

    /**
     * Claims the download of a block across every process on the node (through the index).
     * False: another process is fetching it; wait for it to appear ({@link #isPresentAnywhere}).
     */
    public boolean claimFetch(int block) throws IOException {
        return store.claim(hash, block);
    }

    /** Keeps this process's claim on a block alive while its download progresses. */
    public void refreshClaim(int block) {
        store.refreshClaim(hash, block);
    }

    /** Gives up this process's claim on a block (its download failed). */
    public void releaseClaim(int block) {
        store.releaseClaim(hash, block);
    }

    /**
     * Whether new blocks may be cached: false while the store's filesystem is below its
     * free-space floor (the refusal is counted).
     */
    public boolean cacheable() {
        if (store.lowOnSpace()) {
            store.refusedForSpace();
            return false;
        }
        return true;
    }

    /** Notes a read of this blob, for least-recently-used eviction. */
    public void noteUse() {
        store.noteUse(hash);
    }

    /** Changes whenever the blob's blocks are discarded; see the class comment. */
    public long generation() {
        return generation;
    }

    /**
     * Whether a block can be served. A block recorded by an earlier process is CRC-checked on its
     * first use in this one (reading it once); a block that fails the check is dropped, and this
     * returns false so the caller fetches it again.
     */
    public boolean ensureReadable(int block) throws IOException {
        int expected;
        if (!isPresentAnywhere(block)) {
            return false;
        }
        synchronized (this) {
            if (!present.get(block)) {
                return false;
            }
            if (checked.get(block)) {
                return true;
            }
            expected = crcs[block];
        }
        int actual = crc(block);
        synchronized (this) {
            if (actual == expected) {
                checked.set(block);
                return present.get(block);
            }
            present.clear(block);
        }
        store.blockCorrupt(this, block, expected, actual);
        return false;
    }

    /** Positional read of present bytes; the caller has checked the blocks. */
    public int read(ByteBuffer dst, long offset) throws IOException {
        int total = 0;
        long pos = offset;
        while (dst.hasRemaining() && pos < size) {
            int n = channel.read(dst, pos);
            if (n < 0) {
                break;
            }
            total += n;
            pos += n;
        }
        return total;
    }

    /** Starts writing a block. One writer per block at a time (the fetch layer's single-flight). */
    public BlockWriter openBlock(int block) {
        if (block < 0 || block >= blockCount) {
            throw new IllegalArgumentException("block " + block + " outside blob " + hash + " of " + blockCount + " blocks");
        }
        return new BlockWriter(block);
    }

    /** Writes one block's bytes, in order, computing its CRC32C as they pass. */
    public final class BlockWriter {
        private final int block;
        private final long start;
        private final int length;
        private final CRC32C crc = new CRC32C();
        private long written;

        private BlockWriter(int block) {
            this.block = block;
            this.start = blockOffset(block);
            this.length = blockLength(block);
        }

        /**
         * @param blobOffset where {@code data} goes, in blob coordinates; must continue where the
         *     last write ended (a resumed download continues, it never rewinds)
         */
        public void write(long blobOffset, ByteBuffer data) throws IOException {
            if (blobOffset != start + written) {
                throw new IOException("block " + block + " of " + hash + ": write at " + blobOffset + ", expected " + (start + written));
            }
            int n = data.remaining();
            if (written + n > length) {
                throw new IOException("block " + block + " of " + hash + ": " + (written + n) + " bytes for a block of " + length);
            }
            ByteBuffer dup = data.duplicate();
            long pos = blobOffset;
            while (data.hasRemaining()) {
                pos += channel.write(data, pos);
            }
            crc.update(dup);
            written += n;
        }

        /** Marks the block present (servable now, durable after the next sync). */
        public void commit() throws IOException {
            if (written != length) {
                throw new IOException("block " + block + " of " + hash + " has " + written + " of " + length + " bytes");
            }
            int value = (int) crc.getValue();
            boolean complete;
            synchronized (Blob.this) {
                crcs[block] = value;
                present.set(block);
                checked.set(block);
                complete = present.cardinality() == blockCount && !verified && !verifying;
                if (complete) {
                    verifying = true;
                }
            }
            store.blockWritten(Blob.this, block, value);
            if (complete) {
                store.verifyLater(Blob.this);
            }
        }
    }

    int crc(int block) throws IOException {
        CRC32C c = new CRC32C();
        ByteBuffer buf = ByteBuffer.allocateDirect(Math.min(blockLength(block), 1 << 20));
        long pos = blockOffset(block);
        long end = pos + blockLength(block);
        while (pos < end) {
            buf.clear();
            buf.limit((int) Math.min(buf.capacity(), end - pos));
            int n = channel.read(buf, pos);
            if (n <= 0) {
                break;
            }
            buf.flip();
            c.update(buf);
            pos += n;
        }
        return (int) c.getValue();
    }

    /** For a blob with no blocks (0 bytes) or one found complete on open: schedule its verification. */
    void verifyIfComplete() {
        boolean complete;
        synchronized (this) {
            complete = present.cardinality() == blockCount && !verified && !verifying;
            if (complete) {
                verifying = true;
            }
        }
        if (complete) {
            store.verifyLater(this);
        }
    }

    FileChannel channel() {
        return channel;
    }

    synchronized void verificationDone(boolean ok) {
        verifying = false;
        if (ok) {
            verified = true;
        }
    }

    /** Forgets every block (bumping the generation first), so nothing of this content is served. */
    void discardBlocks() {
        generation++;
        synchronized (this) {
            present.clear();
            checked.clear();
            verified = false;
            verifying = false;
        }
    }

    @Override
    public String toString() {
        return hash.toString();
    }
}
