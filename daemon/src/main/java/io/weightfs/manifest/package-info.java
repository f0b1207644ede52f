/**
 * Pinned file lists: which files a repo has at a commit, at what size, with what content hash.
 * {@link io.weightfs.manifest.ManifestResolver} builds them from the Hub once;
 * {@link io.weightfs.manifest.ManifestStore} keeps them on disk so that a later start of a commit
 * already seen needs no network. {@link io.weightfs.manifest.PathFilter} applies a config's
 * allow/ignore patterns to them, and {@link io.weightfs.manifest.ContentHasher} computes the hashes
 * every downloaded byte is checked against.
 */
package io.weightfs.manifest;
