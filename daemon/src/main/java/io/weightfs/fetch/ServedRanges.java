package io.weightfs.fetch;

import io.weightfs.manifest.ContentHash;
import io.weightfs.store.Blob;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;

/**
 * Bytes that were served before their blob could be verified (a multi-block file from a source
 * without per-block hashes, served lazily), remembered as (offset, length, CRC32C) so that once the
 * blob is verified each range can be compared with the right content. A range that differs, or a
 * blob that never verifies, makes its files "served wrong": status, metrics and {@code wait} name
 * them, because a reader that used those bytes must start again.
 *
 * <p>Most early bytes are read from the blob's own file, written once in the generation that
 * later verifies: those bytes are the ones the hash was computed from, so the comparison is skipped
 * for them (it would read the whole blob again; for a cold sequential read that is a second pass
 * over every byte). Only bytes read straight from the source, or from an earlier generation of the
 * blob (discarded and fetched again since), are compared.
 *
 * <p>Memory is bounded ({@link #MAX_RANGES} per blob, 24 bytes each); past that the blob is only
 * known to have served unverified bytes, and a failed verification counts its files as served wrong.
 *
 * <p>Thread-safe: one lock per blob's list, held for an append or a swap; the comparison reads the
 * blob file outside it.
 */
final class ServedRanges {
    /**
     * Random reads each leave a range; a sequential reader's reads join one. 16 Ki ranges (256 KiB
     * per blob) cover any loader's random reads of one file.
     */
    static final int MAX_RANGES = 1 << 14;

    private static final class Served {
        /** Guarded by this: offset, length, crc triples. */
        final List<long[]> ranges = new ArrayList<>();
        /** Guarded by this. */
        boolean overflowed;
        /** Guarded by this: the running CRC of the last range, extended while reads continue it. */
        CRC32C lastCrc;
        /** Guarded by this: the blob object every range so far was read from, or null. */
        Blob from;
        /** Guarded by this: its generation then. */
        long generation;
        /** Guarded by this: some range came from the source, or from another object or generation. */
        boolean mixed;
    }

    private final Map<ContentHash, Served> byBlob = new ConcurrentHashMap<>();
    private final AtomicLong skipped = new AtomicLong();
    private final AtomicLong compared = new AtomicLong();

    /** Verified blobs whose early bytes all came from their own file, so they were not read again. */
    long skipped() {
        return skipped.get();
    }

    /** Verified blobs whose early bytes were compared with the verified content. */
    long compared() {
        return compared.get();
    }

    /**
     * Notes that {@code bytes} (position to limit) of a blob were served at {@code offset}, unverified,
     * read from {@code from}'s file in its generation {@code generation}, or from the source when
     * {@code from} is null.
     */
    void record(ContentHash hash, long offset, ByteBuffer bytes, Blob from, long generation) {
        Served s = byBlob.computeIfAbsent(hash, h -> new Served());
        synchronized (s) {
            if (from == null) {
                s.mixed = true;
            } else if (s.ranges.isEmpty() && s.from == null && !s.mixed) {
                s.from = from;
                s.generation = generation;
            } else if (s.from != from || s.generation != generation) {
                s.mixed = true;
            }
            long[] last = s.ranges.isEmpty() ? null : s.ranges.getLast();
            if (last != null && s.lastCrc != null && last[0] + last[1] == offset) {
                // A sequential reader continues the last range: one range (and one CRC) per stream.
                s.lastCrc.update(bytes.duplicate());
                last[1] += bytes.remaining();
                last[2] = s.lastCrc.getValue();
                return;
            }
            if (s.ranges.size() >= MAX_RANGES) {
                s.overflowed = true;
                return;
            }
            CRC32C c = new CRC32C();
            c.update(bytes.duplicate());
            s.ranges.add(new long[] {offset, bytes.remaining(), c.getValue()});
            s.lastCrc = c;
        }
    }

    /** Whether any unverified bytes of this blob were served. */
    boolean any(ContentHash hash) {
        return byBlob.containsKey(hash);
    }

    /**
     * The blob is verified: compares every served range with its content and forgets them. Ranges
     * that were all read from this very blob object in its current generation are its verified
     * bytes already, and are not read again.
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
            if (!s.mixed && s.from == blob && s.generation == blob.generation()) {
                skipped.incrementAndGet();
                return 0;
            }
            ranges = List.copyOf(s.ranges);
        }
        compared.incrementAndGet();
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
