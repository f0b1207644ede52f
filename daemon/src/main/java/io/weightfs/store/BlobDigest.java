package io.weightfs.store;

import io.weightfs.manifest.ContentHash;
import io.weightfs.manifest.ContentHasher;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The running content hash of one blob, fed over its contiguous prefix as that prefix grows.
 *
 * <p>A writer whose bytes land exactly at the prefix's end hashes them from its own buffer while
 * they are still in the CPU's cache ({@link #offerHot}); bytes written further ahead (a second
 * stream on the same blob, blocks another process wrote, blocks kept from an earlier run) are hashed
 * later by reading them back from the blob file ({@link #catchUp}), which costs a page-cache read.
 * Verification thus finishes the digest instead of reading the whole blob again; the
 * {@link Blob} counts how many bytes each way took ({@link #hotBytes}, {@link #caughtUpBytes}).
 *
 * <p>Every byte is hashed exactly once, in order: only the holder of {@link #busy} touches the
 * hasher and the prefix's end, and the end only moves forward. Not I/O under a lock: the flag is
 * taken with a compare-and-set, and a thread that does not get it leaves the bytes to the holder
 * or to the catch-up that the blob schedules next.
 */
final class BlobDigest {
    private final ContentHasher hasher;
    private final long size;
    /** The generation of the blob this digest belongs to; a discard starts a new digest. */
    final long generation;
    final AtomicBoolean busy = new AtomicBoolean();
    /** Written only while holding {@link #busy}. */
    private volatile long hashedTo;
    private volatile ContentHash result;
    private long hotBytes;
    private long caughtUpBytes;
    /**
     * Scratch for hashing from a direct buffer (the sha intrinsics read byte arrays), one per
     * thread: the fetch workers and verifier threads are few, blobs being hashed may be many.
     */
    private static final ThreadLocal<byte[]> SCRATCH = ThreadLocal.withInitial(() -> new byte[1 << 20]);

    BlobDigest(ContentHash.Algorithm algorithm, long size, long generation) {
        this.hasher = ContentHasher.of(algorithm, size);
        this.size = size;
        this.generation = generation;
        if (size == 0) {
            result = hasher.finish();
        }
    }

    /** Bytes hashed so far: the hashed prefix is {@code [0, hashedTo())}. */
    long hashedTo() {
        return hashedTo;
    }

    /** The finished hash, or null while bytes are missing. */
    ContentHash result() {
        return result;
    }

    long hotBytes() {
        return hotBytes;
    }

    long caughtUpBytes() {
        return caughtUpBytes;
    }

    /**
     * Hashes {@code chunk}, the blob's bytes at {@code position}, if they continue the hashed
     * prefix and nobody else is hashing. Must be called with {@link #busy} held.
     *
     * @return whether the chunk (or the part of it beyond the prefix) was hashed
     */
    boolean offerHot(long position, ByteBuffer chunk) {
        long end = position + chunk.remaining();
        long from = hashedTo;
        if (from < position || from >= end) {
            return from >= end;
        }
        ByteBuffer part = chunk.slice(chunk.position() + (int) (from - position), (int) (end - from));
        update(part);
        hotBytes += end - from;
        return true;
    }

    /** Hashes bytes read back from the blob file at the prefix's end. Must be called with {@link #busy} held. */
    void catchUp(ByteBuffer bytesAtPrefixEnd) {
        caughtUpBytes += bytesAtPrefixEnd.remaining();
        update(bytesAtPrefixEnd);
    }

    private void update(ByteBuffer b) {
        int n = b.remaining();
        if (b.hasArray()) {
            hasher.update(b.duplicate());
        } else {
            // Copied in 1 MiB pieces into a cache-hot array (the sha intrinsics read byte arrays).
            byte[] scratch = SCRATCH.get();
            ByteBuffer d = b.duplicate();
            while (d.hasRemaining()) {
                int k = Math.min(scratch.length, d.remaining());
                d.get(scratch, 0, k);
                hasher.update(scratch, 0, k);
            }
        }
        long to = hashedTo + n;
        hashedTo = to;
        if (to == size) {
            result = hasher.finish();
        }
    }
}
