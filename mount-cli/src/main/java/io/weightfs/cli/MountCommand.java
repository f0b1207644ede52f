package io.weightfs.cli;

import io.weightfs.config.ConfigException;
import io.weightfs.config.ConfigLoader;
import io.weightfs.config.ConfigOptions;
import io.weightfs.config.MetricsAddress;
import io.weightfs.config.WeightsConfig;
import io.weightfs.fetch.BlockFetcher;
import io.weightfs.fuse.FuseBinding;
import io.weightfs.fuse.MountOptions;
import io.weightfs.hub.HubClient;
import io.weightfs.manifest.ManifestResolver;
import io.weightfs.mount.MountDaemon;
import io.weightfs.store.StoreOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code weightfs mount}: the lazy, read-only filesystem. */
@Command(name = "mount", mixinStandardHelpOptions = true, description = {
    "Mount the configured repos read-only at MOUNTPOINT. Every file is listed at its real size at once;",
    "reads fetch the blocks they need first while a background fill downloads and verifies everything.",
    "Runs in the foreground until SIGTERM/SIGINT or 'weightfs umount'; --background detaches."
})
final class MountCommand implements Callable<Integer> {
    /** How long --background waits for the child to have mounted (resolving manifests may need the network). */
    private static final Duration BACKGROUND_READY_TIMEOUT = Duration.ofMinutes(5);
    /** Connections beyond the workers' for reads that fetch their own bytes straight from the source. */
    private static final int READ_THROUGH_CONNECTIONS = 4;

    @Mixin
    CommonOptions common;

    @Parameters(index = "0", paramLabel = "MOUNTPOINT", description = "An existing, empty directory.")
    Path mountpoint;

    @Option(names = "--fuse", paramLabel = "BINDING", defaultValue = "jfuse",
            description = "jfuse (libfuse3, the default), jnr (libfuse2, for hosts without libfuse3), or kernel"
                    + " (weightfs's own transport over /dev/fuse, no libfuse: interrupts, and FUSE passthrough of"
                    + " verified files on Linux 6.9+ as root).")
    String binding;

    @Option(names = "--allow-other", description = "Let other users (the model server's container) read the mount.")
    boolean allowOther;

    @Option(names = "--unmount-stale", description = "If MOUNTPOINT holds a stale FUSE mount whose daemon died"
            + " (\"Transport endpoint is not connected\"), unmount it first. A mount that answers is never touched."
            + " For sidecars and services that restart on the same mountpoint.")
    boolean unmountStale;

    @Option(names = "--mkdir", description = "Create MOUNTPOINT (and its parents) if it is missing, as a sidecar's"
            + " mountpoint inside a shared, empty volume is.")
    boolean mkdir;

    @Option(names = "--background", description = "Detach; return once the mount answers. Logs go to STORE/logs/.")
    boolean background;

    @Option(names = "--block-size", paramLabel = "SIZE", defaultValue = "8MiB", converter = Sizes.class,
            description = "Store block size: the unit of fetching (default: ${DEFAULT-VALUE}).")
    long blockSize;

    @Option(names = "--store-max-size", paramLabel = "SIZE", defaultValue = "0", converter = Sizes.class,
            description = "Evict least recently used complete blobs that no open file needs to keep the store under SIZE"
                    + " (default: no limit).")
    long storeMaxSize;

    @Option(names = "--store-min-free", paramLabel = "SIZE", defaultValue = "512MiB", converter = Sizes.class,
            description = "Below this much free disk, cache no new blocks and serve reads straight from the source"
                    + " (default: ${DEFAULT-VALUE}).")
    long storeMinFree;

    @Option(names = "--no-prefetch", description = "Do not fill in the background; only reads fetch.")
    boolean noPrefetch;

    @Option(names = "--scheduler", paramLabel = "MODE", defaultValue = "priority",
            description = "priority (reads first, reserved connections, the fill pauses for reads) or fifo"
                    + " (one FIFO queue: for comparison only).")
    String scheduler;

    @Option(names = "--no-profile", description = "Neither record the order programs read in, nor use a recorded order.")
    boolean noProfile;

    @Option(names = "--read-timeout", paramLabel = "DURATION", converter = Durations.class,
            description = "A read whose bytes have not arrived by then fails with EIO, with the reason logged"
                    + " (default: the config's read_timeout, else 60s).")
    Duration readTimeout;

