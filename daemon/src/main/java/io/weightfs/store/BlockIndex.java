package io.weightfs.store;

import io.weightfs.manifest.ContentHash;
import java.util.Map;

/**
 * The durable facts of the store: which blocks of which blob are present (with their CRC32C), and
 * which blobs are verified. Implementations are thread-safe and, for the persisted one, shared
 * with other processes on the node.
 */
interface BlockIndex extends AutoCloseable {
    /** Present blocks of a blob: block number to CRC32C. */
    Map<Integer, Integer> presentBlocks(ContentHash blob, int blockCount);

    /** Records blocks as present; called only after their bytes are durable. */
    void putBlocks(ContentHash blob, Map<Integer, Integer> crcs);

    void removeBlock(ContentHash blob, int block);

    /** Removes every block and the verified mark of a blob. */
    void removeBlob(ContentHash blob, int blockCount);

    /** The CRC32C of a block if the index records it present (written by any process). */
    java.util.OptionalInt presentBlock(ContentHash blob, int block);

    /**
     * Claims the fetching of a block for {@code owner}, so other processes on the node wait for it
     * instead of downloading it too. Succeeds if nobody holds a claim, or the holder's claim was not
     * refreshed for {@code staleAfterMillis} (it died, or hangs).
     */
    boolean claim(ContentHash blob, int block, long owner, long now, long staleAfterMillis);

    /** Keeps a claim alive while its download makes progress. */
    void refreshClaim(ContentHash blob, int block, long owner, long now);

    /** Drops a claim this owner holds (the block is durable, or its download failed). */
    void releaseClaim(ContentHash blob, int block, long owner);

    boolean isVerified(ContentHash blob);

    void markVerified(ContentHash blob);

    @Override
    void close();
}
