package io.weightfs.source;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * The per-block hash list of a blob in the shared tier ({@code <hash>.blocks}): lets a node that
 * reads a shared blob lazily check every block as it arrives, long before the whole blob could be
 * hashed.
 *
 * <p>Format (big-endian): magic {@code "WFSBLKS1"} (8 bytes), block size (int), blob size (long),
 * block count (int), then one sha256 (32 bytes) per block. Validated on read, never guessed at.
 */
public final class BlockList {
    private static final byte[] MAGIC = "WFSBLKS1".getBytes(StandardCharsets.US_ASCII);
    private static final int HEADER = 8 + 4 + 8 + 4;
    private static final int HASH = 32;

    private final int blockSize;
    private final long size;
    private final byte[][] hashes;

    BlockList(int blockSize, long size, byte[][] hashes) {
        this.blockSize = blockSize;
        this.size = size;
        this.hashes = hashes;
    }

    public int blockSize() {
        return blockSize;
    }

    public long size() {
        return size;
    }

    public int blockCount() {
        return hashes.length;
    }

    public long blockOffset(int block) {
        return (long) block * blockSize;
    }

    public int blockLength(int block) {
        return (int) Math.min(blockSize, size - blockOffset(block));
    }

    /** Whether {@code bytes} (position to limit) are block {@code block}'s content. */
    public boolean matches(int block, ByteBuffer bytes) {
        MessageDigest d = sha256();
        update(d, bytes.duplicate());
        return Arrays.equals(hashes[block], d.digest());
    }

    /** Digest a buffer; straight from its array when it has one (the fast path for the sha intrinsics). */
    static void update(MessageDigest d, ByteBuffer b) {
        if (b.hasArray()) {
            d.update(b.array(), b.arrayOffset() + b.position(), b.remaining());
        } else {
            d.update(b);
        }
    }

    byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(HEADER + HASH * hashes.length);
        b.put(MAGIC).putInt(blockSize).putLong(size).putInt(hashes.length);
        for (byte[] h : hashes) {
            b.put(h);
        }
        return b.array();
    }

    static BlockList decode(byte[] data, long expectedSize) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(data);
        if (data.length < HEADER || !Arrays.equals(Arrays.copyOf(data, 8), MAGIC)) {
            throw new IOException("not a weightfs block list (bad magic)");
        }
        b.position(8);
        int blockSize = b.getInt();
        long size = b.getLong();
        int count = b.getInt();
        long want = blockSize <= 0 ? -1 : (size + blockSize - 1) / blockSize;
        if (blockSize <= 0 || size != expectedSize || count != want || data.length != HEADER + (long) HASH * count) {
            throw new IOException("block list does not fit its blob (block size " + blockSize + ", size " + size
                    + ", blocks " + count + ", expected size " + expectedSize + ")");
        }
        byte[][] hashes = new byte[count][HASH];
        for (int i = 0; i < count; i++) {
            b.get(hashes[i]);
        }
        return new BlockList(blockSize, size, hashes);
    }

    /** Builds a list while a blob streams past, in order, in chunks of any size. */
    static final class Builder {
        private final int blockSize;
        private final long size;
        private final byte[][] hashes;
        private final MessageDigest digest = sha256();
        private long inBlock;
        private int next;

        Builder(int blockSize, long size) {
            this.blockSize = blockSize;
            this.size = size;
            this.hashes = new byte[(int) ((size + blockSize - 1) / blockSize)][];
        }

        /** Feeds the next bytes of the blob. */
        void update(ByteBuffer chunk) {
            ByteBuffer c = chunk.duplicate();
            while (c.hasRemaining()) {
                int n = (int) Math.min(c.remaining(), blockSize - inBlock);
                ByteBuffer part = c.slice(c.position(), n);
                BlockList.update(digest, part);
                c.position(c.position() + n);
                inBlock += n;
                long blockLen = Math.min(blockSize, size - (long) next * blockSize);
                if (inBlock == blockLen) {
                    hashes[next++] = digest.digest();
                    inBlock = 0;
                }
            }
        }

        BlockList build() {
            if (next != hashes.length) {
                throw new IllegalStateException(next + " of " + hashes.length + " blocks hashed");
            }
            return new BlockList(blockSize, size, hashes);
        }
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
