package io.weightfs.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * A validated, immutable config: the repos to serve, in file order ({@code model_cache} entries
 * first, then {@code weights}).
 *
 * @param file where it was read from (for messages); may be a placeholder for configs built in code
 */
public record WeightsConfig(Path file, List<RepoEntry> entries, java.util.Optional<SharedCache> sharedCache) {
    public WeightsConfig {
        Objects.requireNonNull(file, "file");
        entries = List.copyOf(entries);
        Objects.requireNonNull(sharedCache, "sharedCache");
    }

    public WeightsConfig(Path file, List<RepoEntry> entries) {
        this(file, entries, java.util.Optional.empty());
    }

    /**
     * The region's shared cache tier, from the config's {@code weightfs:} section
     * ({@code shared_cache: DIR}, {@code namespace: ORG}); the command line's --shared/--namespace win.
     */
    public record SharedCache(Path dir, String namespace) {}
}
