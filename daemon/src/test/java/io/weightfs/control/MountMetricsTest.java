package io.weightfs.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weightfs.config.MetricsAddress;
import io.weightfs.config.RepoEntry;
import io.weightfs.fetch.BlockFetcher;
import io.weightfs.fetch.PrefetchOrder;
import io.weightfs.fetch.Prefetcher;
import io.weightfs.fetch.Reader;
import io.weightfs.fs.WeightFs;
import io.weightfs.hub.RetryCounts;
import io.weightfs.manifest.ContentHash;
import io.weightfs.manifest.Manifest;
import io.weightfs.manifest.ManifestFile;
import io.weightfs.manifest.ResolvedEntry;
import io.weightfs.store.BlockStore;
import io.weightfs.store.StoreOptions;
import io.weightfs.testing.FakeSource;
import io.weightfs.testing.PatternContent;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The metrics endpoint on loopback, read from real parts (store, fetcher, reader) over a fake source. */
class MountMetricsTest {
    private static final int BLOCK = 64 * 1024;
    private static final PatternContent CONFIG = new PatternContent(6, 300);
    private static final PatternContent WEIGHTS = new PatternContent(5, 3L * BLOCK + 5);

    @TempDir
    Path dir;

    private MountMetrics metrics;
    private final List<AutoCloseable> parts = new java.util.ArrayList<>();

    @AfterEach
    void stop() {
        if (metrics != null) {
            metrics.close();
        }
        for (AutoCloseable c : parts.reversed()) {
            try {
                c.close();
            } catch (Exception ignored) {
                // best effort
            }
        }
    }

    private String scrape() throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://" + metrics.url() + "/metrics"))
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        return r.body();
    }

    private static double value(String text, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(text);
        assertTrue(m.find(), "no sample " + series + " in:\n" + text);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void beforeTheMountExists_theEndpointSaysStarting_withTheBuildInfo() throws Exception {
        metrics = MountMetrics.listen(new MetricsAddress("127.0.0.1", 0));
        String text = scrape();
        assertEquals(1, value(text, "weightfs_mount_state{state=\"starting\"}"));
        assertEquals(0, value(text, "weightfs_mount_state{state=\"complete\"}"));
        assertTrue(text.contains("weightfs_build_info{java=\""), text);
    }

    @Test
    void anAddressInUse_failsTheStart_sayingWhatToDo() throws Exception {
        metrics = MountMetrics.listen(new MetricsAddress("127.0.0.1", 0));
        IOException e = assertThrows(IOException.class, () -> MountMetrics.listen(new MetricsAddress("127.0.0.1", metrics.address().getPort())));
        assertTrue(e.getMessage().startsWith("cannot serve metrics on 127.0.0.1:" + metrics.address().getPort()), e.getMessage());
        assertTrue(e.getMessage().contains("choose another --metrics ADDR:PORT"), e.getMessage());
    }

    @Test
    void theMetrics_readTheParts_andTheHooksFeedTheHistograms() throws Exception {
        FakeSource source = new FakeSource().put("config.json", CONFIG).put("model.safetensors", WEIGHTS);
        ManifestFile config = CONFIG.manifestFile("config.json", ContentHash.Algorithm.GIT_SHA1);
        ManifestFile weights = WEIGHTS.manifestFile("model.safetensors", ContentHash.Algorithm.SHA256);
        Manifest m = new Manifest("acme/m", "main", "0123456789abcdef0123456789abcdef01234567", List.of(config, weights));
        RepoEntry e = new RepoEntry(0, "model_cache", "acme/m", "main", "m", Optional.empty(), List.of(), Optional.empty());
        List<ResolvedEntry> entries = List.of(new ResolvedEntry(e, m, m.files(), Optional.empty()));
        BlockStore store = BlockStore.open(dir, new StoreOptions(BLOCK, 0));
        parts.add(store);
        BlockFetcher fetcher = new BlockFetcher(source, BlockFetcher.Options.of(2, true), Clock.systemUTC());
        parts.add(fetcher);
        Prefetcher[] fill = new Prefetcher[1];
        Reader reader = new Reader(store, fetcher, h -> fill[0].failure(h), null, Reader.Options.DEFAULTS.withReadThrough(false));
        Prefetcher prefetcher = new Prefetcher(store, fetcher, PrefetchOrder.order(entries), List.of(), 16, Duration.ofMillis(1));
        fill[0] = prefetcher;
        parts.add(prefetcher);
        MountStatus[] status = new MountStatus[1];
        WeightFs fs = new WeightFs(entries, r -> 0L, reader, files -> status[0] = new MountStatus(files, store, fetcher, prefetcher,
                reader, Optional.empty(), Clock.systemUTC()), BLOCK, Clock.systemUTC());
        parts.add(fs);
        prefetcher.watchOnly();
        metrics = MountMetrics.listen(new MetricsAddress("127.0.0.1", 0));
        RetryCounts retries = new RetryCounts();
        metrics.attach(status[0], store, fetcher, reader, Optional.empty(), retries);
        assertEquals(0, value(scrape(), "weightfs_mount_files{state=\"verified\"}"), "nothing read yet");

        // The next scrape, right after, sees the read: nothing is kept from one scrape to the next.
        long h = fs.open("/m/config.json", false);
        ByteBuffer buf = ByteBuffer.allocate(1000);
        assertEquals(300, fs.read(h, buf, 0));
        fs.release(h);

        String text = scrape();
        assertEquals(1, value(text, "weightfs_mount_state{state=\"filling\"}"));
        assertEquals(300, value(text, "weightfs_source_bytes_total{source=\"node\"}"), "the read's bytes came from the node store");
        assertEquals(300, value(text, "weightfs_source_bytes_total{source=\"hub\"}"), "after the source fetched them");
        assertEquals(300, value(text, "weightfs_fetched_bytes_total{class=\"foreground\"}"));
        assertEquals(1, value(text, "weightfs_fetch_latency_seconds_count{class=\"foreground\"}"));
        assertTrue(value(text, "weightfs_foreground_wait_seconds_count") >= 1, text);
        assertEquals(1, value(text, "weightfs_mount_files{state=\"verified\"}"));
        assertEquals(1, value(text, "weightfs_mount_files{state=\"incomplete\"}"));
        assertEquals(2, value(text, "weightfs_mount_blobs{state=\"verified\"}") + value(text, "weightfs_mount_blobs{state=\"incomplete\"}"));
        assertEquals(CONFIG.size() + WEIGHTS.size(), value(text, "weightfs_mount_size_bytes"));
        assertEquals(0, value(text, "weightfs_hub_retries_total{status=\"503\"}"), "the retryable statuses are there from the start");
        assertTrue(value(text, "weightfs_store_size_bytes") >= CONFIG.size(), text);
        assertTrue(value(text, "weightfs_store_free_bytes") > 0, text);
    }
}
