package io.weightfs.serve;

import java.nio.file.Path;

/**
 * One file of one served repo, as scanned and hashed at start.
 *
 * @param repo the repo id, {@code org/name}
 * @param path the path inside the repo, {@code /}-separated
 * @param file where the bytes are on disk
 * @param size the size in bytes at scan time
 * @param modifiedMillis the modification time at scan time (a rescan rehashes only changed files)
 * @param lfs whether it is served as an LFS file
 * @param gitOid the tree {@code oid}: git blob sha1 of the content, or of the LFS pointer for LFS files
 * @param sha256 sha256 of the content for LFS files, else null
 * @param pointerSize length of the LFS pointer text for LFS files, else 0
 */
record ServedFile(
        String repo, String path, Path file, long size, long modifiedMillis, boolean lfs,
        String gitOid, String sha256, int pointerSize) {

    /** The hash the file's content is known by: sha256 for LFS files, git sha1 otherwise. */
    String contentHash() {
        return lfs ? sha256 : gitOid;
    }

    /** The file's own ETag value, quoted. */
    String etag() {
        return '"' + contentHash() + '"';
    }
}
