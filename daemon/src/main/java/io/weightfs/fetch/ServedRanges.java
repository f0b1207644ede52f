package io.weightfs.fetch;

import io.weightfs.manifest.ContentHash;
import io.weightfs.store.Blob;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32C;

/**
 * Bytes that were served before their blob could be verified (a multi-block file from a source
 * without per-block hashes, served lazily), remembered as (offset, length, CRC32C) so that once the
 * blob is verified each range can be compared with the right content. A range that differs, or a
 * blob that never verifies, makes its files "served wrong": status, metrics and {@code wait} name
 * them, because a reader that used those bytes must start again.
 *
 * <p>Memory is bounded ({@link #MAX_RANGES} per blob, 16 bytes each); past that the blob is only
 * known to have served unverified bytes, and a failed verification counts its files as served wrong.
 *
 * <p>Thread-safe: one lock per blob's list, held for an append or a swap; the comparison reads the
 * blob file outside it.
 */
final class ServedRanges {
    /** 64 Ki ranges of up to 1 MiB cover 64 GiB of one blob read in the kernel's largest requests. */
    static final int MAX_RANGES = 1 << 16;

    private static final class Served {
        /** Guarded by this: offset, length, crc triples. */
        final List<long[]> ranges = new ArrayList<>();
        /** Guarded by this. */
        boolean overflowed;
    }

    private final Map<ContentHash, Served> byBlob = new ConcurrentHashMap<>();

    /** Notes that {@code bytes} (position to limit) of a blob were served at {@code offset}, unverified. */
    void record(ContentHash hash, long offset, ByteBuffer bytes) {
        CRC32C c = new CRC32C();
        c.update(bytes.duplicate());
        Served s = byBlob.computeIfAbsent(hash, h -> new Served());
        synchronized (s) {
            if (s.ranges.size() < MAX_RANGES) {
                s.ranges.add(new long[] {offset, bytes.remaining(), c.getValue()});
            } else {
                s.overflowed = true;
            }
        }
    }

    /** Whether any unverified bytes of this blob were served. */
    boolean any(ContentHash hash) {
        return byBlob.containsKey(hash);
    }

    /**
     * The blob is verified: compares every served range with its content and forgets them.
     *
     * @return how many served ranges were wrong (0: every byte served was right)
     */
    int check(Blob blob) throws IOException {
        Served s = byBlob.remove(blob.hash());
        if (s == null) {
            return 0;
        }
        List<long[]> ranges;
        synchronized (s) {
            ranges = List.copyOf(s.ranges);
        }
        int wrong = 0;
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
        for (long[] r : ranges) {
            CRC32C c = new CRC32C();
            long pos = r[0];
            long end = r[0] + r[1];
            while (pos < end) {
                buf.clear();
                buf.limit((int) Math.min(buf.capacity(), end - pos));
                int n = blob.read(buf, pos);
                if (n <= 0) {
                    break;
                }
                buf.flip();
                c.update(buf);
                pos += n;
            }
            if (c.getValue() != r[2]) {
                wrong++;
            }
        }
        return wrong;
    }

    /** Whether the list of this blob overflowed (then a failed verification counts as wrong). */
    boolean overflowed(ContentHash hash) {
        Served s = byBlob.get(hash);
        if (s == null) {
            return false;
        }
        synchronized (s) {
            return s.overflowed;
        }
    }

    void forget(ContentHash hash) {
        byBlob.remove(hash);
    }
}
