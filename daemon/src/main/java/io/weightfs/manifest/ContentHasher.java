package io.weightfs.manifest;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Incremental hasher for one blob. For {@link ContentHash.Algorithm#GIT_SHA1} the git blob header
 * ({@code "blob <size>\0"}) is fed first, so the caller only streams the file's bytes.
 *
 * <p>Not thread-safe: one hasher belongs to one thread at a time.
 */
public final class ContentHasher {
    /** Large enough that the per-call overhead of a positional read disappears; small enough for a thread stack's worth of heap. */
    private static final int READ_BUFFER_BYTES = 1 << 20;

    private final ContentHash.Algorithm algorithm;
    private final MessageDigest digest;
    private final long expectedSize;
    private long seen;

    private ContentHasher(ContentHash.Algorithm algorithm, long size) {
        this.algorithm = algorithm;
        this.expectedSize = size;
        try {
            this.digest = MessageDigest.getInstance(algorithm == ContentHash.Algorithm.SHA256 ? "SHA-256" : "SHA-1");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("JDK lacks a standard digest", e);
        }
        if (algorithm == ContentHash.Algorithm.GIT_SHA1) {
            digest.update(("blob " + size + "\0").getBytes(StandardCharsets.US_ASCII));
        }
    }

    /** A hasher for a blob of exactly {@code size} bytes. */
    public static ContentHasher of(ContentHash.Algorithm algorithm, long size) {
        if (size < 0) {
            throw new IllegalArgumentException("negative size " + size);
        }
        return new ContentHasher(algorithm, size);
    }

    public void update(ByteBuffer bytes) {
        seen += bytes.remaining();
        if (bytes.hasArray()) {
            digest.update(bytes.array(), bytes.arrayOffset() + bytes.position(), bytes.remaining());
            bytes.position(bytes.limit());
        } else {
            digest.update(bytes);
        }
    }

    public void update(byte[] bytes, int offset, int length) {
        seen += length;
        digest.update(bytes, offset, length);
    }

    /** Bytes fed so far. */
    public long position() {
        return seen;
    }

    /**
     * Finishes the hash.
     *
     * @throws IllegalStateException if the number of bytes fed differs from the size given at
     *     creation (a git sha1 of the wrong size would be silently wrong)
     */
    public ContentHash finish() {
        if (seen != expectedSize) {
            throw new IllegalStateException("hashed " + seen + " bytes of a blob of " + expectedSize);
        }
        return new ContentHash(algorithm, HexFormat.of().formatHex(digest.digest()));
    }

    /** Hashes a whole file, which must be exactly {@code size} bytes long. */
    public static ContentHash hashFile(Path file, ContentHash.Algorithm algorithm) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ContentHasher hasher = of(algorithm, size);
            // A heap buffer: MessageDigest.update(ByteBuffer) copies a direct buffer out 4 KiB at a
            // time before the sha intrinsics see it, which costs more than the one read copy.
            ByteBuffer buf = ByteBuffer.allocate((int) Math.min(READ_BUFFER_BYTES, Math.max(size, 1)));
            long pos = 0;
            while (pos < size) {
                buf.clear();
                int n = ch.read(buf, pos);
                if (n < 0) {
                    throw new IOException(file + " shrank while being hashed (at byte " + pos + " of " + size + ")");
                }
                pos += n;
                buf.flip();
                hasher.update(buf);
            }
            return hasher.finish();
        }
    }

    /** Hashes an in-memory blob. */
    public static ContentHash hash(byte[] bytes, ContentHash.Algorithm algorithm) {
        ContentHasher h = of(algorithm, bytes.length);
        h.update(bytes, 0, bytes.length);
        return h.finish();
    }
}
