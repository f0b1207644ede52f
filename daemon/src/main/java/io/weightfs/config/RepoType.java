package io.weightfs.config;

import java.util.Locale;
import java.util.Optional;

/**
 * The kinds of Hub repo weightfs reads, with how the Hub's URLs name each (HUB-PROTOCOL.md §0): the
 * API puts the plural in {@code /api/{models|datasets}/...}; {@code /resolve} and {@code /raw} URLs
 * have no prefix for models and {@code datasets/} for datasets.
 */
public enum RepoType {
    MODEL("model"),
    DATASET("dataset");

    private final String singular;

    RepoType(String singular) {
        this.singular = singular;
    }

    /** {@code model} or {@code dataset}, as {@code repo_type=} is written in huggingface_hub and configs. */
    public String singular() {
        return singular;
    }

    /** {@code models} or {@code datasets}: the API's path segment, {@code /api/<plural>/<repo>}. */
    public String plural() {
        return singular + "s";
    }

    /** The prefix of {@code /resolve} and {@code /raw} URLs: empty for models, {@code datasets/} else. */
    public String urlPrefix() {
        return this == MODEL ? "" : plural() + "/";
    }

    /**
     * The repo's id as one string that is unique across types: {@code org/name} for a model,
     * {@code datasets/org/name} for a dataset (the Hub reserves the names {@code datasets} and
     * {@code spaces}, so no model id looks like that).
     */
    public String qualify(String repoId) {
        return urlPrefix() + repoId;
    }

    /** Reads {@code model}/{@code dataset} (also the plurals, any case); empty for anything else. */
    public static Optional<RepoType> parse(String text) {
        String t = text.strip().toLowerCase(Locale.ROOT);
        for (RepoType type : values()) {
            if (t.equals(type.singular) || t.equals(type.plural())) {
                return Optional.of(type);
            }
        }
        return Optional.empty();
    }
}
