package io.weightfs.source;

import io.weightfs.config.Token;
import io.weightfs.hub.RemoteFile;
import io.weightfs.manifest.ManifestFile;
import java.util.Objects;
import java.util.Optional;

/**
 * One file of a pinned repo, with what any source needs to find its bytes: the repo and commit
 * (for the Hub), the content hash (for content-addressed tiers) and the token of its entry.
 */
public record RepoFile(String repoId, String commit, ManifestFile file, Optional<Token> token) {
    public RepoFile {
        Objects.requireNonNull(repoId, "repoId");
        Objects.requireNonNull(commit, "commit");
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(token, "token");
    }

    public long size() {
        return file.size();
    }

    public String describe() {
        return toRemote().describe();
    }

    RemoteFile toRemote() {
        return new RemoteFile(repoId, commit, file.path(), file.size(), token);
    }
}
