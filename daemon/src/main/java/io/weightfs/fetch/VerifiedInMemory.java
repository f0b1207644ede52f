package io.weightfs.fetch;

import io.weightfs.manifest.ContentHash;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Small files verified in memory because the store had no room for them (configs, tokenizers: the
 * files that must be checked before they are served): kept, least recently used dropped first, so
 * that each read of one does not fetch it whole again. Bounded to {@link #MAX_BYTES}.
 *
 * <p>Thread-safe (synchronized; no I/O).
 */
final class VerifiedInMemory {
    /** Room for a model's metadata files several times over; nothing next to the heap. */
    static final long MAX_BYTES = 32L << 20;
    /** A larger file is not fetched whole into memory. */
    static final long MAX_FILE_BYTES = 16L << 20;

    private final LinkedHashMap<ContentHash, byte[]> files = new LinkedHashMap<>(16, 0.75f, true);
    private long bytes;

    synchronized byte[] get(ContentHash h) {
        return files.get(h);
    }

    synchronized void put(ContentHash h, byte[] content) {
        byte[] old = files.put(h, content);
        bytes += content.length - (old == null ? 0 : old.length);
        for (var it = files.entrySet().iterator(); bytes > MAX_BYTES && it.hasNext(); ) {
            Map.Entry<ContentHash, byte[]> e = it.next();
            if (e.getKey().equals(h)) {
                continue;
            }
            bytes -= e.getValue().length;
            it.remove();
        }
    }
}
