package io.weightfs.store;

/**
 * Store settings.
 *
 * @param blockSize bytes per block; the unit of fetching, presence and per-block checksums
 * @param indexEntries capacity of the index (blocks plus blobs); the index file is sparse, so a
 *     generous number costs address space, not disk
 * @param syncIntervalMillis how long written blocks may wait to be synced and recorded together;
 *     one fsync per batch instead of one per block
 * @param maxBytes the most the blob files may hold (0: no limit); least recently used complete blobs
 *     that no open file needs are evicted to stay under it
 * @param minFreeBytes the free-space floor of the store's filesystem: below it, no new block is
 *     cached and reads are served straight from the source
 */
public record StoreOptions(int blockSize, long indexEntries, long syncIntervalMillis, long maxBytes, long minFreeBytes) {
    /**
     * 8 MiB: large enough that one ranged GET's latency is small next to its transfer, small
     * enough that a random 4 KiB read of a cold file waits for little more than one block.
     */
    public static final int DEFAULT_BLOCK_SIZE = 8 << 20;
    /** 2 M entries cover 16 TiB of blobs at the default block size. */
    public static final long DEFAULT_INDEX_ENTRIES = 2_000_000;
    /** Short enough that a kill loses little, long enough to batch a burst of blocks into one fsync. */
    public static final long DEFAULT_SYNC_INTERVAL_MILLIS = 50;

    /**
     * Leave this much of the disk alone: enough for logs and the system to keep working when a
     * model is bigger than the disk.
     */
    public static final long DEFAULT_MIN_FREE_BYTES = 512L << 20;

    public static final StoreOptions DEFAULTS = new StoreOptions(DEFAULT_BLOCK_SIZE, DEFAULT_INDEX_ENTRIES, DEFAULT_SYNC_INTERVAL_MILLIS,
            0, DEFAULT_MIN_FREE_BYTES);

    /** No size limit, the default free-space floor. */
    public StoreOptions(int blockSize, long indexEntries, long syncIntervalMillis) {
        this(blockSize, indexEntries, syncIntervalMillis, 0, DEFAULT_MIN_FREE_BYTES);
    }

    public StoreOptions {
        if (blockSize < 4096 || Integer.bitCount(blockSize) != 1) {
            throw new IllegalArgumentException("block size must be a power of two of at least 4 KiB, got " + blockSize);
        }
        if (indexEntries < 1000) {
            throw new IllegalArgumentException("index needs room for at least 1000 entries, got " + indexEntries);
        }
        if (syncIntervalMillis < 0 || maxBytes < 0 || minFreeBytes < 0) {
            throw new IllegalArgumentException("negative sync interval, size limit or free-space floor");
        }
    }

    public StoreOptions withBlockSize(int size) {
        return new StoreOptions(size, indexEntries, syncIntervalMillis, maxBytes, minFreeBytes);
    }

    public StoreOptions withMaxBytes(long max) {
        return new StoreOptions(blockSize, indexEntries, syncIntervalMillis, max, minFreeBytes);
    }

    public StoreOptions withMinFreeBytes(long min) {
        return new StoreOptions(blockSize, indexEntries, syncIntervalMillis, maxBytes, min);
    }
}
