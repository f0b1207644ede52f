package io.weightfs.hub;

import io.weightfs.config.Token;
import java.util.Objects;
import java.util.Optional;

/**
 * A file to download from the Hub: which repo, at which commit, which path, how large (the size
 * the manifest pinned, checked against what the Hub reports), and the token for its repo.
 */
public record RemoteFile(String repoId, String commit, String path, long size, Optional<Token> token) {
    public RemoteFile {
        Objects.requireNonNull(repoId, "repoId");
        Objects.requireNonNull(commit, "commit");
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(token, "token");
    }

    /** How messages name it: {@code file 'a/b.json' of org/name at 0123abcd}. */
    public String describe() {
        return "file '" + path + "' of " + repoId + " at " + commit.substring(0, Math.min(8, commit.length()));
    }
}
