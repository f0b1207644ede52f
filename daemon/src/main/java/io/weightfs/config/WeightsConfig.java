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
public record WeightsConfig(Path file, List<RepoEntry> entries) {
    public WeightsConfig {
        Objects.requireNonNull(file, "file");
        entries = List.copyOf(entries);
    }
}
