package io.weightfs.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code weightfs mount --metrics}: the Prometheus endpoint of a real mount, scraped while it fills
 * and once it is complete, each scrape checked by {@code promtool check metrics} (Debian's
 * {@code prometheus} package; {@code ./test.sh} installs it) and its figures against what the mount
 * did: bytes by source and class, retries by status (the server fails the first requests of a
 * shard), verified files and blobs, the mount's state, latency and wait histograms, the store's size.
 */
@io.weightfs.testing.RequiresFuse
class MetricsEndToEndTest {
    private static final Map<String, String> FAST_RETRY = Map.of("WEIGHTFS_RETRY_BASE_MS", "20");
    private static final Pattern METRICS_AT = Pattern.compile("weightfs mount: metrics at (http://\\S+/metrics)");
    private static final Duration SCRAPE_TIMEOUT = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void aScrapeDuringAndAfterTheFill_passesPromtool_andCountsWhatTheMountDid() throws Exception {
        Commands.require(Commands.onPath("promtool") != null, "MetricsEndToEndTest", "promtool (Debian package prometheus) is not installed");
        Path repo = TestRepos.sampleRepo(tmp.resolve("repos"), "acme/m", false);
        Path config = tmp.resolve("config.yaml");
        TestRepos.writeConfig(config, "model_cache:\n  - repo_id: acme/m\n    volume_folder: m\n");
        // The server fails the first two downloads of a shard with a 500: the mount retries them.
        try (ServeProcess serve = ServeProcess.start(tmp.resolve("repos"), "--fault", "status:500:2:*model-00002-of-00002*");
                MountProcess mount = MountProcess.start(tmp.resolve("mnt"), FAST_RETRY, "--config", config.toString(), "--store",
                        tmp.resolve("store").toString(), "--endpoint", serve.endpoint(), "--metrics", "127.0.0.1:0")) {
            Matcher at = METRICS_AT.matcher(mount.process().stdout());
            assertTrue(at.find(), "the mount says where its metrics are:\n" + mount.output());
            URI url = URI.create(at.group(1));

            String during = scrape(url);
            promtool(during, "during the fill");
            assertEquals(1, sum(during, "weightfs_mount_state"), "exactly one state is 1:\n" + during);
            assertTrue(during.contains("weightfs_build_info{"), during);

            Path mnt = mount.mountpoint();
            assertEquals(-1, Files.mismatch(repo.resolve("config.json"), mnt.resolve("m/config.json")));
            String waited = Files.readString(mnt.resolve(".weightfs/wait"));
            assertTrue(waited.startsWith("complete:"), waited);

            String after = scrape(url);
            promtool(after, "after the fill");
            List<String> files = TestRepos.files(repo);
            long total = 0;
            for (String f : files) {
                total += Files.size(repo.resolve(f));
            }
            assertEquals(1, value(after, "weightfs_mount_state{state=\"complete\"}"), after);
            assertEquals(files.size(), value(after, "weightfs_mount_files{state=\"verified\"}"));
            assertEquals(0, value(after, "weightfs_mount_files{state=\"failed\"}"));
            assertEquals(0, value(after, "weightfs_mount_blobs{state=\"incomplete\"}"));
            assertTrue(value(after, "weightfs_mount_blobs{state=\"verified\"}") >= 2, after);
            assertEquals(total, value(after, "weightfs_mount_size_bytes"));
            assertEquals(total, value(after, "weightfs_mount_verified_bytes"));
            assertEquals(total, value(after, "weightfs_source_bytes_total{source=\"hub\"}"), "every byte came from the Hub, once");
            assertEquals(total, sum(after, "weightfs_fetched_bytes_total"));
            assertTrue(value(after, "weightfs_source_bytes_total{source=\"node\"}") >= Files.size(repo.resolve("config.json")),
                    "the read of config.json came from the node store");
            assertEquals(2, value(after, "weightfs_hub_retries_total{status=\"500\"}"), "the two 500s were retried");
            assertEquals(0, value(after, "weightfs_hub_retries_total{status=\"503\"}"));
            assertTrue(value(after, "weightfs_fetch_requests_total") >= 2, after);
            assertTrue(sum(after, "weightfs_fetch_latency_seconds_count") >= value(after, "weightfs_fetch_requests_total") - 2,
                    "a latency for every request that delivered:\n" + after);
            assertEquals(0, value(after, "weightfs_hash_mismatches_total"));
            assertEquals(0, value(after, "weightfs_crc_mismatches_total"));
            assertEquals(0, value(after, "weightfs_read_timeouts_total"));
            assertTrue(value(after, "weightfs_store_size_bytes") >= total, after);
            assertTrue(value(after, "weightfs_store_free_bytes") > 0, after);
        }
    }

