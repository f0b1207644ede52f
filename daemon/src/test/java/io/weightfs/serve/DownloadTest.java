package io.weightfs.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weightfs.manifest.ContentHash;
import io.weightfs.manifest.ContentHasher;
import io.weightfs.testing.PatternContent;
import java.io.RandomAccessFile;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code /resolve} and the CDN port (HUB-PROTOCOL.md §4). */
class DownloadTest {
    private static final String REPO = "acme/tiny";
    private static final byte[] CONFIG = "{\"hidden_size\": 8}\n".getBytes(StandardCharsets.UTF_8);
    private static final PatternContent WEIGHTS = new PatternContent(7, 300_000);

    @TempDir
    Path root;

    private ServeFixture start() throws Exception {
        ServeFixture.write(root, REPO, "config.json", CONFIG);
        ServeFixture.write(root, REPO, "model.safetensors", WEIGHTS.bytes(0, (int) WEIGHTS.size()));
        ServeFixture.write(root, REPO, "données/é à.txt", "accent\n");
        ServeFixture.write(root, REPO, "empty.txt", new byte[0]);
        return ServeFixture.start(root);
    }

    private static String sha256Hex() {
        return WEIGHTS.hash(ContentHash.Algorithm.SHA256).hex();
    }

    @Test
    void regularFile_is200WithGitSha1EtagCommitLengthAndBody() throws Exception {
        try (ServeFixture hub = start()) {
            HttpResponse<byte[]> r = hub.get("/" + REPO + "/resolve/main/config.json", "Accept-Encoding", "gzip");
            assertEquals(200, r.statusCode());
            assertArrayEquals(CONFIG, r.body());
            String sha1 = ContentHasher.hash(CONFIG, ContentHash.Algorithm.GIT_SHA1).hex();
            assertEquals('"' + sha1 + '"', ServeFixture.header(r, "ETag"));
            assertEquals(hub.server.commit(REPO), ServeFixture.header(r, "X-Repo-Commit"));
            assertEquals(String.valueOf(CONFIG.length), ServeFixture.header(r, "Content-Length"));
            assertEquals("bytes", ServeFixture.header(r, "Accept-Ranges"));
            assertNull(ServeFixture.header(r, "Content-Encoding"), "never gzip");
            assertNull(ServeFixture.header(r, "X-Xet-Hash"));
        }
    }

    @Test
    void pathsAndRevisions_areDecoded_asEitherClientEncodesThem() throws Exception {
        try (ServeFixture hub = start()) {
            String commit = hub.server.commit(REPO);
            for (String url : List.of("/resolve/main/donn%C3%A9es/%C3%A9%20%C3%A0.txt", "/resolve/HEAD/donn%C3%A9es/%C3%A9%20%C3%A0.txt",
                    "/resolve/" + commit + "/donn%C3%A9es%2F%C3%A9%20%C3%A0.txt")) {
                HttpResponse<byte[]> r = hub.get("/" + REPO + url);
                assertEquals(200, r.statusCode(), url);
                assertEquals("accent\n", new String(r.body(), StandardCharsets.UTF_8));
            }
            HttpResponse<byte[]> pr = hub.get("/" + REPO + "/resolve/refs%2Fpr%2F1/config.json");
            assertEquals("RevisionNotFound", ServeFixture.header(pr, "X-Error-Code"));
        }
    }

    @Test
    void head_hasContentLengthAndEtag_butNoBody() throws Exception {
        try (ServeFixture hub = start();
                RawHttp raw = new RawHttp(hub.server.port())) {
            raw.send("HEAD /" + REPO + "/resolve/main/config.json HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /" + REPO + "/resolve/main/config.json HTTP/1.1\r\nHost: x\r\n\r\n");
            RawHttp.Response head = raw.read(true);
            assertEquals(200, head.status());
            assertEquals(CONFIG.length, head.contentLength());
            assertNotNull(head.header("etag"));
            // Had the HEAD carried a body, this second response would start inside it.
            RawHttp.Response get = raw.read(false);
            assertEquals(200, get.status());
            assertArrayEquals(CONFIG, get.body());
        }
    }

    @Test
    void lfsFile_redirectsToTheCdnPort_withLinkedEtagAndSize() throws Exception {
        try (ServeFixture hub = start()) {
            for (boolean head : new boolean[] {true, false}) {
                HttpResponse<byte[]> r = head
                        ? hub.head("/" + REPO + "/resolve/main/model.safetensors")
                        : hub.get("/" + REPO + "/resolve/main/model.safetensors");
                assertEquals(302, r.statusCode());
                assertEquals('"' + sha256Hex() + '"', ServeFixture.header(r, "X-Linked-Etag"));
                assertEquals(String.valueOf(WEIGHTS.size()), ServeFixture.header(r, "X-Linked-Size"));
                assertEquals(hub.server.commit(REPO), ServeFixture.header(r, "X-Repo-Commit"));
                assertNotNull(ServeFixture.header(r, "ETag"));
                assertNotEquals('"' + sha256Hex() + '"', ServeFixture.header(r, "ETag"), "the 302's own ETag is not the file's");
                assertNull(ServeFixture.header(r, "X-Xet-Hash"));
                URI location = URI.create(ServeFixture.header(r, "Location"));
                assertTrue(location.isAbsolute());
                assertEquals("localhost", location.getHost(), "another host name than the Hub's 127.0.0.1");
                assertEquals(hub.server.cdnPort(), location.getPort());
                assertNotEquals(hub.server.port(), location.getPort());
                assertEquals("/cdn/" + sha256Hex(), location.getPath());
                assertEquals(0, r.body().length);
            }
        }
    }

