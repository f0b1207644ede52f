package io.weightfs.store;

import io.weightfs.manifest.ContentHash;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.zip.CRC32C;

/**
 * One content-addressed blob: a sparse data file of its final size, filled block by block, with its
 * durable facts in a {@link BlobState} file and its content hash computed as the bytes arrive
 * ({@link BlobDigest}).
 *
 * <p><b>What is known where.</b> Durable (shared with every process on the node, survives kill -9):
 * each block's durable bytes and CRC32C, the verified mark, fetch claims. In memory (this process):
 * which blocks may be served ({@code present}: written here, or durable anywhere), which of those
 * were CRC-checked here ({@code checked}), how far the blocks being written have got
 * ({@code written}), the running digest.
 *
 * <p><b>Locks.</b> The in-memory bits are guarded by {@code this}; no I/O happens under it. Reads do
 * not lock: a reader notes {@link #generation()}, reads, and checks it again; a discard retires
 * the blob (bumping it) before anything is removed, so a reader that raced a discard opens the blob
 * afresh instead of serving discarded bytes. One {@link Writer} per block at a time (the fetch layer's claims see to that).
 */
public final class Blob {
    private final BlockStore store;
    private final ContentHash hash;
    private final long size;
    private final int blockSize;
    private final int blockCount;
    private final FileChannel channel;
    private final BlobState state;

    /** Guarded by this. Blocks whose bytes are in the file and may be served. */
    private final BitSet present = new BitSet();
    /** Guarded by this. Present blocks CRC-checked in this process, or written by it. */
    private final BitSet checked = new BitSet();
    /** Guarded by this. Bytes of each block written by this process so far, from the block's start. */
    private final int[] written;
    /** Guarded by this. Blocks whose bytes were checked against a per-block hash (the shared tier's list) as they arrived. */
    private final BitSet hashChecked = new BitSet();
    /** Guarded by this. CRC32C of present blocks. */
    private final int[] crcs;
    /** Guarded by this. The content hashed right (this generation); servable as verified. */
    private boolean hashMatched;
    /** Guarded by this. The verified mark is durable and the listeners were told. */
    private boolean verifiedAnnounced;
    /** Guarded by this. Bumped once, when the blob is retired. */
    private long generation;
    private volatile BlobDigest digest;
    /** Completes true when the content hashed right, false when it was discarded. */
    private final java.util.concurrent.CompletableFuture<Boolean> verification = new java.util.concurrent.CompletableFuture<>();
    private final AtomicBoolean catchUpQueued = new AtomicBoolean();
    /** Guarded by this for writes. */
    private volatile boolean retired;

