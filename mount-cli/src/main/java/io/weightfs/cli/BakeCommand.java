package io.weightfs.cli;

import io.weightfs.config.ConfigException;
import io.weightfs.config.RepoEntry;
import io.weightfs.config.WeightsConfig;
import io.weightfs.fetch.EagerFetcher;
import io.weightfs.fetch.FetchProgress;
import io.weightfs.hub.HubClient;
import io.weightfs.manifest.ManifestResolver;
import io.weightfs.manifest.ResolvedEntry;
import io.weightfs.source.BakedFiles;
import io.weightfs.source.HubSource;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code weightfs bake}: the use_volume: false entries' weights into an image, at build time. */
@Command(
        name = "bake",
        mixinStandardHelpOptions = true,
        description = {
            "Bake the weights of the config's use_volume: false entries into DEST (a Containerfile RUN step): every",
            "file is downloaded and verified into DEST/<volume_folder>/, with its manifest and per-block hashes in",
            "DEST/" + BakedFiles.DIR + "/. At run time, 'weightfs mount --baked DEST' serves those entries from these",
            "files with no download, each block checked; a missing or damaged file is never served from there.",
            "Exit status 0 only when every file is baked."
        })
final class BakeCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Option(names = "--dest", required = true, paramLabel = "DIR",
            description = "Where the baked weights go (e.g. /app/weightfs-baked; not the mountpoint, which the mount hides).")
    Path dest;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = Durations.class,
            description = "Give up on files not verified after this long (e.g. 30m); default: as long as it takes.")
    Duration timeout;

    @Override
    public Integer call() {
        PrintStream err = System.err;
        WeightsConfig config;
        try {
            config = common.loadConfig(dest);
        } catch (ConfigException e) {
            err.println("weightfs bake: bad config\n" + e.getMessage());
            return Main.EXIT_USAGE;
        }
        List<RepoEntry> toBake = config.entries().stream().filter(RepoEntry::baked).toList();
        if (toBake.isEmpty()) {
            err.println("weightfs bake: no entry of " + common.config + " has use_volume: false, so there is nothing to bake"
                    + " (the other entries are mounted lazily; mark those to bake with use_volume: false)");
            return Main.EXIT_USAGE;
        }
        long started = System.nanoTime();
        try (HubClient hub = common.hubClient()) {
            // The manifests go straight into the baked layout: no node store is left behind in the image.
            ManifestResolver resolver = new ManifestResolver(hub, BakedFiles.manifestsAt(dest));
            List<ResolvedEntry> entries = new ArrayList<>();
            for (RepoEntry e : toBake) {
                try {
                    entries.add(resolver.resolve(e, common.tokens().resolve(e.secretName())));
                } catch (ManifestResolver.NothingMatchesException nothing) {
                    err.println("weightfs bake: " + nothing.getMessage());
                    return Main.EXIT_USAGE;
                } catch (IOException io) {
                    err.println("weightfs bake: " + e.label() + ": " + io.getMessage());
                    return Main.EXIT_FAILED;
                }
            }
            Files.createDirectories(dest);
            FetchProgress progress = new FetchProgress();
            EagerFetcher.Options options = EagerFetcher.Options.DEFAULTS.withConnections(common.connections)
                    .withTimeout(timeout == null ? Duration.ZERO : timeout);
            List<EagerFetcher.Outcome> outcomes;
            try (ProgressPrinter printer = new ProgressPrinter(progress, err, false).start()) {
                outcomes = new EagerFetcher(new HubSource(hub), options).fetch(FetchCommand.jobs(dest, entries), progress);
            }
            int status = FetchCommand.report(outcomes, progress.snapshot(), System.nanoTime() - started, err);
            if (status != 0) {
                err.println("weightfs bake: not every file was verified, so nothing was recorded as baked; run it again");
                return status;
            }
            BakedFiles baked = BakedFiles.write(dest, entries);
            for (BakedFiles.Entry e : baked.entries()) {
                err.println("weightfs bake: " + e.repoId() + "@" + e.revision() + " (commit " + e.commit() + "): " + e.files() + " files, "
                        + Sizes.format(e.bytes()) + " in " + dest.resolve(e.folder()));
            }
            System.out.println("weightfs bake: baked into " + dest + "; serve with: weightfs mount --config " + common.config
                    + " --baked " + dest + " MOUNTPOINT");
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("weightfs bake: interrupted; nothing was recorded as baked");
            return Main.EXIT_FAILED;
        } catch (IOException e) {
            err.println("weightfs bake: " + e.getMessage());
            return Main.EXIT_FAILED;
        }
    }
}
