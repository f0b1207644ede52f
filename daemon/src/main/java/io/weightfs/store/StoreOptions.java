package io.weightfs.store;

/**
 * Store settings.
 *
 * @param blockSize bytes per block; the unit of fetching, presence and per-block checksums
 * @param syncIntervalMillis how long written bytes may wait to be made durable and recorded
 *     together (fewer syncs; a kill loses at most this long's worth of a slow fill)
 * @param maxBytes the most the blob files may hold (0: no limit); least recently used complete blobs
 *     that no open file needs are evicted to stay under it
 * @param minFreeBytes the free-space floor of the store's filesystem: below it, no new block is
 *     cached and reads are served straight from the source
 */
public record StoreOptions(int blockSize, long syncIntervalMillis, long maxBytes, long minFreeBytes) {
    /**
     * 8 MiB: large enough that a block's bookkeeping (a claim, a CRC, a state record) costs nothing
     * next to its bytes, small enough that a random 4 KiB read of a cold file waits for little more
     * than one block, and the unit the shared tier's block lists use.
     */
    public static final int DEFAULT_BLOCK_SIZE = 8 << 20;
    /** See {@link Syncer#INTERVAL_MILLIS}. */
    public static final long DEFAULT_SYNC_INTERVAL_MILLIS = Syncer.INTERVAL_MILLIS;

    /**
     * Leave this much of the disk alone: enough for logs and the system to keep working when a
     * model is bigger than the disk.
     */
    public static final long DEFAULT_MIN_FREE_BYTES = 512L << 20;

    public static final StoreOptions DEFAULTS = new StoreOptions(DEFAULT_BLOCK_SIZE, DEFAULT_SYNC_INTERVAL_MILLIS, 0, DEFAULT_MIN_FREE_BYTES);

    /** No size limit, the default free-space floor. */
    public StoreOptions(int blockSize, long syncIntervalMillis) {
        this(blockSize, syncIntervalMillis, 0, DEFAULT_MIN_FREE_BYTES);
    }

    public StoreOptions {
        if (blockSize < 4096 || Integer.bitCount(blockSize) != 1) {
            throw new IllegalArgumentException("block size must be a power of two of at least 4 KiB, got " + blockSize);
        }
        if (syncIntervalMillis < 0 || maxBytes < 0 || minFreeBytes < 0) {
            throw new IllegalArgumentException("negative sync interval, size limit or free-space floor");
        }
    }

    public StoreOptions withBlockSize(int size) {
        return new StoreOptions(size, syncIntervalMillis, maxBytes, minFreeBytes);
    }

    public StoreOptions withMaxBytes(long max) {
        return new StoreOptions(blockSize, syncIntervalMillis, max, minFreeBytes);
    }

    public StoreOptions withMinFreeBytes(long min) {
        return new StoreOptions(blockSize, syncIntervalMillis, maxBytes, min);
    }
}
