package io.weightfs.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The HTTP/1.1 layer itself, spoken over a raw socket. */
class HttpProtocolTest {
    private static final String REPO = "acme/tiny";

    @TempDir
    Path root;

    @BeforeEach
    void writeRepo() throws Exception {
        ServeFixture.write(root, REPO, "config.json", "{\"a\": 1}\n");
    }

    @Test
    void garbageRequestLine_is400WithAnErrorCode_andTheConnectionCloses() throws Exception {
        try (ServeFixture hub = ServeFixture.start(root);
                RawHttp raw = new RawHttp(hub.server.port())) {
            raw.send("THIS IS NOT HTTP\r\n\r\n");
            RawHttp.Response r = raw.read(false);
            assertEquals(400, r.status());
            assertNotNull(r.header("x-error-code"));
            assertTrue(new String(r.body(), StandardCharsets.UTF_8).contains("\"error\""));
            assertTrue(raw.closedByServer());
        }
    }

    @Test
    void binaryGarbageAndBadVersions_areRefused() throws Exception {
        try (ServeFixture hub = ServeFixture.start(root)) {
            try (RawHttp raw = new RawHttp(hub.server.port())) {
                raw.send(new byte[] {0x16, 0x03, 0x01, 0x00, (byte) 0xa5, 0x01, '\r', '\n', '\r', '\n'}); // a TLS hello, roughly
                assertEquals(400, raw.read(false).status());
            }
            assertEquals(505, RawHttp.exchange(hub.server.port(), "GET / HTTP/2.0\r\n\r\n").status());
            assertEquals(400, RawHttp.exchange(hub.server.port(), "GET /a b HTTP/1.1\r\n\r\n").status());
            assertEquals(400, RawHttp.exchange(hub.server.port(), "GET / HTTP/1.1\r\nNo colon here\r\n\r\n").status());
        }
    }

    @Test
    void oversizedHead_is431() throws Exception {
        try (ServeFixture hub = ServeFixture.start(root);
                RawHttp raw = new RawHttp(hub.server.port())) {
            raw.send("GET / HTTP/1.1\r\nX-Big: " + "a".repeat(ServeLimits.DEFAULTS.maxHeadBytes()) + "\r\n\r\n");
            assertEquals(431, raw.read(false).status());
        }
    }

    @Test
    void keepAlive_servesSeveralRequestsOnOneConnection_includingPipelinedOnes() throws Exception {
        try (ServeFixture hub = ServeFixture.start(root);
                RawHttp raw = new RawHttp(hub.server.port())) {
            String get = "GET /" + REPO + "/resolve/main/config.json HTTP/1.1\r\nHost: x\r\n\r\n";
            raw.send(get);
            assertEquals(200, raw.read(false).status());
            raw.send(get + "GET /api/models/" + REPO + " HTTP/1.1\r\nHost: x\r\n\r\n" + get);
            assertEquals(200, raw.read(false).status());
            RawHttp.Response info = raw.read(false);
            assertEquals(200, info.status());
            assertTrue(new String(info.body(), StandardCharsets.UTF_8).contains("\"sha\""));
            assertEquals("{\"a\": 1}\n", new String(raw.read(false).body(), StandardCharsets.UTF_8));
            raw.send("GET /" + REPO + "/resolve/main/config.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            RawHttp.Response last = raw.read(false);
            assertEquals("close", last.header("connection"));
            assertTrue(raw.closedByServer());
        }
    }

    @Test
    void http10_closesUnlessAskedToKeepAlive() throws Exception {
        try (ServeFixture hub = ServeFixture.start(root)) {
            try (RawHttp raw = new RawHttp(hub.server.port())) {
                raw.send("GET /api/models/" + REPO + " HTTP/1.0\r\n\r\n");
                assertEquals(200, raw.read(false).status());
                assertTrue(raw.closedByServer());
            }
            try (RawHttp raw = new RawHttp(hub.server.port())) {
                raw.send("GET /api/models/" + REPO + " HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
                RawHttp.Response r = raw.read(false);
                assertEquals("keep-alive", r.header("connection"));
                raw.send("GET /api/models/" + REPO + " HTTP/1.0\r\n\r\n");
                assertEquals(200, raw.read(false).status());
            }
        }
    }

    @Test
    void postBody_withExpectContinue_getsA100First() throws Exception {
        try (ServeFixture hub = ServeFixture.start(root);
                RawHttp raw = new RawHttp(hub.server.port())) {
            String body = "{\"paths\": [\"config.json\"]}";
            raw.send("POST /api/models/" + REPO + "/paths-info/main HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.length() + "\r\nExpect: 100-continue\r\n\r\n");
            assertEquals(100, raw.read(true).status());
            raw.send(body);
            RawHttp.Response r = raw.read(false);
            assertEquals(200, r.status());
            assertTrue(new String(r.body(), StandardCharsets.UTF_8).contains("config.json"));
        }
    }

    @Test
    void chunkedRequestBodies_areRefusedWith501() throws Exception {
        try (ServeFixture hub = ServeFixture.start(root)) {
            RawHttp.Response r = RawHttp.exchange(hub.server.port(), "POST /api/models/" + REPO
                    + "/paths-info/main HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
            assertEquals(501, r.status());
        }
    }

    @Test
    void headerInjectionThroughAnEncodedPath_cannotSplitTheResponse() throws Exception {
        try (ServeFixture hub = ServeFixture.start(root)) {
            RawHttp.Response r = RawHttp.exchange(hub.server.port(),
                    "GET /" + REPO + "/resolve/main/x%0D%0ASet-Cookie:%20a=b HTTP/1.1\r\nHost: x\r\n\r\n");
            assertEquals(404, r.status());
            assertFalse(r.headers().containsKey("set-cookie"));
        }
    }

    @Test
    void unknownPages_are404WithAnErrorCode() throws Exception {
        try (ServeFixture hub = ServeFixture.start(root)) {
            RawHttp.Response r = RawHttp.exchange(hub.server.port(), "GET /nothing/here HTTP/1.1\r\nHost: x\r\n\r\n");
            assertEquals(404, r.status());
            assertNotNull(r.header("x-error-code"));
            RawHttp.Response cdn = RawHttp.exchange(hub.server.cdnPort(), "GET /api/models/" + REPO + " HTTP/1.1\r\nHost: x\r\n\r\n");
            assertEquals(404, cdn.status(), "the CDN port serves blobs only");
        }
    }
}
