package io.weightfs.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import io.weightfs.manifest.ContentHash;
import io.weightfs.testing.PatternContent;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --fault} drop, corrupt, status and throttle, and the stats tests read them with. */
class FaultInjectionTest {
    private static final String REPO = "acme/tiny";
    private static final PatternContent WEIGHTS = new PatternContent(11, 200_000);
    private static final PatternContent CONFIG = new PatternContent(12, 5_000);

    @TempDir
    Path root;

    private ServeFixture start(Fault... faults) throws Exception {
        ServeFixture.write(root, REPO, "model.safetensors", WEIGHTS.bytes(0, (int) WEIGHTS.size()));
        ServeFixture.write(root, REPO, "config.json", CONFIG.bytes(0, (int) CONFIG.size()));
        return ServeFixture.start(ServeOptions.of(root).withFaults(List.of(faults)));
    }

    private static String cdnPath() {
        return "/cdn/" + WEIGHTS.hash(ContentHash.Algorithm.SHA256).hex();
    }

    private static String get(String path) {
        return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    }

    @Test
    void drop_cutsTheFirstMatchingBodiesAfterTheGivenBytes_thenServesWhole() throws Exception {
        try (ServeFixture hub = start(Fault.parse("drop:*.json:1000:2"))) {
            for (int i = 0; i < 2; i++) {
                RawHttp.Response cut = RawHttp.exchange(hub.server.port(), get("/" + REPO + "/resolve/main/config.json"));
                assertEquals(200, cut.status());
                assertEquals(CONFIG.size(), cut.contentLength(), "the headers promise the whole file");
                assertTrue(cut.closedEarly());
                assertArrayEquals(CONFIG.bytes(0, 1000), cut.body());
            }
            RawHttp.Response whole = RawHttp.exchange(hub.server.port(), get("/" + REPO + "/resolve/main/config.json"));
            assertFalse(whole.closedEarly());
            assertArrayEquals(CONFIG.bytes(0, (int) CONFIG.size()), whole.body());

            RawHttp.Response other = RawHttp.exchange(hub.server.cdnPort(), get(cdnPath()));
            assertFalse(other.closedEarly(), "the glob does not match the weights");
        }
    }

    @Test
    void drop_ignoresBodiesTooShortToCut_andAppliesToRangesOnTheCdn() throws Exception {
        try (ServeFixture hub = start(Fault.parse("drop:model.safetensors:100:1"))) {
            RawHttp.Response tiny = RawHttp.exchange(hub.server.cdnPort(),
                    "GET " + cdnPath() + " HTTP/1.1\r\nHost: x\r\nRange: bytes=0-0\r\n\r\n");
            assertEquals(206, tiny.status());
            assertFalse(tiny.closedEarly(), "a one-byte probe cannot be cut after 100 bytes");
            RawHttp.Response cut = RawHttp.exchange(hub.server.cdnPort(),
                    "GET " + cdnPath() + " HTTP/1.1\r\nHost: x\r\nRange: bytes=1000-\r\n\r\n");
            assertEquals(206, cut.status());
            assertTrue(cut.closedEarly());
            assertArrayEquals(WEIGHTS.bytes(1000, 100), cut.body());
        }
    }

    @Test
    void corrupt_flipsTheFirstByteOfEveryBody_butKeepsTheTrueEtag() throws Exception {
        try (ServeFixture hub = start(Fault.parse("corrupt:acme/tiny/model.*"))) {
            HttpResponse<byte[]> whole = hub.get(URI.create(hub.server.cdnEndpoint() + cdnPath()));
            byte[] expected = WEIGHTS.bytes(0, (int) WEIGHTS.size());
            assertEquals(expected.length, whole.body().length);
            assertEquals((byte) (expected[0] ^ 0xff), whole.body()[0]);
            assertArrayEquals(Arrays.copyOfRange(expected, 1, expected.length), Arrays.copyOfRange(whole.body(), 1, expected.length));
            assertEquals('"' + WEIGHTS.hash(ContentHash.Algorithm.SHA256).hex() + '"', ServeFixture.header(whole, "ETag"));

            HttpResponse<byte[]> range = hub.get(URI.create(hub.server.cdnEndpoint() + cdnPath()), "Range", "bytes=500-509");
            byte[] want = WEIGHTS.bytes(500, 10);
            want[0] ^= (byte) 0xff;
            assertArrayEquals(want, range.body());

            HttpResponse<byte[]> config = hub.get("/" + REPO + "/resolve/main/config.json");
            assertArrayEquals(CONFIG.bytes(0, (int) CONFIG.size()), config.body(), "other files are intact");
        }
    }