    @Option(names = "--verify", paramLabel = "MODE",
            description = "lazy (serve bytes as they arrive, check each file's hash when it is complete, and report"
                    + " bytes served early that were wrong) or before-serve (serve a multi-block file only once its"
                    + " whole hash matched, unless its blocks were checked against the shared tier's block hashes);"
                    + " default: the config's verify, else lazy.")
    String verify;

    @Option(names = "--read-ahead-kb", paramLabel = "KB", defaultValue = "4096",
            description = "Kernel readahead for the mount, set when running as root (default: ${DEFAULT-VALUE}).")
    int readAheadKb;

    @Option(names = "--hf-cache", paramLabel = "FOLDER",
            description = "Also show the repos in huggingface_hub's cache layout under MOUNTPOINT/FOLDER (e.g. hub): set"
                    + " HF_HUB_CACHE=MOUNTPOINT/FOLDER (or HF_HOME=MOUNTPOINT for hub) and HF_HUB_OFFLINE=1. Wins over the"
                    + " config's weightfs: hf_cache.")
    String hfCache;

    @Option(names = "--metrics", paramLabel = "ADDR:PORT",
            description = "Serve Prometheus metrics at http://ADDR:PORT/metrics (e.g. 127.0.0.1:9400; :PORT for every"
                    + " interface; port 0 for a free one). Wins over the config's weightfs: metrics.")
    String metrics;

    @Option(names = "--baked", paramLabel = "DIR",
            description = "Where 'weightfs bake' put the weights of the use_volume: false entries (in an image, at build"
                    + " time): those entries are served from these files, each block checked, with no download. Must not"
                    + " be inside MOUNTPOINT.")
    Path baked;

