package io.weightfs.source;

import io.weightfs.config.RepoType;
import io.weightfs.config.Token;
import io.weightfs.hub.RemoteFile;
import io.weightfs.manifest.ManifestFile;
import java.util.Objects;
import java.util.Optional;

/**
 * One file of a pinned repo, with what any source needs to find its bytes: the repo and commit
 * (for the Hub), the content hash (for content-addressed tiers), the token of its entry, and whether
 * the repo is a model or a dataset.
 */
public record RepoFile(String repoId, String commit, ManifestFile file, Optional<Token> token, RepoType repoType) {
    /** A file of a model repo. */
    public RepoFile(String repoId, String commit, ManifestFile file, Optional<Token> token) {
        this(repoId, commit, file, token, RepoType.MODEL);
    }

    public RepoFile {
        Objects.requireNonNull(repoId, "repoId");
        Objects.requireNonNull(commit, "commit");
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(token, "token");
        Objects.requireNonNull(repoType, "repoType");
    }

    public long size() {
        return file.size();
    }

    public String describe() {
        return toRemote().describe();
    }

    RemoteFile toRemote() {
        return new RemoteFile(repoId, commit, file.path(), file.size(), token, repoType);
    }
}
