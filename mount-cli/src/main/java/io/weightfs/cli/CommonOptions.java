package io.weightfs.cli;

import io.weightfs.config.ConfigException;
import io.weightfs.config.ConfigLoader;
import io.weightfs.config.ConfigOptions;
import io.weightfs.config.TokenResolver;
import io.weightfs.config.WeightsConfig;
import io.weightfs.hub.HubClient;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** Options every command that talks to the Hub shares (a picocli mixin). */
final class CommonOptions {
    @Option(names = "--config", required = true, paramLabel = "FILE",
            description = "truss-style config.yaml with model_cache and/or weights entries.")
    Path config;

    @Option(names = "--store", paramLabel = "DIR",
            description = "Node store (manifests, blocks). Default: $WEIGHTFS_STORE, else $XDG_CACHE_HOME/weightfs or ~/.cache/weightfs.")
    Path store;

    @Option(names = "--endpoint", paramLabel = "URL",
            description = "Hub to use; overrides HF_ENDPOINT (default https://huggingface.co).")
    String endpoint;

    @Option(names = "--secrets-dir", paramLabel = "DIR",
            description = "Where runtime_secret_name/auth_secret_name files live. Default: $WEIGHTFS_SECRETS_DIR, else /secrets.")
    Path secretsDir;

    @Option(names = "--shared", paramLabel = "DIR",
            description = "The region's shared cache tier (a directory on NFS, CephFS, JuiceFS, Lustre...); needs --namespace.")
    Path shared;

    @Option(names = "--namespace", paramLabel = "ORG",
            description = "Your organisation's namespace in the shared tier; nothing is read across namespaces.")
    String namespace;

    @Option(names = "--connections", paramLabel = "N", defaultValue = "8",
            description = "Parallel ranged requests (default: ${DEFAULT-VALUE}).")
    int connections;

    WeightsConfig loadConfig(Path target) throws ConfigException {
        return ConfigLoader.load(config, ConfigOptions.forTarget(target));
    }

    Path store() {
        if (store != null) {
            return store;
        }
        Map<String, String> env = System.getenv();
        String s = env.get("WEIGHTFS_STORE");
        if (s != null && !s.isBlank()) {
            return Path.of(s);
        }
        String xdg = env.get("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("weightfs");
    }

    HubClient hubClient() {
        // One connection more than the parts in flight, so that resolving the next file's download
        // URL never waits behind a full set of part downloads.
        return hubClient(connections + 1);
    }

    HubClient hubClient(int maxConnections) {
        Map<String, String> env = new HashMap<>(System.getenv());
        if (endpoint != null) {
            env.put("HF_ENDPOINT", endpoint);
        }
        return new HubClient(HubClient.Options.fromEnvironment(env).withMaxConnections(maxConnections));
    }

    /**
     * The shared tier from --shared/--namespace, else from the config's weightfs: section, if any.
     * {@code WEIGHTFS_SHARED_LEASE_TTL_MS} shortens upload leases (tests; a very slow shared filesystem
     * may want it longer).
     */
    java.util.Optional<io.weightfs.source.SharedTier> sharedTier(WeightsConfig config) {
        String ttl = System.getenv("WEIGHTFS_SHARED_LEASE_TTL_MS");
        java.time.Duration leaseTtl = ttl == null || ttl.isBlank() ? io.weightfs.source.SharedTier.LEASE_TTL
                : java.time.Duration.ofMillis(Long.parseLong(ttl.strip()));
        if (shared == null && namespace == null) {
            return config.sharedCache().map(c -> new io.weightfs.source.SharedTier(c.dir(), c.namespace(),
                    io.weightfs.source.SharedTier.defaultNodeId(), java.time.Clock.systemUTC(), leaseTtl));
        }
        if (shared == null || namespace == null) {
            throw new IllegalArgumentException("--shared and --namespace go together: give both, or neither");
        }
        return java.util.Optional.of(new io.weightfs.source.SharedTier(shared, namespace,
                io.weightfs.source.SharedTier.defaultNodeId(), java.time.Clock.systemUTC(), leaseTtl));
    }

    TokenResolver tokens() {
        if (secretsDir == null) {
            return TokenResolver.fromEnvironment();
        }
        return new TokenResolver(secretsDir, System.getenv());
    }
}
