/**
 * The node block store: one sparse data file per blob, content-addressed
 * ({@code blobs/sha256/ab/<hash>}, {@code blobs/sha1/cd/<hash>}), filled block by block with
 * positional writes, and a durable index (a persisted Chronicle Map) of which blocks are present,
 * with a CRC32C for each, and which blobs are verified.
 *
 * <p><b>Durable vs in-flight.</b> The index holds only durable facts: a block is recorded only
 * after its bytes were forced to disk, a blob is recorded verified only after its whole content
 * hashed right. Everything else (which blocks were written by this process but not yet synced, who
 * is fetching what) lives in memory. After {@code kill -9} or a power cut a block is therefore
 * either present and intact (its CRC is checked once on first use after a restart) or absent.
 *
 * <p>Only this package imports Chronicle Map. The store knows nothing of FUSE or HTTP.
 */
package io.weightfs.store;