    Blob(BlockStore store, ContentHash hash, long size, int blockSize, FileChannel channel, BlobState state) {
        this.store = store;
        this.hash = hash;
        this.size = size;
        this.blockSize = blockSize;
        this.blockCount = BlobState.blockCount(size, blockSize);
        this.channel = channel;
        this.state = state;
        this.written = new int[blockCount];
        this.crcs = new int[blockCount];
        if (state.verified()) {
            adoptVerified();
        } else {
            for (int b = 0; b < blockCount; b++) {
                long w = state.progressWord(b);
                if (BlobState.bytesOf(w) == blockLength(b)) {
                    present.set(b);
                    crcs[b] = BlobState.crcOf(w);
                }
            }
        }
        this.digest = new BlobDigest(hash.algorithm(), size, 0);
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

    FileChannel channel() {
        return channel;
    }

    BlobState state() {
        return state;
    }

    // --- what may be served ----------------------------------------------------------------------

    /**
     * Whether the whole content hashed right: in this process, or durably in any process on the
     * node. Every byte of a verified blob may be served.
     */
    public boolean isVerified() {
        synchronized (this) {
            if (hashMatched) {
                return true;
            }
        }
        if (state.verified() && !state.retired()) {
            adoptVerified();
            return true;
        }
        return false;
    }

    /** Whether the verified mark is durable (the blob will be verified after a restart too). */
    public boolean isVerifiedDurably() {
        return state.verified();
    }

    private synchronized void adoptVerified() {
        present.set(0, blockCount);
        checked.set(0, blockCount);
        for (int b = 0; b < blockCount; b++) {
            written[b] = blockLength(b);
        }
        hashMatched = true;
        verification.complete(true);
    }

    /**
     * Completes true once the content hashed right, false if the content was discarded (then the
     * store has a new blob for the hash: open it again).
     */
    public java.util.concurrent.CompletableFuture<Boolean> verification() {
        return verification;
    }


    /**
     * Whether a block's bytes are all in the file: written here, or durable in the state file
     * (another process, or an earlier run, wrote them; then they are CRC-checked on first use).
     */
    public boolean isPresent(int block) {
        synchronized (this) {
            if (present.get(block)) {
                return true;
            }
        }
        if (isRetired()) {
            return false;
        }
        long w = state.progressWord(block);
        if (BlobState.bytesOf(w) != blockLength(block)) {
            return false;
        }
        synchronized (this) {
            if (retired) {
                return false;
            }
            if (!present.get(block)) {
                present.set(block);
                crcs[block] = BlobState.crcOf(w);
            }
        }
        kickDigest();
        return true;
    }

    /** Blocks present now (for progress reports). */
    public synchronized int presentCount() {
        return hashMatched ? blockCount : present.cardinality();
    }

    /** Bytes of present blocks. */
    public synchronized long presentBytes() {
        if (hashMatched) {
            return size;
        }
        long sum = 0;
        for (int b = present.nextSetBit(0); b >= 0; b = present.nextSetBit(b + 1)) {
            sum += blockLength(b);
        }
        return sum;
    }

    /**
     * Bytes of a block written so far by this process (all of them for a present block): a read of
     * bytes below this may be served before the block is complete.
     */
    public synchronized int writtenBytes(int block) {
        return present.get(block) ? blockLength(block) : written[block];
    }

    /**
     * Whether a block can be served. A block written by another process or an earlier run is
     * CRC-checked on its first use here (reading it once); one that fails is dropped and this
     * returns false, so the caller fetches it again.
     */
    public boolean ensureReadable(int block) throws IOException {
        if (!isPresent(block)) {
            return false;
        }
        int expected;
        long gen;
        synchronized (this) {
            if (checked.get(block)) {
                return present.get(block);
            }
            expected = crcs[block];
            gen = generation;
        }
        int actual = crc(block);
        synchronized (this) {
            if (generation != gen || !present.get(block)) {
                return false; // discarded meanwhile, or another thread found it bad first
            }
            if (checked.get(block)) {
                return true;
            }
            if (actual == expected) {
                checked.set(block);
                return present.get(block);
            }
            present.clear(block);
            written[block] = 0;
        }
        state.setProgress(block, 0, 0);
        store.blockCorrupt(this, block, expected, actual);
        return false;
    }

    /** Notes that a block's bytes were checked against its own hash (a shared tier's block list) as they arrived. */
    public synchronized void markBlockHashChecked(int block) {
        hashChecked.set(block);
    }

    /** Whether a block's bytes were checked against its own hash, so they may be served before the whole blob is verified. */
    public synchronized boolean isBlockHashChecked(int block) {
        return hashMatched || hashChecked.get(block);
    }

    /** Bytes of a block that are durable (recorded by any process), from its start. */
    public int durableBytes(int block) {
        return state.durableBytes(block);
    }

    /**
     * Changes when the blob is retired (its content was discarded, or it was evicted, here or in
     * another process); see the class comment. A reader that sees it change opens the blob again.
     */
    public long generation() {
        if (!retired && state.retired()) {
            retireDiscarded();
        }
        synchronized (this) {
            return generation;
        }
    }

    /** Whether the blob was evicted or discarded since it was opened: open it again from the store. */
    public boolean isRetired() {
        if (!retired && state.retired()) {
            retireDiscarded();
        }
        return retired;
    }

    void retire() {
        retireDiscarded();
    }

    /**
     * Forgets everything this object knew, for good: nothing of this content is served through it,
     * readers notice the generation change and open the blob afresh, and writers still writing
     * into it write into files that are gone.
     */
    synchronized void retireDiscarded() {
        if (retired) {
            return;
        }
        retired = true;
        generation++;
        present.clear();
        checked.clear();
        hashChecked.clear();
        java.util.Arrays.fill(written, 0);
        hashMatched = false;
        verifiedAnnounced = false;
        verification.complete(false);
    }

    /** Positional read of bytes the caller has made sure are readable. */
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

    // --- fetch claims (across the node's processes) --------------------------------------------

    /** Claims the download of a block across every process on the node. False: another process is fetching it. */
    public boolean claimFetch(int block) {
        return state.claim(block, store.nowSeconds(), BlockStore.CLAIM_STALE_SECONDS, store.owners()::dead);
    }

    /** Keeps this process's claim on a block alive while its download progresses. */
    public void refreshClaim(int block) {
        state.refreshClaim(block, store.nowSeconds());
    }

    /** Gives up this process's claim on a block (its download failed, or it is durable). */
    public void releaseClaim(int block) {
        state.releaseClaim(block);
    }

    /** Whether the new blocks of this blob may be cached: false below the store's free-space floor. */
    public boolean mayCache() {
        return store.mayCache();
    }

    /** Notes a read of this blob, for least-recently-used eviction. */
    public void noteUse() {
        store.noteUse(hash);
    }

    // --- writing -----------------------------------------------------------------------------------

    /**
     * A writer for consecutive bytes from the start of {@code block}, or from as far into it as an
     * earlier writer got durably (checked against the CRC recorded with that progress; a prefix that
     * does not match is written again). The caller holds the block's fetch claim.
     */
    public Writer openWriter(int block) throws IOException {
        if (block < 0 || block >= blockCount) {
            throw new IllegalArgumentException("block " + block + " outside blob " + hash + " of " + blockCount + " blocks");
        }
        long word = state.progressWord(block);
        int durable = Math.min(BlobState.bytesOf(word), blockLength(block));
        CRC32C crc = new CRC32C();
        if (durable > 0 && durable < blockLength(block)) {
            int actual = crcOfRange(blockOffset(block), durable, crc);
            if (actual != BlobState.crcOf(word)) {
                store.blockCorrupt(this, block, BlobState.crcOf(word), actual);
                crc.reset();
                durable = 0;
            }
        } else {
            durable = 0;
        }
        long gen = generation();
        synchronized (this) {
            written[block] = Math.max(written[block], durable);
        }
        return new Writer(block, durable, crc, gen);
    }

    /**
     * Writes one stream of consecutive bytes into the blob: each chunk with one positional write
     * (or as few as the kernel needs), the block's CRC32C and the blob's digest updated from the
     * writer's own buffer while the bytes are hot. Crossing a block's end commits the block
     * (servable at once, durable after the syncer's next batch). Not thread-safe: one thread.
     */
    public final class Writer {
        private int block;
        private int inBlock;
        private final CRC32C crc;
        private final long gen;
        private long position;

        private Writer(int block, int inBlock, CRC32C crc, long gen) {
            this.block = block;
            this.inBlock = inBlock;
            this.crc = crc;
            this.gen = gen;
            this.position = blockOffset(block) + inBlock;
        }

        /** The blob offset of the next byte this writer expects. */
        public long position() {
            return position;
        }

        /** The block being written (blockCount when the writer reached the blob's end). */
        public int block() {
            return block;
        }

        /**
         * Writes {@code chunk} (position to limit) at {@link #position()}; consumes it.
         *
         * @return how many blocks this chunk completed (0, 1, or more for a chunk bigger than a block)
         * @throws NoSpaceException if the store's filesystem is full (a store problem, not a network one)
         */
        public int write(ByteBuffer chunk) throws IOException {
            int completed = 0;
            while (chunk.hasRemaining()) {
                if (block >= blockCount) {
                    throw new IOException("write past the end of blob " + hash + " (" + size + " bytes)");
                }
                int length = blockLength(block);
                int n = Math.min(chunk.remaining(), length - inBlock);
                ByteBuffer part = chunk.slice(chunk.position(), n);
                writeFully(part.duplicate(), position);
                crc.update(part.duplicate());
                int bytes = inBlock + n;
                synchronized (Blob.this) {
                    if (generation == gen) {
                        written[block] = Math.max(written[block], bytes);
                    }
                }
                store.syncer().written(Blob.this, block, bytes, (int) crc.getValue(), gen, n);
                offerDigest(position, part);
                chunk.position(chunk.position() + n);
                position += n;
                inBlock = bytes;
                if (inBlock == length) {
                    commit(block, (int) crc.getValue(), gen);
                    completed++;
                    block++;
                    inBlock = 0;
                    crc.reset();
                }
            }
            return completed;
        }

        private void writeFully(ByteBuffer b, long at) throws IOException {
            long pos = at;
            try {
                while (b.hasRemaining()) {
                    pos += channel.write(b, pos);
                }
            } catch (IOException e) {
                if (BlockStore.isNoSpace(e)) {
                    store.noteFull(e);
                    throw new NoSpaceException("the node store's filesystem is full (" + e.getMessage() + ")");
                }
                throw e;
            }
        }
    }

    private void commit(int block, int crc, long gen) {
        synchronized (this) {
            if (generation != gen) {
                return;
            }
            crcs[block] = crc;
            present.set(block);
            checked.set(block);
            written[block] = blockLength(block);
        }
        store.blockCommitted();
    }

    // --- durability (called by the syncer) -----------------------------------------------------

    /**
     * Records durable progress of a block, if it is still this generation's and raises what the
     * state file says. Returns whether the block is now wholly durable.
     */
    boolean recordDurable(int block, int bytes, int crc, long gen) {
        if (generation() != gen) {
            return false; // retired: its files are gone, and what we would record is of no use
        }
        if (bytes > state.durableBytes(block)) {
            state.setProgress(block, bytes, crc);
        }
        return state.durableBytes(block) == blockLength(block);
    }

    /** After a sync batch: release claims of durable blocks; record verified once everything is durable. */
    void afterSync(List<Integer> wholeBlocks) {
        for (int b : wholeBlocks) {
            state.releaseClaim(b);
        }
        boolean announce;
        synchronized (this) {
            announce = hashMatched && !verifiedAnnounced && allDurable();
            if (announce) {
                verifiedAnnounced = true;
            }
        }
        if (announce) {
            state.setFlag(BlobState.VERIFIED);
            store.blobVerified(this);
        }
    }

    private boolean allDurable() {
        for (int b = 0; b < blockCount; b++) {
            if (state.durableBytes(b) != blockLength(b)) {
                return false;
            }
        }
        return true;
    }

    // --- verification --------------------------------------------------------------------------

    /** Hashes a writer's chunk if it continues the hashed prefix; otherwise leaves it to the catch-up. */
    private void offerDigest(long position, ByteBuffer part) {
        BlobDigest d = digest;
        if (d.result() != null) {
            return;
        }
        if (d.hashedTo() == position && d.busy.compareAndSet(false, true)) {
            try {
                if (d.generation == generation()) {
                    d.offerHot(position, part);
                }
            } finally {
                d.busy.set(false);
            }
        }
        afterDigestStep(d);
    }

    /** The end of the prefix of bytes written (present blocks, then the written part of the next). */
    private synchronized long contiguousWritten(long from) {
        if (hashMatched) {
            return size;
        }
        for (int b = blockOf(from); b < blockCount; b++) {
            if (!present.get(b)) {
                return blockOffset(b) + written[b];
            }
        }
        return size;
    }

    /** Looks whether the digest finished, or can go on by reading back bytes written ahead of it. */
    private void afterDigestStep(BlobDigest d) {
        if (d != digest) {
            return;
        }
        if (d.result() != null) {
            finishVerification(d);
        } else if (d.hashedTo() < contiguousWritten(d.hashedTo())) {
            kickDigest();
        }
    }

    /** Schedules a catch-up of the digest over bytes already written, on the store's verifier threads. */
    void kickDigest() {
        BlobDigest d = digest;
        if (d.result() != null) {
            if (!hashMatchedNow()) {
                store.verifyLater(() -> finishVerification(d));
            }
            return;
        }
        if (d.hashedTo() >= contiguousWritten(d.hashedTo())) {
            return;
        }
        if (catchUpQueued.compareAndSet(false, true)) {
            store.verifyLater(this::catchUp);
        }
    }

    private synchronized boolean hashMatchedNow() {
        return hashMatched;
    }

    /**
     * Hashes, from the file, the bytes between the digest's end and the end of the written prefix.
     * Blocks this process did not write are CRC-checked first. Runs on a verifier thread.
     */
    private void catchUp() {
        catchUpQueued.set(false);
        BlobDigest d = digest;
        if (!d.busy.compareAndSet(false, true)) {
            return; // the holder looks again when it lets go
        }
        try {
            ByteBuffer buf = ByteBuffer.allocate((int) Math.min(1 << 20, Math.max(1, size)));
            while (d == digest && d.result() == null) {
                long from = d.hashedTo();
                long to = contiguousWritten(from);
                if (from >= to) {
                    break;
                }
                int b = blockOf(from);
                boolean unchecked;
                synchronized (this) {
                    unchecked = present.get(b) && !checked.get(b);
                }
                if (unchecked && !ensureReadable(b)) {
                    break; // dropped: it will be fetched again, and the digest waits for it
                }
                buf.clear();
                buf.limit((int) Math.min(buf.capacity(), Math.min(to, blockOffset(b) + blockLength(b)) - from));
                int n = channel.read(buf, from);
                if (n <= 0) {
                    throw new IOException("blob file " + hash + " ended at " + from + " of " + size);
                }
                buf.flip();
                if (d.generation != generation()) {
                    break;
                }
                d.catchUp(buf);
            }
        } catch (IOException | RuntimeException e) {
            store.verificationFailed(this, e);
        } finally {
            d.busy.set(false);
        }
        afterDigestStep(d);
    }

    /** The digest is complete: the blob is verified, or its content was wrong and is discarded. */
    private void finishVerification(BlobDigest d) {
        ContentHash actual = d.result();
        if (actual == null || d != digest) {
            return;
        }
        if (actual.equals(hash)) {
            boolean first;
            synchronized (this) {
                first = !hashMatched && generation == d.generation;
                if (first) {
                    hashMatched = true;
                    verification.complete(true);
                }
            }
            if (first) {
                store.blobHashed(this, d);
                store.syncer().soon(this);
            }
            return;
        }
        synchronized (this) {
            if (generation != d.generation || hashMatched) {
                return;
            }
        }
        store.blobCorrupt(this, actual);
    }

    /** For a blob found complete (or empty) when opened: hash what is there. */
    void verifyIfComplete() {
        if (hashMatchedNow()) {
            if (!state.verified()) {
                store.syncer().soon(this);
            }
            return;
        }
        kickDigest();
    }

    int crc(int block) throws IOException {
        return crcOfRange(blockOffset(block), blockLength(block), new CRC32C());
    }

    private int crcOfRange(long start, int length, CRC32C c) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(Math.min(Math.max(length, 1), 1 << 20));
        long pos = start;
        long end = start + length;
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

    @Override
    public String toString() {
        return hash.toString();
    }
}
