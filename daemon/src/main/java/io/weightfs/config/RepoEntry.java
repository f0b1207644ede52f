package io.weightfs.config;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One validated repo entry of a config file, whichever form it was written in.
 *
 * @param index the entry's position in its section (0-based), for error messages
 * @param section {@code model_cache} or {@code weights}
 * @param repoId a valid Hub repo id ({@code org/name} or {@code name})
 * @param revision branch, tag, {@code refs/pr/N} or 40-hex commit; {@code main} when not given
 * @param folder where the repo appears, relative to the mount root (or fetch destination): a
 *     normalised relative path with {@code /} separators, never empty, never containing {@code ..}
 * @param allowPatterns fnmatchcase patterns a file must match one of; empty Optional = no allow filter
 * @param ignorePatterns fnmatchcase patterns that exclude a file; may be empty
 * @param secretName name of the secret file holding the token ({@code runtime_secret_name} /
 *     {@code auth_secret_name}), if any
 * @param repoType a model or a dataset repo ({@code repo_type:}, or {@code hf://datasets/...})
 * @param baked {@code use_volume: false}: the weights are baked into the image at build time
 *     ({@code weightfs bake}) and the mount presents them from those files, with no download
 */
public record RepoEntry(
        int index,
        String section,
        String repoId,
        String revision,
        String folder,
        Optional<List<String>> allowPatterns,
        List<String> ignorePatterns,
        Optional<String> secretName,
        RepoType repoType,
        boolean baked) {

    /** An entry served from the Hub (or the shared tier), not baked. */
    public RepoEntry(int index, String section, String repoId, String revision, String folder,
            Optional<List<String>> allowPatterns, List<String> ignorePatterns, Optional<String> secretName, RepoType repoType) {
        this(index, section, repoId, revision, folder, allowPatterns, ignorePatterns, secretName, repoType, false);
    }

    /** A model repo's entry. */
    public RepoEntry(int index, String section, String repoId, String revision, String folder,
            Optional<List<String>> allowPatterns, List<String> ignorePatterns, Optional<String> secretName) {
        this(index, section, repoId, revision, folder, allowPatterns, ignorePatterns, secretName, RepoType.MODEL, false);
    }

    public RepoEntry {
        Objects.requireNonNull(section, "section");
        Objects.requireNonNull(repoId, "repoId");
        Objects.requireNonNull(revision, "revision");
        Objects.requireNonNull(folder, "folder");
        allowPatterns = allowPatterns.map(List::copyOf);
        ignorePatterns = List.copyOf(ignorePatterns);
        Objects.requireNonNull(secretName, "secretName");
        Objects.requireNonNull(repoType, "repoType");
    }

    /** How error messages name this entry, e.g. {@code model_cache[1] (org/name)}. */
    public String label() {
        return section + "[" + index + "] (" + repoType.qualify(repoId) + ")";
    }

    /** The same entry pinned to {@code commit} (what a baked entry was baked at). */
    public RepoEntry atRevision(String commit) {
        return new RepoEntry(index, section, repoId, commit, folder, allowPatterns, ignorePatterns, secretName, repoType, baked);
    }
}
