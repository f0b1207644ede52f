package io.weightfs.manifest;

import io.weightfs.config.RepoEntry;
import io.weightfs.config.Token;
import java.util.List;
import java.util.Optional;

/**
 * A config entry pinned to a commit: the files its patterns select, and the token for its repo.
 *
 * @param files the manifest's files that pass the entry's allow/ignore patterns, sorted by path
 */
public record ResolvedEntry(RepoEntry entry, Manifest manifest, List<ManifestFile> files, Optional<Token> token) {
    public ResolvedEntry {
        files = List.copyOf(files);
    }

    public long totalBytes() {
        long sum = 0;
        for (ManifestFile f : files) {
            sum += f.size();
        }
        return sum;
    }
}
