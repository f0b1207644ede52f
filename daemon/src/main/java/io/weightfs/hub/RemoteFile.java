package io.weightfs.hub;

import io.weightfs.config.RepoType;
import io.weightfs.config.Token;
import java.util.Objects;
import java.util.Optional;

/**
 * A file to download from the Hub: which repo, at which commit, which path, how large (the size
 * the manifest pinned, checked against what the Hub reports), the token for its repo, and whether the
 * repo is a model or a dataset (the URL differs).
 */
public record RemoteFile(String repoId, String commit, String path, long size, Optional<Token> token, RepoType repoType) {
    /** A file of a model repo. */
    public RemoteFile(String repoId, String commit, String path, long size, Optional<Token> token) {
        this(repoId, commit, path, size, token, RepoType.MODEL);
    }

    public RemoteFile {
        Objects.requireNonNull(repoId, "repoId");
        Objects.requireNonNull(commit, "commit");
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(token, "token");
        Objects.requireNonNull(repoType, "repoType");
    }

    /** How messages name it: {@code file 'a/b.json' of org/name at 0123abcd}. */
    public String describe() {
        return "file '" + path + "' of " + repoType.qualify(repoId) + " at " + commit.substring(0, Math.min(8, commit.length()));
    }
}
