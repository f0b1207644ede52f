/**
 * Where bytes come from. A {@link io.weightfs.source.Source} opens a byte range of one repo file as
 * a {@link io.weightfs.hub.ByteStream} that the caller pulls in large reads: the Hub
 * ({@link io.weightfs.source.HubSource}), the region's shared tier
 * ({@link io.weightfs.source.SharedSource}, which checks every block against the tier's block list
 * before handing out a byte of it), or both, each read going to the one expected to deliver soonest
 * ({@link io.weightfs.source.TieredSource}). Whole-blob verification against the manifest's hash is
 * the store's job; a source never decides that a blob is right, it only refuses bytes it can prove
 * wrong.
 */
package io.weightfs.source;
