package io.weightfs.cli;

import io.weightfs.config.ConfigException;
import io.weightfs.config.RepoEntry;
import io.weightfs.config.WeightsConfig;
import io.weightfs.fetch.EagerFetcher;
import io.weightfs.fetch.FetchProgress;
import io.weightfs.hub.HubClient;
import io.weightfs.manifest.ManifestFile;
import io.weightfs.manifest.ManifestResolver;
import io.weightfs.manifest.ManifestStore;
import io.weightfs.manifest.ResolvedEntry;
import io.weightfs.source.HubSource;
import io.weightfs.source.RepoFile;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code weightfs fetch}: the eager download, for hosts where FUSE is not allowed. */
@Command(
        name = "fetch",
        mixinStandardHelpOptions = true,
        description = {
            "Download every file of the configured repos into DEST/<volume_folder>/, in parallel ranged parts.",
            "Each file is verified against its content hash before it is renamed into place; a second run",
            "downloads nothing that is already verified. Exit status 0 only when every file is verified."
        })
final class FetchCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Option(names = "--dest", required = true, paramLabel = "DIR", description = "Where the files go.")
    Path dest;

    @Option(names = "--block-size", paramLabel = "SIZE", defaultValue = "8MiB", converter = Sizes.class,
            description = "The unit of durable progress and of fetching (default: ${DEFAULT-VALUE}); a killed fetch resumes"
                    + " from its last durable byte.")
    long blockSize;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = Durations.class,
            description = "Give up on files not verified after this long (e.g. 30m); default: as long as it takes."
                    + " What arrived is kept for the next run.")
    Duration timeout;


    @Option(names = "--progress", paramLabel = "MODE", defaultValue = "auto",
            description = "auto (a bar on a terminal, lines otherwise), bar, lines or none.")
    String progressMode;

    @Override
    public Integer call() {
        PrintStream err = System.err;
        WeightsConfig config;
        try {
            config = common.loadConfig(dest);
        } catch (ConfigException e) {
            err.println("weightfs fetch: bad config\n" + e.getMessage());
            return Main.EXIT_USAGE;
        }
        long started = System.nanoTime();
        try (HubClient hub = common.hubClient()) {
            ManifestResolver resolver = new ManifestResolver(hub, new ManifestStore(common.store().resolve("manifests")));
            List<ResolvedEntry> entries = new ArrayList<>();
            for (RepoEntry e : config.entries()) {
                try {
                    entries.add(resolver.resolve(e, common.tokens().resolve(e.secretName())));
                } catch (ManifestResolver.NothingMatchesException nothing) {
                    err.println("weightfs fetch: " + nothing.getMessage());
                    return Main.EXIT_USAGE;
                } catch (IOException io) {
                    err.println("weightfs fetch: " + e.label() + ": " + io.getMessage());
                    return Main.EXIT_FAILED;
                }
            }
            List<EagerFetcher.Job> jobs = jobs(dest, entries);
            FetchProgress progress = new FetchProgress();
            EagerFetcher.Options options = new EagerFetcher.Options(common.connections, (int) blockSize,
                    timeout == null ? Duration.ZERO : timeout, EagerFetcher.Options.DEFAULTS.retryBase());
            java.util.Optional<io.weightfs.source.SharedTier> shared;
            try {
                shared = common.sharedTier(config);
            } catch (IllegalArgumentException e) {
                err.println("weightfs fetch: " + e.getMessage());
                return Main.EXIT_USAGE;
            }
            io.weightfs.source.Source source = new HubSource(hub);
            if (shared.isPresent()) {
                source = new io.weightfs.source.TieredSource(new io.weightfs.source.SharedSource(shared.get()), source, java.time.Clock.systemUTC());
            }
            List<EagerFetcher.Outcome> outcomes;
            io.weightfs.store.BlockStore nodeStore = null;
            try {
                // Given --store (or a shared tier), fill and read the node store as a mount does and copy
                // verified files out; otherwise fill hidden temporary files beside the destinations.
                if (common.store != null || shared.isPresent()) {
                    nodeStore = io.weightfs.store.BlockStore.open(common.store(),
                            io.weightfs.store.StoreOptions.DEFAULTS.withBlockSize((int) blockSize));
                }
                EagerFetcher fetcher = new EagerFetcher(source, options, nodeStore, shared);
                try (ProgressPrinter printer = printer(progress)) {
                    outcomes = fetcher.fetch(jobs, progress);
                }
            } finally {
                if (nodeStore != null) {
                    nodeStore.close();
                }
                shared.ifPresent(io.weightfs.source.SharedTier::close);
            }
            return report(outcomes, progress.snapshot(), System.nanoTime() - started, err);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("weightfs fetch: interrupted; finished files are verified, the rest were not written");
            return Main.EXIT_FAILED;
        } catch (IOException e) {
            err.println("weightfs fetch: cannot open the node store " + common.store() + ": " + e.getMessage());
            return Main.EXIT_FAILED;
        }
    }

    static List<EagerFetcher.Job> jobs(Path dest, List<ResolvedEntry> entries) {
        List<EagerFetcher.Job> jobs = new ArrayList<>();
        for (ResolvedEntry r : entries) {
            Path folder = dest.resolve(r.entry().folder());
            for (ManifestFile f : r.files()) {
                jobs.add(new EagerFetcher.Job(folder.resolve(f.path()),
                        new RepoFile(r.manifest().repoId(), r.manifest().commit(), f, r.token(), r.manifest().repoType())));
            }
        }
        return jobs;
    }

    private ProgressPrinter printer(FetchProgress progress) {
        boolean terminal = ProgressPrinter.stderrIsTerminal();
        ProgressPrinter p = switch (progressMode) {
            case "bar" -> new ProgressPrinter(progress, System.err, true);
            case "lines" -> new ProgressPrinter(progress, System.err, false);
            case "none" -> null;
            default -> new ProgressPrinter(progress, System.err, terminal);
        };
        return p == null ? new ProgressPrinter(progress, System.err, false) : p.start();
    }

    static int report(List<EagerFetcher.Outcome> outcomes, FetchProgress.Snapshot s, long nanos, PrintStream err) {
        int downloaded = 0;
        int present = 0;
        List<String> failures = new ArrayList<>();
        for (EagerFetcher.Outcome o : outcomes) {
            switch (o.status()) {
                case DOWNLOADED -> downloaded++;
                case ALREADY_VERIFIED -> present++;
                case FAILED -> failures.add(o.job().destination() + ": " + o.error());
            }
        }
        err.printf("weightfs fetch: %d files verified (%d downloaded, %d already present), %s downloaded in %.1f s (%s)%s%n",
                downloaded + present, downloaded, present, Sizes.format(s.bytesDownloaded()), nanos / 1e9,
                Sizes.rate(s.bytesDownloaded(), nanos),
                s.hashMismatches() > 0 ? ", " + s.hashMismatches() + " hash mismatches discarded" : "");
        if (!failures.isEmpty()) {
            err.println("weightfs fetch: " + failures.size() + " files FAILED:");
            for (String f : failures) {
                err.println("  " + f);
            }
            return Main.EXIT_FAILED;
        }
        return 0;
    }
}
