/**
 * Block stores: one sparse data file per blob, content-addressed ({@code blobs/sha256/ab/<hash>},
 * {@code blobs/sha1/cd/<hash>}) in the node store, filled block by block with positional writes,
 * beside it a memory-mapped state file ({@code <hash>.state}, see {@link io.weightfs.store.BlobState})
 * with each block's durable bytes and CRC32C, the verified mark and cross-process fetch claims.
 *
 * <p><b>Durable vs in-flight.</b> A state file holds only durable facts: progress is raised only
 * after the bytes were forced to disk (batched by the {@link io.weightfs.store.Syncer}), a blob is
 * marked verified only after its whole content hashed right and every block was durable.
 * Everything else (bytes written but not yet synced, the running digest) lives in memory. After
 * {@code kill -9} or a power cut a block is therefore either intact up to its recorded progress (its
 * CRC is checked once on first use after a restart) or absent.
 *
 * <p><b>Verification.</b> The content hash ({@code sha256} or the git blob {@code sha1}) is
 * computed as bytes are written, from the writer's buffer where they continue the hashed prefix,
 * otherwise read back later ({@link io.weightfs.store.BlobDigest}); a mismatch discards the blob.
 *
 * <p>The store knows nothing of FUSE or HTTP, and nothing of who wants which block: that is the
 * fetch layer's.
 */
package io.weightfs.store;