    @Test
    void aTakenMetricsPort_failsTheMountBeforeAnythingIsMounted_sayingWhatToDo() throws Exception {
        Path config = tmp.resolve("config.yaml");
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            TestRepos.writeConfig(config, "model_cache:\n  - repo_id: acme/m\n    volume_folder: m\nweightfs:\n  metrics: 127.0.0.1:"
                    + taken.getLocalPort() + "\n");
            Path mnt = Files.createDirectories(tmp.resolve("mnt"));
            WeightfsProcess.Result r = WeightfsProcess.run(Duration.ofSeconds(60), Map.of(), "mount", "--config", config.toString(),
                    "--store", tmp.resolve("store").toString(), mnt.toString());
            assertEquals(1, r.exit(), r.all());
            assertTrue(r.stderr().contains("cannot serve metrics on 127.0.0.1:" + taken.getLocalPort()), r.all());
            assertTrue(r.stderr().contains("choose another --metrics ADDR:PORT"), r.all());
            assertFalse(MountProcess.isMounted(mnt));
            assertFalse(r.all().contains("\tat io."), "no stack trace:\n" + r.all());
        }
    }

    @Test
    void aBadMetricsAddress_isRefusedWithExitStatus2() throws Exception {
        Path config = tmp.resolve("config.yaml");
        TestRepos.writeConfig(config, "model_cache:\n  - repo_id: acme/m\n    volume_folder: m\n");
        Path mnt = Files.createDirectories(tmp.resolve("mnt"));
        WeightfsProcess.Result r = WeightfsProcess.run(Duration.ofSeconds(60), Map.of(), "mount", "--config", config.toString(),
                "--store", tmp.resolve("store").toString(), "--metrics", "localhost", mnt.toString());
        assertEquals(2, r.exit(), r.all());
        assertTrue(r.stderr().contains("--metrics 'localhost' is not ADDR:PORT: give e.g. 127.0.0.1:9400"), r.all());
        assertFalse(MountProcess.isMounted(mnt));
    }

    private String scrape(URI url) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(url).timeout(SCRAPE_TIMEOUT).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"), r.headers().toString());
        return r.body();
    }

    /** {@code promtool check metrics} reads the text on stdin; it exits 1 and names each problem. */
    private void promtool(String text, String when) throws Exception {
        Path file = Files.createTempFile(tmp, "scrape", ".txt");
        Files.writeString(file, text);
        Commands.Result r = Commands.runAllowingFailure(List.of("bash", "-c", "promtool check metrics < \"$0\"", file.toString()), tmp,
                Map.of(), SCRAPE_TIMEOUT, "promtool check metrics");
        assertEquals(0, r.exit(), "promtool check metrics " + when + ":\n" + r.stdout() + r.stderr() + "\nscrape:\n" + text);
        assertEquals("", (r.stdout() + r.stderr()).strip(), "promtool found problems " + when);
    }

    private static double value(String text, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(text);
        assertTrue(m.find(), "no sample " + series + " in:\n" + text);
        return Double.parseDouble(m.group(1));
    }

    /** The sum of every sample of a metric (all label values). */
    private static double sum(String text, String metric) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(metric) + "(?:\\{[^}]*\\})? (\\S+)$").matcher(text);
        double s = 0;
        boolean any = false;
        while (m.find()) {
            s += Double.parseDouble(m.group(1));
            any = true;
        }
        assertTrue(any, "no sample of " + metric + " in:\n" + text);
        return s;
    }
}
