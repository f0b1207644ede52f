package io.weightfs.mount;

import io.weightfs.config.RepoEntry;
import io.weightfs.config.TokenResolver;
import io.weightfs.config.WeightsConfig;
import io.weightfs.fetch.AccessProfile;
import io.weightfs.fetch.AccessRecorder;
import io.weightfs.fetch.BlockFetcher;
import io.weightfs.fetch.ProfileStore;
import io.weightfs.fetch.PrefetchOrder;
import io.weightfs.fetch.Prefetcher;
import io.weightfs.fetch.Reader;
import io.weightfs.control.MountMetrics;
import io.weightfs.control.MountStatus;
import io.weightfs.fs.PendingFs;
import io.weightfs.fs.WeightFs;
import io.weightfs.fuse.FuseMounter;
import io.weightfs.fuse.MountOptions;
import io.weightfs.fuse.MountedFs;
import io.weightfs.hub.HubClient;
import io.weightfs.manifest.ManifestResolver;
import io.weightfs.manifest.ManifestStore;
import io.weightfs.manifest.ResolvedEntry;
import io.weightfs.fetch.Publisher;
import io.weightfs.source.BakedFiles;
import io.weightfs.source.BakedSource;
import io.weightfs.source.HubSource;
import io.weightfs.source.SharedSource;
import io.weightfs.source.SharedTier;
import io.weightfs.source.Source;
import io.weightfs.source.TieredSource;
import io.weightfs.source.RepoFile;
import io.weightfs.store.BlockStore;
import io.weightfs.store.StoreOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running mount. {@link #start} resolves every entry to a pinned manifest (from the store when the
 * commit is known: no network), opens the node store without waiting for its index, mounts, and
 * starts the background fill. {@link #close()} unmounts and stops everything, failing reads that
 * are still waiting.
 */
public final class MountDaemon implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MountDaemon.class);

    /**
     * @param mountpoint where to mount (must exist and be empty)
     * @param storeDir the node store (blocks, index, manifests)
     * @param fetcher connections and scheduling (priority classes, or one FIFO for comparison)
     * @param prefetch whether to fill in the background (off: only reads fetch)
     * @param profiles whether to record the order programs read blocks in, and to prefetch in a
     *     recorded order on the next start
     * @param shared the region's shared cache tier, if any: read from first when faster, published
     *     to once blobs are verified, and a second place for manifests and profiles
     * @param baked the files {@code weightfs bake} left for the {@code use_volume: false} entries: those
     *     entries are pinned to the commit they were baked at and read from these files first
     */
    public record Options(Path mountpoint, Path storeDir, StoreOptions store, BlockFetcher.Options fetcher, MountOptions mount,
            boolean prefetch, boolean profiles, Optional<SharedTier> shared, Reader.Options reader, Ecosystem ecosystem,
            Optional<BakedFiles> baked) {
        public Options(Path mountpoint, Path storeDir, StoreOptions store, BlockFetcher.Options fetcher, MountOptions mount,
                boolean prefetch, boolean profiles, Optional<SharedTier> shared, Reader.Options reader, Ecosystem ecosystem) {
            this(mountpoint, storeDir, store, fetcher, mount, prefetch, profiles, shared, reader, ecosystem, Optional.empty());
        }

        public Options(Path mountpoint, Path storeDir, StoreOptions store, BlockFetcher.Options fetcher, MountOptions mount,
                boolean prefetch, boolean profiles, Optional<SharedTier> shared, Reader.Options reader) {
            this(mountpoint, storeDir, store, fetcher, mount, prefetch, profiles, shared, reader, Ecosystem.NONE);
        }

        public Options(Path mountpoint, Path storeDir, StoreOptions store, BlockFetcher.Options fetcher, MountOptions mount,
                boolean prefetch, boolean profiles, Optional<SharedTier> shared) {
            this(mountpoint, storeDir, store, fetcher, mount, prefetch, profiles, shared, Reader.Options.DEFAULTS);
        }
    }

    /**
     * How the mount plugs into the tools around it.
     *
     * @param hfCache the folder of the mount where the repos also appear in huggingface_hub's cache
     *     layout (validated by the config)
     * @param metrics where to serve Prometheus metrics
     */
    public record Ecosystem(Optional<String> hfCache, Optional<io.weightfs.config.MetricsAddress> metrics) {
        public static final Ecosystem NONE = new Ecosystem(Optional.empty(), Optional.empty());
    }

    private final BlockStore store;
    private final BlockFetcher fetcher;
    private final Prefetcher prefetcher;
    private final WeightFs fs;
    private final MountedFs mounted;
    private final List<ResolvedEntry> entries;
    private final Thread watcher;
    private final AccessRecorder recorder;
    private final Publisher publisher;
    private final Optional<SharedTier> shared;
    /** Saves access profiles now and then, so a daemon that is killed still leaves most of its profile. */
    private final java.util.concurrent.ScheduledExecutorService profileSaver =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon(true).name("weightfs-profile-save").factory());
    /** How often a changed profile is written: rarely enough to cost nothing, often enough to survive a kill. */
    private static final Duration PROFILE_SAVE_INTERVAL = Duration.ofSeconds(15);
    /** How often --store-max-size is enforced: a few blocks' worth of overshoot at most, at fill speed. */
    private static final Duration EVICT_INTERVAL = Duration.ofSeconds(5);

    /** How often the mount table is checked for someone having unmounted us (even lazily). */
    private static final Duration WATCH_INTERVAL = Duration.ofMillis(250);

    private final MountStatus status;
    private final Optional<MountMetrics> metrics;

    private MountDaemon(BlockStore store, BlockFetcher fetcher, Prefetcher prefetcher, WeightFs fs, MountedFs mounted,
            List<ResolvedEntry> entries, AccessRecorder recorder, Publisher publisher, Optional<SharedTier> shared, MountStatus status,
            Optional<MountMetrics> metrics) {
        this.status = status;
        this.metrics = metrics;
        this.shared = shared;
        this.recorder = recorder;
        this.publisher = publisher;
        this.store = store;
        this.fetcher = fetcher;
        this.prefetcher = prefetcher;
        this.fs = fs;
        this.mounted = mounted;
        this.entries = entries;
        this.watcher = Thread.ofPlatform().daemon(true).name("weightfs-mount-watch").start(this::watch);
        if (recorder != null) {
            profileSaver.scheduleWithFixedDelay(recorder::save, PROFILE_SAVE_INTERVAL.toMillis(), PROFILE_SAVE_INTERVAL.toMillis(),
                    java.util.concurrent.TimeUnit.MILLISECONDS);
        }
        long maxBytes = store.options().maxBytes();
        if (maxBytes > 0) {
            profileSaver.scheduleWithFixedDelay(() -> {
                try {
                    store.evict(maxBytes, fs.openHashes());
                } catch (IOException | RuntimeException e) {
                    LOG.warn("cannot evict from the node store: {}", e.toString());
                }
            }, 0, EVICT_INTERVAL.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        }
    }

    /**
     * Notices an unmount from outside. {@code weightfs umount} of a busy mount is lazy: the kernel
     * keeps the connection until every reader lets go, and a reader waiting for a block would wait
     * for it to arrive. Failing the waiting reads as soon as the mount leaves the table ends that.
     */
    private void watch() {
        try {
            while (mounted.isAttached() && !mounted.awaitUnmounted(WATCH_INTERVAL)) {
                // still mounted
            }
        } catch (InterruptedException e) {
            return;
        }
        LOG.info("{} was unmounted; failing reads still waiting for blocks", mounted.mountpoint());
        fs.close();
        fetcher.close();
    }

    /** Resolves, mounts and starts the fill. Throws, having cleaned up, if any step fails. */
    public static MountDaemon start(WeightsConfig config, HubClient hub, TokenResolver tokens, Options options) throws IOException {
        // First, so that an address in use fails the start before anything is mounted.
        Optional<MountMetrics> metrics = options.ecosystem().metrics().isEmpty() ? Optional.empty()
                : Optional.of(MountMetrics.listen(options.ecosystem().metrics().get()));
        try {
            return start(config, hub, tokens, options, metrics);
        } catch (IOException | RuntimeException e) {
            metrics.ifPresent(MountMetrics::close);
            throw e;
        }
    }

    private static MountDaemon start(WeightsConfig config, HubClient hub, TokenResolver tokens, Options options,
            Optional<MountMetrics> metrics) throws IOException {
        BlockStore store = BlockStore.open(options.storeDir(), options.store());
        // The FUSE mount takes a few hundred milliseconds of libfuse and kernel work: it is set up
        // while the manifests are resolved (network), and answers once the tree is built.
        PendingFs pending = new PendingFs(Clock.systemUTC().millis());
        CompletableFuture<MountedFs> mounting = new CompletableFuture<>();
        Thread.ofPlatform().daemon(true).name("weightfs-mounting").start(() -> {
            try {
                mounting.complete(FuseMounter.mount(pending, options.mountpoint(), options.mount()));
            } catch (IOException | RuntimeException e) {
                mounting.completeExceptionally(e);
            }
        });
        ManifestStore manifests = new ManifestStore(options.storeDir().resolve("manifests"));
        ManifestResolver resolver = new ManifestResolver(hub, manifests,
                options.shared().map(t -> new ManifestStore(t.manifestsDir())));
        List<ResolvedEntry> entries = new ArrayList<>();
        for (RepoEntry e : config.entries()) {
            try {
                if (mounting.isCompletedExceptionally()) {
                    break; // the mount failed already (a bad mountpoint): report that, not a manifest
                }
                entries.add(resolve(resolver, e, tokens, options.baked()));
            } catch (ManifestResolver.NothingMatchesException nothing) {
                abandon(pending, mounting, nothing);
                store.close();
                throw nothing;
            } catch (IOException io) {
                IOException wrapped = new IOException(e.label() + ": " + io.getMessage(), io);
                abandon(pending, mounting, wrapped);
                store.close();
                throw wrapped;
            }
        }
        BlockFetcher fetcher = null;
        Prefetcher prefetcher = null;
        AccessRecorder recorder = null;
        TieredSource tiered = null;
        Publisher publisher = null;
        WeightFs fs = null;
        Reader reader = null;
        try {
            Source source = new HubSource(hub);
            if (options.shared().isPresent()) {
                tiered = new TieredSource(new SharedSource(options.shared().get()), source, Clock.systemUTC());
                source = tiered;
                publisher = new Publisher(store, options.shared().get());
            }
            if (options.baked().isPresent()) {
                BakedSource bakedSource = new BakedSource(options.baked().get(), entries, source);
                List<Path> missing = bakedSource.missingOrWrongSize(entries);
                if (!missing.isEmpty()) {
                    LOG.warn("{} baked files are missing or of the wrong size (e.g. {}); their bytes come from the Hub",
                            missing.size(), missing.getFirst());
                }
                source = bakedSource;
            }
            fetcher = new BlockFetcher(source, options.fetcher(), Clock.systemUTC());
            List<RepoFile> order = PrefetchOrder.order(entries);
            ProfileStore profileStore = new ProfileStore(options.storeDir().resolve("profiles"));
            Optional<ProfileStore> sharedProfiles = options.shared().map(t -> new ProfileStore(t.profilesDir()));
            List<AccessProfile> profiles = new ArrayList<>();
            if (options.profiles()) {
                for (ResolvedEntry r : entries) {
                    String repo = r.manifest().repoId();
                    String commit = r.manifest().commit();
                    profileStore.load(repo, commit).or(() -> sharedProfiles.flatMap(sp -> sp.load(repo, commit))).ifPresent(p -> {
                        LOG.info("prefetching {}@{} in the order recorded on an earlier start ({} blocks first)",
                                p.repoId(), p.commit(), p.reads().size());
                        profiles.add(p);
                    });
                }
            }
            recorder = options.profiles() ? new AccessRecorder(profileStore, sharedProfiles) : null;
            // The reader listens to the store before the fill does, so that bytes served early are
            // checked before the fill's completion lets a wait return.
            Prefetcher[] fill = new Prefetcher[1];
            reader = new Reader(store, fetcher, h -> fill[0] == null ? Optional.empty() : fill[0].failure(h), recorder,
                    options.reader().withReadThrough(options.reader().readThrough() && options.prefetch()));
            // Every worker has two runs' worth of blocks asked for, and the queue stays short.
            prefetcher = new Prefetcher(store, fetcher, order, profiles,
                    2 * options.fetcher().connections() * options.fetcher().maxRunBlocks(), Prefetcher.DEFAULT_RETRY_BASE, options.shared());
            fill[0] = prefetcher;
            prefetcher.onGaveUp(reader::gaveUp);
            long now = Clock.systemUTC().millis();
            BlockStore st = store;
            BlockFetcher bf = fetcher;
            Prefetcher pf = prefetcher;
            Reader rd = reader;
            Optional<TieredSource> tier = Optional.ofNullable(tiered);
            MountStatus[] status = new MountStatus[1];
            fs = new WeightFs(entries,
                    r -> manifests.pinnedAt(r.manifest().repoId(), r.manifest().commit()).map(java.time.Instant::toEpochMilli).orElse(now),
                    reader, files -> status[0] = new MountStatus(files, st, bf, pf, rd, tier, Clock.systemUTC()),
                    options.store().blockSize(), Clock.systemUTC(), options.ecosystem().hfCache());
            metrics.ifPresent(m -> m.attach(status[0], st, bf, rd, tier, hub.retryCounts()));
            pending.ready(fs);
            MountedFs mounted = awaitMount(mounting);
            if (options.prefetch()) {
                prefetcher.start();
            } else {
                prefetcher.watchOnly();
            }
            long files = entries.stream().mapToLong(r -> r.files().size()).sum();
            String note = mounted.transportNote();
            LOG.info("mounted {} ({} entries, {} files) with {}{}; {}", options.mountpoint(), entries.size(), files,
                    mounted.binding(), note.isEmpty() ? "" : " (" + note + ")",
                    options.prefetch() ? "filling in the background" : "no background fill");
            return new MountDaemon(store, fetcher, prefetcher, fs, mounted, entries, recorder, publisher, options.shared(), status[0],
                    metrics);
        } catch (IOException | RuntimeException e) {
            abandon(pending, mounting, e);
            if (publisher != null) {
                publisher.close();
            }
            options.shared().ifPresent(SharedTier::close);
            closeQuietly(fs, prefetcher, fetcher, store);
            throw e;
        }
    }

    /**
     * A {@code use_volume: false} entry, given the baked files, is pinned to the commit it was baked
     * at, from the baked manifests: no Hub. Without them it is fetched like any other entry (as
     * before baking existed), with a warning; an entry that should be baked but is not is refused.
     */
    private static ResolvedEntry resolve(ManifestResolver resolver, RepoEntry e, TokenResolver tokens, Optional<BakedFiles> baked)
            throws IOException {
        if (!e.baked()) {
            return resolver.resolve(e, tokens.resolve(e.secretName()));
        }
        if (baked.isEmpty()) {
            LOG.warn("{} has use_volume: false, but no baked files were given (--baked DIR): fetching it like any other entry",
                    e.label());
            return resolver.resolve(e, tokens.resolve(e.secretName()));
        }
        BakedFiles b = baked.get();
        BakedFiles.Entry be = b.find(e).orElseThrow(() -> new IOException("use_volume: false, but " + b.dest()
                + " holds no bake of it (revision " + e.revision() + ", folder " + e.folder() + "); bake it with: weightfs bake --config CONFIG --dest "
                + b.dest()));
        ResolvedEntry r = resolver.resolveAt(e, be.commit(), b.manifests(), tokens.resolve(e.secretName()));
        LOG.info("{}: baked at commit {} in {} ({} files); reading them from there", e.label(), be.commit(), b.dest(), r.files().size());
        return r;
    }

    private static MountedFs awaitMount(CompletableFuture<MountedFs> mounting) throws IOException {
        try {
            return mounting.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while mounting");
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IOException(e.getCause().toString(), e.getCause());
        }
    }

    /** The start failed after the mount began: fail what waits on it, and take the mount down again. */
    private static void abandon(PendingFs pending, CompletableFuture<MountedFs> mounting, Throwable why) {
        pending.failed(why);
        try {
            MountedFs m = mounting.get(io.weightfs.fuse.FuseMounter.MOUNT_TIMEOUT_SECONDS, java.util.concurrent.TimeUnit.SECONDS);
            m.close();
        } catch (Exception notMounted) {
            // the mount itself failed, or never came: nothing to take down
        }
    }

    public Path mountpoint() {
        return mounted.mountpoint();
    }

    public MountedFs mounted() {
        return mounted;
    }

    public List<ResolvedEntry> entries() {
        return entries;
    }

    /** Completes when every file is verified or has failed for good. */
    public CompletableFuture<Void> fillComplete() {
        return prefetcher.completion();
    }

    public String statusJson() {
        return status.statusJson();
    }

    /** Where the Prometheus metrics are served ({@code host:port}), if they are. */
    public Optional<String> metricsAddress() {
        return metrics.map(MountMetrics::url);
    }

    /** Blocks until the mount goes away (someone ran {@code weightfs umount}, or {@link #close()}). */
    public void awaitUnmounted() throws InterruptedException {
        mounted.awaitUnmounted();
    }

    public boolean awaitUnmounted(Duration timeout) throws InterruptedException {
        return mounted.awaitUnmounted(timeout);
    }

    /** Unmounts (waiting reads fail), saves the access profile, stops the fill and closes the store. */
    @Override
    public void close() {
        profileSaver.shutdown();
        if (recorder != null) {
            recorder.save();
        }
        // Fail waiting reads first, so the unmount is not held up by them.
        fs.close();
        fetcher.close();
        mounted.close();
        if (publisher != null) {
            publisher.close();
        }
        shared.ifPresent(SharedTier::close);
        closeQuietly(null, prefetcher, null, store);
        metrics.ifPresent(MountMetrics::close);
    }

    private static void closeQuietly(WeightFs fs, Prefetcher prefetcher, BlockFetcher fetcher, BlockStore store) {
        for (AutoCloseable c : new AutoCloseable[] {fs, prefetcher, fetcher, store}) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception e) {
                    LOG.warn("closing {}: {}", c.getClass().getSimpleName(), e.toString());
                }
            }
        }
    }
}