    @Test
    void cdnRedirectHost_isAnotherNameForThisServer_orTheConfiguredOne() throws Exception {
        try (ServeFixture hub = start()) {
            String path = "/" + REPO + "/resolve/main/model.safetensors";
            RawHttp.Response byName = RawHttp.exchange(hub.server.port(), "HEAD " + path + " HTTP/1.1\r\nHost: localhost:1\r\n\r\n");
            assertEquals("127.0.0.1", URI.create(byName.header("location")).getHost());
            RawHttp.Response byIp = RawHttp.exchange(hub.server.port(), "HEAD " + path + " HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n");
            assertEquals("localhost", URI.create(byIp.header("location")).getHost());
        }
        try (ServeFixture hub = ServeFixture.start(ServeOptions.of(root).withCdnHost("cdn.example"))) {
            URI location = URI.create(ServeFixture.header(hub.head("/" + REPO + "/resolve/main/model.safetensors"), "Location"));
            assertEquals("cdn.example", location.getHost());
            assertEquals(hub.server.cdnPort(), location.getPort());
        }
    }

    @Test
    void cdnPort_alsoListensOnIpv6Loopback_forClientsThatResolveLocalhostThereFirst() throws Exception {
        try (ServeFixture hub = start()) {
            RawHttp.Response r;
            try {
                r = RawHttp.exchange("::1", hub.server.cdnPort(), "HEAD /cdn/" + sha256Hex() + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
            } catch (SocketException noIpv6) {
                Assumptions.abort("no IPv6 loopback here: " + noIpv6);
                return;
            }
            assertEquals(200, r.status());
            assertEquals(WEIGHTS.size(), r.contentLength());
        }
    }

    @Test
    void cdn_servesTheBlobByHash_withSha256EtagAndNoHubHeaders() throws Exception {
        try (ServeFixture hub = start()) {
            URI location = URI.create(ServeFixture.header(hub.get("/" + REPO + "/resolve/main/model.safetensors"), "Location"));
            HttpResponse<byte[]> r = hub.get(location);
            assertEquals(200, r.statusCode());
            assertArrayEquals(WEIGHTS.bytes(0, (int) WEIGHTS.size()), r.body());
            assertEquals('"' + sha256Hex() + '"', ServeFixture.header(r, "ETag"));
            assertNull(ServeFixture.header(r, "X-Repo-Commit"));
            assertNull(ServeFixture.header(r, "X-Linked-Etag"));

            HttpResponse<byte[]> bare = hub.get(URI.create(hub.server.cdnEndpoint() + "/cdn/" + sha256Hex()));
            assertEquals(200, bare.statusCode(), "a public blob needs no signature");
            HttpResponse<byte[]> unknown = hub.get(URI.create(hub.server.cdnEndpoint() + "/cdn/" + "0".repeat(64)));
            assertEquals(404, unknown.statusCode());
        }
    }

    @Test
    void ranges_are206WithExactLengthsOnBothPorts() throws Exception {
        try (ServeFixture hub = start()) {
            URI cdn = URI.create(hub.server.cdnEndpoint() + "/cdn/" + sha256Hex());
            long size = WEIGHTS.size();
            record Case(String range, long first, long last) {}
            for (Case c : List.of(new Case("bytes=0-0", 0, 0), new Case("bytes=100-199", 100, 199),
                    new Case("bytes=299990-", 299990, size - 1), new Case("bytes=-10", size - 10, size - 1),
                    new Case("bytes=299000-999999999", 299000, size - 1))) {
                HttpResponse<byte[]> r = hub.get(cdn, "Range", c.range());
                assertEquals(206, r.statusCode(), c.range());
                assertEquals("bytes " + c.first() + "-" + c.last() + "/" + size, ServeFixture.header(r, "Content-Range"));
                assertArrayEquals(WEIGHTS.bytes(c.first(), (int) (c.last() - c.first() + 1)), r.body(), c.range());
            }
            HttpResponse<byte[]> hubRange = hub.get("/" + REPO + "/resolve/main/config.json", "Range", "bytes=2-5");
            assertEquals(206, hubRange.statusCode());
            assertEquals("bytes 2-5/" + CONFIG.length, ServeFixture.header(hubRange, "Content-Range"));
            assertArrayEquals(Arrays.copyOfRange(CONFIG, 2, 6), hubRange.body());
            assertEquals(hub.server.commit(REPO), ServeFixture.header(hubRange, "X-Repo-Commit"));

            HttpResponse<byte[]> multi = hub.get(cdn, "Range", "bytes=0-1,5-6");
            assertEquals(200, multi.statusCode(), "several ranges may be answered whole");
            assertEquals(size, multi.body().length);
        }
    }

    @Test
    void rangeStartingAtOrPastTheEnd_is416WithTheSize() throws Exception {
        try (ServeFixture hub = start()) {
            URI cdn = URI.create(hub.server.cdnEndpoint() + "/cdn/" + sha256Hex());
            HttpResponse<byte[]> r = hub.get(cdn, "Range", "bytes=" + WEIGHTS.size() + "-");
            assertEquals(416, r.statusCode());
            assertEquals("bytes */" + WEIGHTS.size(), ServeFixture.header(r, "Content-Range"));
            HttpResponse<byte[]> hubSide = hub.get("/" + REPO + "/resolve/main/config.json", "Range", "bytes=999-");
            assertEquals(416, hubSide.statusCode());
            assertEquals("bytes */" + CONFIG.length, ServeFixture.header(hubSide, "Content-Range"));
        }
    }

    @Test
    void emptyFile_withTheJsProbeRange_is200WithTheTotalInContentRange() throws Exception {
        try (ServeFixture hub = start()) {
            HttpResponse<byte[]> r = hub.get("/" + REPO + "/resolve/main/empty.txt", "Range", "bytes=0-0");
            assertEquals(200, r.statusCode());
            assertEquals("bytes */0", ServeFixture.header(r, "Content-Range"));
            assertEquals("0", ServeFixture.header(r, "Content-Length"));
            assertEquals("\"e69de29bb2d1d6434b8b29ae775ad8c2e48c5391\"", ServeFixture.header(r, "ETag"));
            assertEquals(0, r.body().length);
        }
    }

    @Test
    void ifNoneMatchWithTheEtag_is304() throws Exception {
        try (ServeFixture hub = start()) {
            HttpResponse<byte[]> first = hub.get("/" + REPO + "/resolve/main/config.json");
            String etag = ServeFixture.header(first, "ETag");
            HttpResponse<byte[]> again = hub.get("/" + REPO + "/resolve/main/config.json", "If-None-Match", etag);
            assertEquals(304, again.statusCode());
            assertEquals(0, again.body().length);
            assertEquals(etag, ServeFixture.header(again, "ETag"));
            assertEquals(200, hub.get("/" + REPO + "/resolve/main/config.json", "If-None-Match", "\"other\"").statusCode());

            URI cdn = URI.create(hub.server.cdnEndpoint() + "/cdn/" + sha256Hex());
            assertEquals(304, hub.get(cdn, "If-None-Match", "W/\"" + sha256Hex() + "\"").statusCode());
            HttpResponse<byte[]> lfs = hub.get("/" + REPO + "/resolve/main/model.safetensors",
                    "If-None-Match", '"' + sha256Hex() + '"');
            assertEquals(304, lfs.statusCode());
            assertEquals(String.valueOf(WEIGHTS.size()), ServeFixture.header(lfs, "X-Linked-Size"));
        }
    }

    @Test
    void missingFile_is404EntryNotFoundWithTheCommit() throws Exception {
        try (ServeFixture hub = start()) {
            for (boolean head : new boolean[] {true, false}) {
                HttpResponse<byte[]> r = head
                        ? hub.head("/" + REPO + "/resolve/main/nope.bin")
                        : hub.get("/" + REPO + "/resolve/main/nope.bin");
                assertEquals(404, r.statusCode());
                assertEquals("EntryNotFound", ServeFixture.header(r, "X-Error-Code"));
                assertNotNull(ServeFixture.header(r, "X-Error-Message"));
                assertEquals(hub.server.commit(REPO), ServeFixture.header(r, "X-Repo-Commit"));
                if (!head) {
                    assertTrue(ServeFixture.json(r).getAsJsonObject().has("error"));
                }
            }
        }
    }

    @Test
    void fileOverTwoGib_hashesAndServesRangesPastTheIntLimit() throws Exception {
        long size = (1L << 31) + 1;
        Path file = root.resolve(REPO).resolve("huge.gguf");
        Files.createDirectories(file.getParent());
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(size); // sparse: zeros
        }
        try (ServeFixture hub = ServeFixture.start(root)) {
            // python3: hashlib.sha256(bytes(2**31 + 1)).hexdigest()
            String sha256 = "b8030a8ab89280935633d8d991da3d9907c0f12e8b6fc3bfc515f4d440872b6e";
            HttpResponse<byte[]> redirect = hub.head("/" + REPO + "/resolve/main/huge.gguf");
            assertEquals('"' + sha256 + '"', ServeFixture.header(redirect, "X-Linked-Etag"));
            assertEquals(String.valueOf(size), ServeFixture.header(redirect, "X-Linked-Size"));
            HttpResponse<byte[]> tail = hub.get(URI.create(ServeFixture.header(redirect, "Location")), "Range", "bytes=2147483640-");
            assertEquals(206, tail.statusCode());
            assertEquals("bytes 2147483640-2147483648/2147483649", ServeFixture.header(tail, "Content-Range"));
            assertEquals(9, tail.body().length);
            assertFalse(hub.server.stats().downloads().isEmpty());
        }
    }
}
