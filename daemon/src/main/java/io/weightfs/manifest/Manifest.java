package io.weightfs.manifest;

import io.weightfs.config.RepoType;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The pinned file list of one repo at one commit: everything a start needs to list the files at
 * their real sizes and to verify every byte, without a network call.
 *
 * @param repoId the Hub repo id, {@code org/name} or {@code name}
 * @param revision the revision that was asked for (branch, tag, {@code refs/pr/N} or a commit)
 * @param commit the 40-hex commit {@code revision} resolved to
 * @param files every file of the repo at that commit, sorted by path; patterns are applied later. No
 *     path twice, none both a file and a folder, the sizes' sum bounded ({@link ListingRules})
 * @param repoType a model or a dataset repo
 */
public record Manifest(String repoId, String revision, String commit, List<ManifestFile> files, RepoType repoType) {
    private static final Pattern COMMIT = Pattern.compile("^[0-9a-f]{40}$");

    public Manifest {
        Objects.requireNonNull(repoId, "repoId");
        Objects.requireNonNull(revision, "revision");
        if (!isCommit(commit)) {
            throw new IllegalArgumentException("not a 40-hex commit: '" + commit + "'");
        }
        files = List.copyOf(files);
        ListingRules.togetherProblem(files).ifPresent(p -> {
            throw new IllegalArgumentException(p);
        });
        Objects.requireNonNull(repoType, "repoType");
    }

    /** A model repo's manifest. */
    public Manifest(String repoId, String revision, String commit, List<ManifestFile> files) {
        this(repoId, revision, commit, files, RepoType.MODEL);
    }

    /** Whether a revision string is already a commit and needs no resolving (HUB-PROTOCOL.md §0). */
    public static boolean isCommit(String revision) {
        return revision != null && COMMIT.matcher(revision).matches();
    }

    public long totalBytes() {
        long sum = 0;
        for (ManifestFile f : files) {
            sum += f.size();
        }
        return sum;
    }
}
