package io.weightfs.control;

import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.registry.PrometheusScrapeRequest;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.Unit;
import io.weightfs.config.MetricsAddress;
import io.weightfs.fetch.BlockFetcher;
import io.weightfs.fetch.Reader;
import io.weightfs.hub.RetryCounts;
import io.weightfs.source.TieredSource;
import io.weightfs.store.BlockStore;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Predicate;
import java.util.function.ToDoubleFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A mount's Prometheus metrics ({@code --metrics ADDR:PORT}), served at {@code /metrics} by the
 * official Java client's HTTP server. Every counter and gauge is read, at scrape time, from the
 * counters the parts keep anyway (the same ones {@link MountStatus} renders into
 * {@code status.json}): nothing is counted twice. The two histograms are the only state of their
 * own, fed by the fetch layer's hooks: each request's time to its first byte
 * ({@link BlockFetcher#onFirstByte}) and each read's wait for its bytes ({@link Reader#onForegroundWait}).
 *
 * <p>The server listens ({@link #listen}) before the mount is set up, so a bad address fails the
 * start before anything is mounted, and a scrape during the start says {@code starting}; the parts
 * are handed over once they exist ({@link #attach}).
 *
 * <p><b>Threads.</b> The HTTP server's one daemon thread (owned here, stopped by {@link #close})
 * renders each scrape, walking the mount's files once and listing the store's blob files once; the
 * hooks run on fetch workers and FUSE threads and only observe a number into a thread-safe histogram.
 */
public final class MountMetrics implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MountMetrics.class);
    /** The states {@code weightfs_mount_state} can show; exactly one is 1. */
    static final List<String> STATES = List.of("starting", "filling", "stalled", "complete", "failed");
    /** What the Hub client retries after (hub.RetryPolicy): these series exist from the first scrape. */
    private static final List<String> RETRIED = List.of("408", "429", "500", "502", "503", "504", RetryCounts.NETWORK);
    /**
     * Time to first byte, seconds: a local tier answers in a millisecond, a CDN in tens of them, a
     * struggling Hub in seconds; the top bucket is the default read timeout.
     */
    private static final double[] LATENCY_BUCKETS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

    /** What the metrics read from, once the mount has it. */
    private record Parts(MountStatus status, BlockStore store, BlockFetcher fetcher, Reader reader, Optional<TieredSource> tiered,
            RetryCounts retries, StoreUsage usage) {}

    private final PrometheusRegistry registry = new ScrapeRegistry();
    private final ExecutorService scrapes;
    private final HTTPServer server;
    private final InetSocketAddress address;
    private volatile Parts parts;
    /** The summary of the scrape in progress; null between scrapes. Guarded by this. */
    private MountStatus.Summary cachedSummary;
    private final Histogram firstByte;
    private final Histogram foregroundWait;

    private MountMetrics(MetricsAddress where) throws IOException {
        register();
        firstByte = Histogram.builder().name("weightfs_fetch_latency_seconds").unit(Unit.SECONDS)
                .help("Time from a request to a source (the shared tier or the Hub) to its first byte, by the class of the blocks it fetches")
                .labelNames("class").classicOnly().classicUpperBounds(LATENCY_BUCKETS).withoutExemplars().register(registry);
        foregroundWait = Histogram.builder().name("weightfs_foreground_wait_seconds").unit(Unit.SECONDS)
                .help("How long a read waited for bytes that were not local yet")
                .classicOnly().classicUpperBounds(LATENCY_BUCKETS).withoutExemplars().register(registry);
        Info.builder().name("weightfs_build_info").help("The weightfs version and the Java runtime it runs on")
                .labelNames("version", "java").register(registry)
                .setLabelValues(version(), Runtime.version().toString());
        scrapes = Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon(true).name("weightfs-metrics").factory());
        try {
            server = HTTPServer.builder().hostname(where.bindHost()).port(where.port()).registry(registry).executorService(scrapes)
                    .buildAndStart();
        } catch (IOException e) {
            scrapes.shutdownNow();
            throw new IOException("cannot serve metrics on " + where + ": " + e.getMessage()
                    + " (choose another --metrics ADDR:PORT, or :0 for any free port)", e);
        } catch (RuntimeException e) {
            scrapes.shutdownNow();
            throw new IOException("cannot serve metrics on " + where + ": " + e, e);
        }
        address = new InetSocketAddress(where.bindHost(), server.getPort());
    }

    /** Starts serving at {@code where} (its metrics say {@code starting} until {@link #attach}). */
    public static MountMetrics listen(MetricsAddress where) throws IOException {
        MountMetrics m = new MountMetrics(where);
        LOG.info("serving Prometheus metrics at http://{}/metrics", m.url());
        return m;
    }

    /** Where it listens, with the port it got (for {@code :0}). */
    public InetSocketAddress address() {
        return address;
    }

    /** {@code host:port} as a URL's authority. */
    public String url() {
        String host = address.getHostString();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + address.getPort();
    }

    /** The mount's parts exist: read from them from now on, and observe the fetch layer's latencies. */
    public void attach(MountStatus status, BlockStore store, BlockFetcher fetcher, Reader reader, Optional<TieredSource> tiered,
            RetryCounts retries) {
        fetcher.onFirstByte((priority, nanos) -> firstByte.labelValues(name(priority)).observe(Unit.nanosToSeconds(nanos)));
        reader.onForegroundWait(nanos -> foregroundWait.observe(Unit.nanosToSeconds(nanos)));
        parts = new Parts(status, store, fetcher, reader, tiered, retries, new StoreUsage(store.dir()));
    }

    private static String name(BlockFetcher.Priority p) {
        return p.name().toLowerCase(Locale.ROOT);
    }

    private static String version() {
        String v = MountMetrics.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    /** Every metric read from the parts at scrape time. */
    private void register() {
        GaugeWithCallback.builder().name("weightfs_mount_state").help("The mount's state: 1 for the one it is in (starting, filling,"
                + " stalled: the store has had no room for a while, complete, failed: a file failed for good)").labelNames("state")
                .callback(cb -> {
                    Parts p = parts;
                    String now = p == null ? "starting" : summary(p).state();
                    for (String s : STATES) {
                        cb.call(s.equals(now) ? 1 : 0, s);
                    }
                }).register(registry);
        summaryGauge("weightfs_mount_files", "Files of the mount by state: verified, failed (for good), incomplete", "state",
                (s, cb) -> {
                    cb.call(s.filesVerified(), "verified");
                    cb.call(s.filesFailed(), "failed");
                    cb.call(s.files() - s.filesVerified() - s.filesFailed(), "incomplete");
                });
        summaryGauge("weightfs_mount_blobs", "Distinct contents (blobs) of the mount by state: verified (whole-content hash matched),"
                + " failed (gave up, or bytes served before verification were wrong), incomplete", "state", (s, cb) -> {
                    cb.call(s.blobsVerified(), "verified");
                    cb.call(s.blobsFailed(), "failed");
                    cb.call(s.blobs() - s.blobsVerified() - s.blobsFailed(), "incomplete");
                });
        summaryGauge("weightfs_mount_size_bytes", "Bytes of all files of the mount", null, (s, cb) -> cb.call(s.bytes()));
        summaryGauge("weightfs_mount_present_bytes", "Bytes of the mount's files that are in the node store", null,
                (s, cb) -> cb.call(s.bytesPresent()));
        summaryGauge("weightfs_mount_verified_bytes", "Bytes of the mount's files whose whole content is verified", null,
                (s, cb) -> cb.call(s.bytesVerified()));

        CounterWithCallback.builder().name("weightfs_source_bytes_total").unit(Unit.BYTES).help("Bytes by where they came from:"
                + " node (read by programs from the node store), shared (the region's shared tier), hub (the Hub); shared and hub"
                + " count what was fetched, into the store or straight to a read").labelNames("source")
                .callback(cb -> {
                    Parts p = parts;
                    if (p != null) {
                        p.status().bytesBySource().forEach((k, v) -> cb.call(v, k));
                    }
                }).register(registry);
        CounterWithCallback.builder().name("weightfs_fetched_bytes_total").unit(Unit.BYTES).help("Bytes fetched by class: foreground"
                + " (a read waits), readahead (a stream's next bytes), prefetch (the background fill); reads served straight from"
                + " the source count as foreground").labelNames("class")
                .callback(cb -> {
                    Parts p = parts;
                    if (p != null) {
                        for (BlockFetcher.Priority c : BlockFetcher.Priority.values()) {
                            cb.call(p.fetcher().bytesFetched(c), name(c));
                        }
                    }
                }).register(registry);
        CounterWithCallback.builder().name("weightfs_hub_retries_total").help("Requests to the Hub retried, by the HTTP status they"
                + " followed (network: a reset, a timeout, a cut body)").labelNames("status")
                .callback(cb -> {
                    Parts p = parts;
                    if (p != null) {
                        // The statuses that are retried are there from the start (at 0), so a rate() has a series to work on.
                        Map<String, Long> counts = new TreeMap<>();
                        for (String status : RETRIED) {
                            counts.put(status, 0L);
                        }
                        counts.putAll(p.retries().byStatus());
                        counts.forEach((k, v) -> cb.call(v, k));
                    }
                }).register(registry);

        counter("weightfs_fetch_requests_total", "Ranged requests sent to the sources by the fetch workers", p -> p.fetcher().requests());
        counter("weightfs_fetch_failures_total", "Fetches of blocks that failed (retried by the fill, or failed the read)",
                p -> p.fetcher().failures());
        counter("weightfs_fetch_runs_cut_total", "Background runs a read cut short to get its block sooner", p -> p.fetcher().runsCut());
        counter("weightfs_blocks_fetched_by_other_processes_total", "Blocks another daemon on the node store fetched while this one"
                + " waited for them", p -> p.fetcher().blocksFetchedByOthers());
        counter("weightfs_read_throughs_total", "Small reads served by a ranged request of just their bytes", p -> p.reader().readThroughs());
        counter("weightfs_read_timeouts_total", "Reads that failed because their bytes did not arrive within --read-timeout",
                p -> p.reader().timeouts());
        counter("weightfs_reads_from_source_for_space_total", "Reads served straight from the source because the store had no room",
                p -> p.reader().directForSpace());
        counter("weightfs_served_wrong_blobs_total", "Blobs of which bytes were served before verification and then turned out wrong"
                + " (or never verified): their open files fail from then on", p -> p.reader().servedWrong().size());
        counter("weightfs_hash_mismatches_total", "Blobs whose whole content did not match its hash (discarded and fetched again)",
                p -> p.store().hashMismatches());
        counter("weightfs_crc_mismatches_total", "Blocks of earlier runs or other processes that failed their CRC32C on first use",
                p -> p.store().crcMismatches());
        counter("weightfs_evicted_blobs_total", "Blobs evicted from the node store (--store-max-size)", p -> p.store().evictedBlobs());
        counter("weightfs_not_cached_for_space_total", "Times a block was not cached for lack of space (--store-min-free, a full disk)",
                p -> p.store().lowSpaceRefusals());
        counter("weightfs_shared_bad_blocks_total", "Blocks from the shared tier that failed their block hash",
                p -> p.tiered().map(TieredSource::badSharedBlocks).orElse(0L));
        counter("weightfs_shared_fallbacks_total", "Reads from the shared tier that went to the Hub instead",
                p -> p.tiered().map(TieredSource::fallbacks).orElse(0L));

        gauge("weightfs_fetch_connections", "Background connections the tuner allows now", p -> p.fetcher().connectionLimit());
        gauge("weightfs_fetch_pending_blocks", "Blocks queued or being fetched", p -> p.fetcher().pending());
        gauge("weightfs_store_size_bytes", "Bytes of the node store's blob files (their full sizes: a blob still filling is a sparse file of its final size)",
                p -> p.usage().bytes());
        gauge("weightfs_store_free_bytes", "Free bytes of the filesystem that holds the node store", p -> p.usage().freeBytes());
    }

    private interface SummaryCallback {
        void call(MountStatus.Summary s, GaugeWithCallback.Callback cb);
    }

    private void summaryGauge(String name, String help, String label, SummaryCallback values) {
        GaugeWithCallback.Builder b = GaugeWithCallback.builder().name(name).help(help).callback(cb -> {
            Parts p = parts;
            if (p != null) {
                values.call(summary(p), cb);
            }
        });
        if (label != null) {
            b.labelNames(label);
        }
        b.register(registry);
    }

    private void counter(String name, String help, ToDoubleFunction<Parts> value) {
        CounterWithCallback.builder().name(name).help(help).callback(cb -> {
            Parts p = parts;
            if (p != null) {
                cb.call(value.applyAsDouble(p));
            }
        }).register(registry);
    }

    private void gauge(String name, String help, ToDoubleFunction<Parts> value) {
        GaugeWithCallback.builder().name(name).help(help).callback(cb -> {
            Parts p = parts;
            if (p != null) {
                cb.call(value.applyAsDouble(p));
            }
        }).register(registry);
    }

    /**
     * The status summary of this scrape: six gauges read it, and making one walks every file, so it
     * is made once per scrape (the registry forgets it as each scrape starts).
     */
    private MountStatus.Summary summary(Parts p) {
        synchronized (this) {
            if (cachedSummary == null) {
                cachedSummary = p.status().summary();
            }
            return cachedSummary;
        }
    }

    private synchronized void forgetSummary() {
        cachedSummary = null;
    }

    /** The registry, which starts each scrape by forgetting the last one's summary. */
    private final class ScrapeRegistry extends PrometheusRegistry {
        @Override
        public MetricSnapshots scrape() {
            forgetSummary();
            return super.scrape();
        }

        @Override
        public MetricSnapshots scrape(PrometheusScrapeRequest request) {
            forgetSummary();
            return super.scrape(request);
        }

        @Override
        public MetricSnapshots scrape(Predicate<String> includedNames) {
            forgetSummary();
            return super.scrape(includedNames);
        }

        @Override
        public MetricSnapshots scrape(Predicate<String> includedNames, PrometheusScrapeRequest request) {
            forgetSummary();
            return super.scrape(includedNames, request);
        }
    }

    /** Stops serving. */
    @Override
    public void close() {
        server.close();
        scrapes.shutdownNow();
    }
}
