package io.weightfs.fetch;

import java.util.List;
import java.util.Objects;

/**
 * The order in which programs first read the blocks of one repo at one commit: what the next cold
 * start of the same repo@commit prefetches first. Offsets, not block numbers, so a profile survives
 * a change of block size. A profile only orders fetching; it never changes which bytes are served.
 *
 * @param reads each first read, as (repo path, byte offset of the block), in order
 */
public record AccessProfile(String repoId, String commit, List<Read> reads) {
    /** One block's first read. */
    public record Read(String path, long offset) {
        public Read {
            Objects.requireNonNull(path, "path");
            if (offset < 0) {
                throw new IllegalArgumentException("negative offset");
            }
        }
    }

    public AccessProfile {
        Objects.requireNonNull(repoId, "repoId");
        Objects.requireNonNull(commit, "commit");
        reads = List.copyOf(reads);
    }
}
