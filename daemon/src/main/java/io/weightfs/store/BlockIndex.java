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

    boolean isVerified(ContentHash blob);

    void markVerified(ContentHash blob);

    @Override
    void close();
}
