package io.weightfs.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A validated, immutable config: the repos to serve, in file order ({@code model_cache} entries
 * first, then {@code weights}), and the {@code weightfs:} section's settings.
 *
 * @param file where it was read from (for messages); may be a placeholder for configs built in code
 * @param hfCache the folder of the mount where the repos also appear in huggingface_hub's cache
 *     layout ({@code hf_cache:}), normalised like an entry's folder and apart from every entry's
 * @param metrics where the mount serves Prometheus metrics ({@code metrics:})
 * @param verify what may be served before a file is verified ({@code verify: lazy | before-serve})
 * @param readTimeout how long a read may wait for its bytes ({@code read_timeout:})
 */
public record WeightsConfig(Path file, List<RepoEntry> entries, Optional<SharedCache> sharedCache, Optional<String> hfCache,
        Optional<MetricsAddress> metrics, Optional<String> verify, Optional<java.time.Duration> readTimeout) {
    public WeightsConfig {
        Objects.requireNonNull(file, "file");
        entries = List.copyOf(entries);
        Objects.requireNonNull(sharedCache, "sharedCache");
        Objects.requireNonNull(hfCache, "hfCache");
        Objects.requireNonNull(metrics, "metrics");
        Objects.requireNonNull(verify, "verify");
        Objects.requireNonNull(readTimeout, "readTimeout");
    }

    public WeightsConfig(Path file, List<RepoEntry> entries, Optional<SharedCache> sharedCache, Optional<String> hfCache,
            Optional<MetricsAddress> metrics) {
        this(file, entries, sharedCache, hfCache, metrics, Optional.empty(), Optional.empty());
    }

    public WeightsConfig(Path file, List<RepoEntry> entries, Optional<SharedCache> sharedCache) {
        this(file, entries, sharedCache, Optional.empty(), Optional.empty());
    }

    public WeightsConfig(Path file, List<RepoEntry> entries) {
        this(file, entries, Optional.empty());
    }

    /** The same config with the cache view at {@code folder} (already validated: see ConfigLoader.withHfCache). */
    WeightsConfig withHfCache(Optional<String> folder) {
        return new WeightsConfig(file, entries, sharedCache, folder, metrics, verify, readTimeout);
    }

    /**
     * The region's shared cache tier, from the config's {@code weightfs:} section
     * ({@code shared_cache: DIR}, {@code namespace: ORG}); the command line's --shared/--namespace win.
     */
    public record SharedCache(Path dir, String namespace) {}
}
