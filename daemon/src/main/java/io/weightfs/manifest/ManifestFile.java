package io.weightfs.manifest;

import java.util.Objects;

/**
 * One file of a pinned repo: its path inside the repo ({@code /}-separated, no leading slash), its
 * exact size and its content hash. Path and size keep {@link ListingRules}.
 */
public record ManifestFile(String path, long size, ContentHash hash) {
    public ManifestFile {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(hash, "hash");
        // The rules live in ListingRules; the message names the entry, the caller adds the repo.
        var problem = ListingRules.pathProblem(path).or(() -> ListingRules.sizeProblem(size));
        if (problem.isPresent()) {
            throw new IllegalArgumentException("entry " + ListingRules.quoted(path) + " " + problem.get());
        }
    }

    /** True for LFS (sha256-addressed) files, which in practice hold the weights. */
    public boolean isLfs() {
        return hash.algorithm() == ContentHash.Algorithm.SHA256;
    }
}
