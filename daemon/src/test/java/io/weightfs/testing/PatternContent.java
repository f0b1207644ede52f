package io.weightfs.testing;

import io.weightfs.manifest.ContentHash;
import io.weightfs.manifest.ContentHasher;
import io.weightfs.manifest.ManifestFile;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * File content that is a pure function of (seed, offset): any range can be produced or checked
 * without storing the file, so tests can use large files and compare every byte cheaply.
 */
public record PatternContent(long seed, long size) {
    public byte at(long offset) {
        long x = (seed * 0x9E3779B97F4A7C15L) ^ (offset >>> 3);
        x ^= x >>> 33;
        x *= 0xff51afd7ed558ccdL;
        x ^= x >>> 33;
        x *= 0xc4ceb9fe1a85ec53L;
        x ^= x >>> 33;
        return (byte) (x >>> ((offset & 7) * 8));
    }

    /** Fills {@code dst} (position to limit) with the bytes starting at {@code offset}. */
    public void fill(long offset, ByteBuffer dst) {
        long o = offset;
        while (dst.hasRemaining()) {
            dst.put(at(o++));
        }
    }

    public byte[] bytes(long offset, int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = at(offset + i);
        }
        return b;
    }

    public ContentHash hash(ContentHash.Algorithm algorithm) {
        ContentHasher h = ContentHasher.of(algorithm, size);
        byte[] buf = new byte[64 * 1024];
        for (long off = 0; off < size; off += buf.length) {
            int n = (int) Math.min(buf.length, size - off);
            for (int i = 0; i < n; i++) {
                buf[i] = at(off + i);
            }
            h.update(buf, 0, n);
        }
        return h.finish();
    }

    public ManifestFile manifestFile(String path, ContentHash.Algorithm algorithm) {
        return new ManifestFile(path, size, hash(algorithm));
    }

    /** Writes the whole content to a file. */
    public void writeTo(Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        try (OutputStream out = Files.newOutputStream(file)) {
            byte[] buf = new byte[64 * 1024];
            for (long off = 0; off < size; off += buf.length) {
                int n = (int) Math.min(buf.length, size - off);
                for (int i = 0; i < n; i++) {
                    buf[i] = at(off + i);
                }
                out.write(buf, 0, n);
            }
        }
    }

    /** Index of the first byte of {@code file} that differs from this content, or -1 if identical. */
    public long firstDifference(Path file) throws IOException {
        if (Files.size(file) != size) {
            return Math.min(Files.size(file), size);
        }
        try (var in = Files.newInputStream(file)) {
            byte[] buf = new byte[64 * 1024];
            long off = 0;
            int n;
            while ((n = in.read(buf)) > 0) {
                for (int i = 0; i < n; i++) {
                    if (buf[i] != at(off + i)) {
                        return off + i;
                    }
                }
                off += n;
            }
        }
        return -1;
    }
}