    @Test
    void status_answersTheFirstDownloadsWithTheCode_withoutAnErrorCode_thenServes() throws Exception {
        try (ServeFixture hub = start(Fault.parse("status:503:2"))) {
            assertEquals(302, hub.head("/" + REPO + "/resolve/main/model.safetensors").statusCode(), "HEAD is not a download");
            for (int i = 0; i < 2; i++) {
                HttpResponse<byte[]> r = hub.get("/" + REPO + "/resolve/main/config.json");
                assertEquals(503, r.statusCode());
                assertNull(ServeFixture.header(r, "X-Error-Code"));
                assertEquals("1", ServeFixture.header(r, "Retry-After"));
            }
            assertEquals(200, hub.get("/" + REPO + "/resolve/main/config.json").statusCode());
        }
    }

    @Test
    void status429_carriesRateLimitAndRetryAfter_andAGlobLimitsItToMatchingFiles() throws Exception {
        try (ServeFixture hub = start(Fault.parse("status:429:1:*.safetensors"))) {
            assertEquals(200, hub.get("/" + REPO + "/resolve/main/config.json").statusCode());
            HttpResponse<byte[]> limited = hub.get(URI.create(hub.server.cdnEndpoint() + cdnPath()));
            assertEquals(429, limited.statusCode());
            assertEquals("\"api\";r=0;t=1", ServeFixture.header(limited, "RateLimit"));
            assertEquals("1", ServeFixture.header(limited, "Retry-After"));
            assertNull(ServeFixture.header(limited, "X-Error-Code"));
            assertEquals(200, hub.get(URI.create(hub.server.cdnEndpoint() + cdnPath())).statusCode());
        }
    }

    @Test
    void throttle_pacesBodiesToTheRate() throws Exception {
        long rate = 400_000;
        try (ServeFixture hub = start(new Fault.Throttle(rate))) {
            long started = System.nanoTime();
            HttpResponse<byte[]> r = hub.get(URI.create(hub.server.cdnEndpoint() + cdnPath()));
            long elapsedMillis = (System.nanoTime() - started) / 1_000_000;
            assertArrayEquals(WEIGHTS.bytes(0, (int) WEIGHTS.size()), r.body());
            // 200 kB at 400 kB/s is 500 ms, less the 100 ms burst allowance. Only a lower bound is
            // asserted: a slow machine can only make it longer.
            assertTrue(elapsedMillis >= 350, "took " + elapsedMillis + " ms");
        }
    }

    @Test
    void stats_countRequestsBytesAndDownloads_andCanBeReset() throws Exception {
        try (ServeFixture hub = start()) {
            hub.get("/api/models/" + REPO);
            hub.get("/" + REPO + "/resolve/main/config.json", "Range", "bytes=10-19");
            URI location = URI.create(ServeFixture.header(hub.get("/" + REPO + "/resolve/main/model.safetensors"), "Location"));
            hub.get(location);
            hub.head("/" + REPO + "/resolve/main/config.json");

            ServeStats stats = hub.server.stats();
            assertEquals(new ServeStats.Requests(1, 3, 1), stats.requests());
            assertEquals(10 + WEIGHTS.size(), stats.bodyBytes());
            assertEquals(List.of(
                    new ServeStats.Download(REPO, "config.json", CONFIG.hash(ContentHash.Algorithm.GIT_SHA1).hex(), "10-19", "hub"),
                    new ServeStats.Download(REPO, "model.safetensors", WEIGHTS.hash(ContentHash.Algorithm.SHA256).hex(), null, "cdn")),
                    stats.downloads());

            HttpResponse<byte[]> json = hub.get("/_weightfs/stats");
            JsonObject o = ServeFixture.json(json).getAsJsonObject();
            assertEquals(3, o.getAsJsonObject("requests").get("resolve").getAsLong());
            assertEquals(1, o.getAsJsonObject("requests").get("cdn").getAsLong());
            assertEquals(10 + WEIGHTS.size(), o.get("bodyBytes").getAsLong());
            JsonObject second = o.getAsJsonArray("downloads").get(1).getAsJsonObject();
            assertTrue(second.get("range").isJsonNull());
            assertEquals("cdn", second.get("port").getAsString());
            assertNotNull(second.get("hash"));

            assertEquals(200, hub.post("/_weightfs/stats/reset", "text/plain", "").statusCode());
            ServeStats reset = hub.server.stats();
            assertEquals(new ServeStats.Requests(0, 0, 0), reset.requests());
            assertEquals(0, reset.bodyBytes());
            assertTrue(reset.downloads().isEmpty());
        }
    }

    @Test
    void setFaults_replacesTheFaultsOfARunningServer() throws Exception {
        try (ServeFixture hub = start()) {
            assertEquals(200, hub.get("/" + REPO + "/resolve/main/config.json").statusCode());
            hub.server.setFaults(List.of(new Fault.Status(500, 1, null)));
            assertEquals(500, hub.get("/" + REPO + "/resolve/main/config.json").statusCode());
            assertEquals(200, hub.get("/" + REPO + "/resolve/main/config.json").statusCode());
        }
    }
}