    @Override
    public Integer call() throws Exception {
        Path mnt = mountpoint.toAbsolutePath().normalize();
        WeightsConfig config;
        try {
            config = common.loadConfig(mnt);
        } catch (ConfigException e) {
            System.err.println("weightfs mount: bad config, nothing was mounted\n" + e.getMessage());
            return Main.EXIT_USAGE;
        }
        if (hfCache != null) {
            try {
                config = ConfigLoader.withHfCache(config, hfCache, ConfigOptions.forTarget(mnt));
            } catch (ConfigException e) {
                System.err.println("weightfs mount: bad --hf-cache, nothing was mounted\n" + e.getMessage());
                return Main.EXIT_USAGE;
            }
        }
        java.util.Optional<MetricsAddress> metricsAt = config.metrics();
        if (metrics != null) {
            java.util.Optional<String> problem = MetricsAddress.problem(metrics);
            if (problem.isPresent()) {
                System.err.println("weightfs mount: --metrics " + problem.get());
                return Main.EXIT_USAGE;
            }
            metricsAt = java.util.Optional.of(MetricsAddress.parse(metrics));
        }
        if (unmountStale) {
            try {
                if (io.weightfs.fuse.FuseMounter.unmountIfStale(mnt)) {
                    System.err.println("weightfs mount: unmounted the stale FUSE mount at " + mnt + " (its daemon had died)");
                }
            } catch (IOException e) {
                System.err.println("weightfs mount: " + mnt + " holds a stale FUSE mount that could not be unmounted: "
                        + e.getMessage());
                return Main.EXIT_FAILED;
            }
        }
        if (mkdir && !Files.exists(mnt, java.nio.file.LinkOption.NOFOLLOW_LINKS) && !MountTableView.isFuseMount(mnt)) {
            try {
                Files.createDirectories(mnt);
            } catch (IOException e) {
                System.err.println("weightfs mount: cannot create " + mnt + ": " + e);
                return Main.EXIT_FAILED;
            }
        }
        if (!Files.isDirectory(mnt)) {
            System.err.println("weightfs mount: " + mnt + " is not a directory; create it first (mkdir -p " + mnt + ")");
            return Main.EXIT_USAGE;
        }
        FuseBinding fuse;
        try {
            fuse = FuseBinding.fromName(binding);
        } catch (IllegalArgumentException e) {
            System.err.println("weightfs mount: " + e.getMessage());
            return Main.EXIT_USAGE;
        }
        java.util.Optional<io.weightfs.source.SharedTier> shared;
        try {
            shared = common.sharedTier(config);
        } catch (IllegalArgumentException e) {
            System.err.println("weightfs mount: " + e.getMessage());
            return Main.EXIT_USAGE;
        }
        java.util.Optional<io.weightfs.source.BakedFiles> bakedFiles = java.util.Optional.empty();
        if (baked != null) {
            Path b = baked.toAbsolutePath().normalize();
            if (b.startsWith(mnt)) {
                System.err.println("weightfs mount: the baked files at " + b + " are inside the mountpoint " + mnt
                        + ", which the mount would hide; bake to a folder beside it (e.g. /app/weightfs-baked)");
                return Main.EXIT_USAGE;
            }
            try {
                bakedFiles = java.util.Optional.of(io.weightfs.source.BakedFiles.open(b));
            } catch (IOException e) {
                System.err.println("weightfs mount: --baked: " + e.getMessage());
                return Main.EXIT_USAGE;
            }
            if (config.entries().stream().noneMatch(io.weightfs.config.RepoEntry::baked)) {
                System.err.println("weightfs mount: warning: --baked " + b + " is given, but no entry of the config has"
                        + " use_volume: false; nothing is read from it");
            }
        }
        if (background) {
            return detach(mnt);
        }
        MountOptions mountOptions = MountOptions.defaults().withBinding(fuse).withAllowOther(allowOther).withReadAheadKb(readAheadKb);
        StoreOptions storeOptions = StoreOptions.DEFAULTS.withBlockSize((int) blockSize).withMaxBytes(storeMaxSize)
                .withMinFreeBytes(storeMinFree);
        if (!scheduler.equals("priority") && !scheduler.equals("fifo")) {
            System.err.println("weightfs mount: --scheduler must be priority or fifo, not '" + scheduler + "'");
            return Main.EXIT_USAGE;
        }
        if (verify == null) {
            verify = config.verify().orElse("lazy");
        }
        if (readTimeout == null) {
            readTimeout = config.readTimeout().orElse(io.weightfs.fetch.Reader.Options.DEFAULT_READ_TIMEOUT);
        }
        io.weightfs.fetch.Reader.Verify verifyMode = switch (verify) {
            case "lazy" -> io.weightfs.fetch.Reader.Verify.LAZY;
            case "before-serve" -> io.weightfs.fetch.Reader.Verify.BEFORE_SERVE;
            default -> null;
        };
        if (verifyMode == null) {
            System.err.println("weightfs mount: --verify must be lazy or before-serve, not '" + verify + "'");
            return Main.EXIT_USAGE;
        }
        if (readTimeout.isZero() || readTimeout.isNegative()) {
            System.err.println("weightfs mount: --read-timeout must be positive, not " + readTimeout);
            return Main.EXIT_USAGE;
        }
        BlockFetcher.Options fetcherOptions = BlockFetcher.Options.of(common.connections, scheduler.equals("priority"));
        HubClient hub = common.hubClient(fetcherOptions.connections() + fetcherOptions.reserved() + READ_THROUGH_CONNECTIONS);
        MountDaemon daemon;
        try {
            daemon = MountDaemon.start(config, hub, common.tokens(),
                    new MountDaemon.Options(mnt, common.store(), storeOptions, fetcherOptions, mountOptions, !noPrefetch, !noProfile, shared,
                            new io.weightfs.fetch.Reader.Options(readTimeout, verifyMode),
                            new MountDaemon.Ecosystem(config.hfCache(), metricsAt), bakedFiles));
        } catch (ManifestResolver.NothingMatchesException e) {
            System.err.println("weightfs mount: " + e.getMessage());
            hub.close();
            return Main.EXIT_USAGE;
        } catch (IOException | IllegalArgumentException e) {
            System.err.println("weightfs mount: " + e.getMessage());
            hub.close();
            return Main.EXIT_FAILED;
        }
        // systemd (Type=notify) learns that the mount answers, and that it is going away.
        java.util.Optional<io.weightfs.mount.SystemdNotify> systemd = io.weightfs.mount.SystemdNotify.fromEnvironment();
        Thread hook = new Thread(() -> {
            systemd.ifPresent(n -> n.stopping("unmounting " + mnt));
            daemon.close();
        }, "weightfs-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        daemon.metricsAddress().ifPresent(a -> System.out.println(METRICS_LINE + "http://" + a + "/metrics"));
        config.hfCache().ifPresent(h -> System.out.println("weightfs mount: Hugging Face cache view at " + mnt.resolve(h)
                + " (HF_HUB_CACHE=" + mnt.resolve(h) + " HF_HUB_OFFLINE=1)"));
        System.out.println(READY_LINE + mnt);
        System.out.flush();
        long files = daemon.entries().stream().mapToLong(r -> r.files().size()).sum();
        systemd.ifPresent(n -> {
            n.ready("mounted at " + mnt + ": " + files + " files" + (noPrefetch ? "" : ", filling in the background"));
            daemon.fillComplete().whenComplete((done, failed) -> n.status("mounted at " + mnt + ": " + files + " files, "
                    + (failed == null ? "fill finished" : "fill stopped: " + failed.getMessage())));
        });
        daemon.awaitUnmounted();
        systemd.ifPresent(n -> n.stopping(mnt + " was unmounted"));
        // Unmounted from outside ('weightfs umount'): clean up and exit normally.
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            return 0;
        }
        daemon.close();
        hub.close();
        return 0;
    }

