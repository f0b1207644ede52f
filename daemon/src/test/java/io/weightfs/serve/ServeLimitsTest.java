package io.weightfs.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code weightfs serve} under load, over real sockets on loopback: idle, slow and stalled clients
 * are dropped after their timeouts (injected short here), the connection cap answers 503, and
 * oversize requests answer 414, 431 and 413.
 */
class ServeLimitsTest {
    private static final String REPO = "acme/tiny";
    private static final Duration SHORT = Duration.ofMillis(300);
    private static final Duration LONG = Duration.ofMinutes(5);
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path root;

    @BeforeEach
    void writeRepo() throws Exception {
        ServeFixture.write(root, REPO, "config.json", "{\"a\": 1}\n");
    }

    private ServeFixture start(ServeLimits limits) throws IOException {
        return ServeFixture.start(ServeOptions.of(root).withLimits(limits));
    }

    private static ServeLimits longEverything() {
        return ServeLimits.DEFAULTS.withIdleTimeout(LONG).withRequestTimeout(LONG).withStallTimeout(LONG);
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(10);
        }
    }

    private static final String GET_CONFIG = "GET /" + REPO + "/resolve/main/config.json HTTP/1.1\r\nHost: x\r\n\r\n";

    @Test
    void anIdleClient_thatNeverSendsARequest_isDroppedAfterTheIdleTimeout() throws Exception {
        try (ServeFixture hub = start(longEverything().withIdleTimeout(SHORT)); RawHttp raw = new RawHttp(hub.server.port())) {
            assertTrue(raw.closedByServer(), "the server closes a silent connection");
            await(() -> hub.server.guard().open() == 0, "the slot to be free again");
            assertEquals(1, hub.server.guard().timedOut());
        }
    }

    @Test
    void aKeptAliveClient_isServed_thenDroppedAfterTheIdleTimeout() throws Exception {
        try (ServeFixture hub = start(longEverything().withIdleTimeout(SHORT)); RawHttp raw = new RawHttp(hub.server.port())) {
            raw.send(GET_CONFIG);
            assertEquals(200, raw.read(false).status());
            raw.send(GET_CONFIG);
            assertEquals(200, raw.read(false).status(), "keep-alive still works within the timeout");
            assertTrue(raw.closedByServer());
        }
    }

    @Test
    void aHeaderTrickledByteByByte_isCutAtTheRequestTimeout_evenThoughBytesKeepArriving() throws Exception {
        try (ServeFixture hub = start(longEverything().withRequestTimeout(SHORT)); RawHttp raw = new RawHttp(hub.server.port())) {
            raw.send("GET / HTTP/1.1\r\nX-Slow: ");
            // A byte now and then keeps the connection busy but never finishes the head: a slowloris.
            long deadline = System.nanoTime() + WAIT.toNanos();
            boolean cut = false;
            while (!cut && System.nanoTime() < deadline) {
                try {
                    raw.send("a");
                } catch (IOException e) {
                    cut = true;
                    break;
                }
                cut = hub.server.guard().timedOut() > 0;
                Thread.sleep(20);
            }
            assertTrue(cut, "the trickling request was cut");
        }
    }

    @Test
    void aClientThatStopsReadingABody_isAbandonedAfterTheStallTimeout() throws Exception {
        Path big = root.resolve(REPO).resolve("big.bin");
        try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(256L << 20); // far more than the socket buffers on both sides hold
        }
        try (ServeFixture hub = start(longEverything().withStallTimeout(SHORT)); Socket s = new Socket()) {
            s.setReceiveBufferSize(64 * 1024);
            s.connect(new InetSocketAddress("127.0.0.1", hub.server.cdnPort()), 10_000);
            s.setSoTimeout((int) WAIT.toMillis());
            String location = hub.get("/" + REPO + "/resolve/main/big.bin").headers().firstValue("location").orElseThrow();
            String path = location.substring(location.indexOf('/', location.indexOf("//") + 2));
            s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            await(() -> hub.server.guard().timedOut() > 0, "the stalled response to be abandoned");
            long got = drain(s.getInputStream());
            assertTrue(got < (256L << 20), "the body was cut, not completed: " + got + " bytes");
        }
    }

    private static long drain(InputStream in) {
        long n = 0;
        byte[] buf = new byte[1 << 20];
        try {
            for (int r; (r = in.read(buf)) >= 0; ) {
                n += r;
            }
        } catch (IOException reset) {
            // a reset is a cut too
        }
        return n;
    }

    @Test
    void theConnectionCap_answers503WithRetryAfterAndAReason_andFreesUpWhenAClientLeaves() throws Exception {
        try (ServeFixture hub = start(longEverything().withMaxConnections(2));
                RawHttp a = new RawHttp(hub.server.port());
                RawHttp b = new RawHttp(hub.server.cdnPort())) {
            a.send(GET_CONFIG);
            assertEquals(200, a.read(false).status());
            await(() -> hub.server.guard().open() == 2, "both connections to be admitted");
            RawHttp.Response refused = RawHttp.exchange(hub.server.port(), GET_CONFIG);
            assertEquals(503, refused.status());
            assertEquals("1", refused.header("retry-after"));
            assertEquals("ServiceUnavailable", refused.header("x-error-code"));
            assertTrue(new String(refused.body(), StandardCharsets.UTF_8).contains("--max-connections"));
            assertEquals(1, hub.server.guard().refused());
            b.close();
            await(() -> hub.server.guard().open() == 1, "the closed connection's slot to be free");
            assertEquals(200, RawHttp.exchange(hub.server.port(), GET_CONFIG).status());
        }
    }

    @Test
    void anOversizeRequestLine_is414() throws Exception {
        try (ServeFixture hub = start(ServeLimits.DEFAULTS)) {
            int limit = ServeLimits.DEFAULTS.maxRequestLineBytes();
            RawHttp.Response r = RawHttp.exchange(hub.server.port(), "GET /" + "a".repeat(limit) + " HTTP/1.1\r\n\r\n");
            assertEquals(414, r.status());
            assertNotNull(r.header("x-error-code"));
            try (RawHttp raw = new RawHttp(hub.server.port())) {
                // Refused before the line ends: the server does not wait for the rest of it.
                raw.send("GET /" + "b".repeat(limit + 10));
                assertEquals(414, raw.read(false).status());
            }
        }
    }

    @Test
    void tooManyHeaderLines_is431_andAnOversizeHead_is431() throws Exception {
        try (ServeFixture hub = start(ServeLimits.DEFAULTS)) {
            StringBuilder many = new StringBuilder("GET / HTTP/1.1\r\n");
            for (int i = 0; i <= ServeLimits.DEFAULTS.maxHeaderLines(); i++) {
                many.append("X-H").append(i).append(": v\r\n");
            }
            assertEquals(431, RawHttp.exchange(hub.server.port(), many + "\r\n").status());
            assertEquals(431, RawHttp.exchange(hub.server.port(),
                    "GET / HTTP/1.1\r\nX-Big: " + "a".repeat(ServeLimits.DEFAULTS.maxHeadBytes()) + "\r\n\r\n").status());
        }
    }

    @Test
    void anOversizeBody_is413_beforeItIsRead() throws Exception {
        try (ServeFixture hub = start(ServeLimits.DEFAULTS.withMaxBodyBytes(1024))) {
            RawHttp.Response r = RawHttp.exchange(hub.server.port(), "POST /api/models/" + REPO + "/paths-info/main HTTP/1.1\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 2048\r\n\r\n" + "x".repeat(2048));
            assertEquals(413, r.status());
            assertTrue(new String(r.body(), StandardCharsets.UTF_8).contains("at most 1024"));
        }
    }

    @Test
    void badLimits_areRefusedWithTheValue() {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> ServeLimits.DEFAULTS.withIdleTimeout(Duration.ZERO));
        assertTrue(e.getMessage().contains("idleTimeout must be positive"), e.getMessage());
        assertTrue(Files.isDirectory(root));
    }
}
