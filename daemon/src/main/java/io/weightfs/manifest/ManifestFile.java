package io.weightfs.manifest;

import java.util.Objects;

/**
 * One file of a pinned repo: its path inside the repo ({@code /}-separated, no leading slash), its
 * exact size and its content hash.
 */
public record ManifestFile(String path, long size, ContentHash hash) {
    public ManifestFile {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(hash, "hash");
        if (path.isEmpty() || path.startsWith("/") || path.endsWith("/") || path.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("bad repo path '" + path + "'");
        }
        for (String segment : path.split("/", -1)) {
            // A path from the network decides where a file is written: never let it climb out.
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                throw new IllegalArgumentException("repo path '" + path + "' has an empty, '.' or '..' segment");
            }
        }
        if (size < 0) {
            throw new IllegalArgumentException("negative size " + size + " for '" + path + "'");
        }
    }

    /** True for LFS (sha256-addressed) files, which in practice hold the weights. */
    public boolean isLfs() {
        return hash.algorithm() == ContentHash.Algorithm.SHA256;
    }
}