    /**
     * Re-runs this command without --background as a detached child, and waits until it has mounted.
     * "Mounted" is the child's own word, its "ready at" line in the log, never the mount table: a
     * mount already at the point (another weightfs, a stale one) would look like ours, and the
     * child, refusing to mount over it, would be reported ready with a pid that is already gone.
     * A child that exits first fails this command with its exit status and its words, as the
     * foreground form would have.
     */
    private int detach(Path mnt) throws IOException, InterruptedException {
        ProcessHandle.Info info = ProcessHandle.current().info();
        List<String> cmd = new ArrayList<>();
        if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
            cmd.add("/usr/bin/setsid"); // its own session: the terminal's hangup does not reach it
        }
        cmd.add(info.command().orElseThrow(() -> new IOException("cannot tell which java runs this process")));
        for (String a : info.arguments().orElseThrow(() -> new IOException("cannot read this process's arguments"))) {
            if (!a.equals("--background")) {
                cmd.add(a);
            }
        }
        Path logs = common.store().resolve("logs");
        Files.createDirectories(logs);
        Path log = logs.resolve("mount-" + mnt.toString().replaceAll("[^A-Za-z0-9._-]", "_") + ".log");
        // The log is appended to across runs: only what this child writes counts.
        long from = Files.exists(log) ? Files.size(log) : 0;
        Process child = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        long deadline = System.nanoTime() + BACKGROUND_READY_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            boolean exited = child.waitFor(100, TimeUnit.MILLISECONDS);
            String written = readFrom(log, from);
            if (exited) {
                String tail = MountTableView.lastLines(written, 20);
                System.err.println("weightfs mount: the background daemon exited with status " + child.exitValue()
                        + " before mounting; it said (log " + log + "):");
                System.err.println(tail.isBlank() ? "  (nothing)" : tail);
                return child.exitValue() == 0 ? Main.EXIT_FAILED : child.exitValue();
            }
            if (written.contains(READY_LINE) && MountTableView.isFuseMount(mnt)) {
                System.out.println(READY_LINE + mnt + " (pid " + child.pid() + ", log " + log + ")");
                return 0;
            }
        }
        child.destroy();
        System.err.println("weightfs mount: the background daemon did not mount within " + BACKGROUND_READY_TIMEOUT.toMinutes()
                + " minutes; see " + log);
        return Main.EXIT_FAILED;
    }

    /** What the mount prints on stdout, before it is ready, when it serves metrics: where. */
    private static final String METRICS_LINE = "weightfs mount: metrics at ";

    /** What the mount prints on stdout once it answers; --background waits for the child's. */
    private static final String READY_LINE = "weightfs mount: ready at ";

    /** The text of {@code file} from byte {@code offset} on (empty if there is none yet). */
    private static String readFrom(Path file, long offset) throws IOException {
        try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.READ)) {
            long size = ch.size();
            if (size <= offset) {
                return "";
            }
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate((int) Math.min(size - offset, 1 << 20));
            ch.read(b, offset);
            return new String(b.array(), 0, b.position(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (java.nio.file.NoSuchFileException e) {
            return "";
        }
    }
}
