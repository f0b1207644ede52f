package io.weightfs.hub;

import java.util.Objects;

/**
 * One file entry of a tree listing (HUB-PROTOCOL.md §2).
 *
 * @param path repo path, {@code /}-separated
 * @param size the file's size ({@code lfs.size} for LFS files)
 * @param oid git blob sha1 (of the LFS pointer, for LFS files)
 * @param lfsSha256 the content's sha256 for LFS files, else null
 */
public record TreeFile(String path, long size, String oid, String lfsSha256) {
    public TreeFile {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(oid, "oid");
    }
}
