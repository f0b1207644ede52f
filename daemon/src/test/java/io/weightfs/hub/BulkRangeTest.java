package io.weightfs.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weightfs.config.Token;
import io.weightfs.testing.PatternContent;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The bulk range reader against a scripted server: what it sends, what it accepts, and every kind
 * of response it must refuse rather than deliver.
 */
class BulkRangeTest {
    private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
    private static final PatternContent CONTENT = new PatternContent(21, 3L * 1024 * 1024 + 17);

    private final List<Duration> sleeps = Collections.synchronizedList(new ArrayList<>());
    private ScriptedServer server;
    private HubClient client;

    @AfterEach
    void stop() throws IOException {
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private HubClient client(HubClient.Options options) {
        client = new HubClient(options);
        return client;
    }

    private HubClient.Options options() {
        return new HubClient.Options(server.endpoint(), 4, Duration.ofSeconds(5), Duration.ofSeconds(5),
                new RetryPolicy(3, Duration.ofMillis(100), () -> 0.5), sleeps::add, Clock.systemUTC(), false);
    }

    private static RemoteFile file(Optional<Token> token) {
        return new RemoteFile("acme/m", COMMIT, "w.bin", CONTENT.size(), token);
    }

    /** Resolution's HEAD answered as the Hub answers a regular file; GETs by {@code get}. */
    private ScriptedServer serve(ScriptedServer.Handler get) throws IOException {
        server = new ScriptedServer((r, out) -> {
            if (r.method().equals("HEAD")) {
                ScriptedServer.head(out, "200 OK", "Content-Length: " + CONTENT.size(), "X-Repo-Commit: " + COMMIT, "ETag: \"x\"");
                return true;
            }
            return get.answer(r, out);
        });
        return server;
    }

    /** A correct 206 for whatever range was asked. */
    private static boolean goodRange(ScriptedServer.Request r, OutputStream out) throws IOException {
        long s = r.rangeStart();
        long e = r.rangeEnd();
        ScriptedServer.head(out, "206 Partial Content", "Content-Range: bytes " + s + "-" + e + "/" + CONTENT.size(),
                "Content-Length: " + (e - s + 1));
        out.write(CONTENT.bytes(s, (int) (e - s + 1)));
        return true;
    }

    private static byte[] readAll(ByteStream s, int length) throws IOException {
        ByteBuffer dst = ByteBuffer.allocateDirect(length);
        while (s.read(dst) >= 0) {
            // until the end of the range
        }
        byte[] out = new byte[dst.position()];
        dst.flip().get(out);
        return out;
    }

    @Test
    void aRange_isReadExactly_withIdentityEncoding_andTheConnectionIsKeptForTheNext() throws Exception {
        serve(BulkRangeTest::goodRange);
        HubClient c = client(options());
        try (ByteStream s = c.openRange(file(Optional.empty()), 1000, 200_000, Deadline.NONE)) {
            assertArrayEquals(CONTENT.bytes(1000, 200_000), readAll(s, 200_000));
        }
        try (ByteStream s = c.openRange(file(Optional.empty()), 2_000_000, 5000, Deadline.NONE)) {
            assertArrayEquals(CONTENT.bytes(2_000_000, 5000), readAll(s, 5000));
        }
        List<ScriptedServer.Request> gets = server.gets();
        assertEquals(2, gets.size());
        assertEquals("bytes=1000-200999", gets.get(0).header("range"));
        assertEquals("identity", gets.get(0).header("accept-encoding"));
        assertEquals(gets.get(0).connection(), gets.get(1).connection(), "the second range reused the connection");
    }

    @Test
    void theToken_goesToTheHubsOrigin_only() throws Exception {
        serve(BulkRangeTest::goodRange);
        Token t = new Token("hf_secret", "test");
        try (ByteStream s = client(options()).openRange(file(Optional.of(t)), 0, 10, Deadline.NONE)) {
            readAll(s, 10);
        }
        assertEquals("Bearer hf_secret", server.gets().get(0).header("authorization"));
    }

    @Test
    void aGzipBody_isRefused_neverDelivered() throws Exception {
        serve((r, out) -> {
            long s = r.rangeStart();
            long e = r.rangeEnd();
            ScriptedServer.head(out, "206 Partial Content", "Content-Range: bytes " + s + "-" + e + "/" + CONTENT.size(),
                    "Content-Length: " + (e - s + 1), "Content-Encoding: gzip");
            out.write(CONTENT.bytes(s, (int) (e - s + 1)));
            return true;
        });
        ByteBuffer dst = ByteBuffer.allocate(100);
        HubException e = assertThrows(HubException.class, () -> {
            try (ByteStream s = client(options()).openRange(file(Optional.empty()), 0, 100, Deadline.NONE)) {
                s.read(dst);
            }
        });
        assertTrue(e.getMessage().contains("Content-Encoding 'gzip'"), e.getMessage());
        assertEquals(0, dst.position(), "not a byte delivered");
        assertEquals(4, server.gets().size(), "tried, and retried within the budget");
    }

    @Test
    void aContentRangeOtherThanAsked_isRefused() throws Exception {
        serve((r, out) -> {
            long s = r.rangeStart() + 1; // off by one
            long e = r.rangeEnd();
            ScriptedServer.head(out, "206 Partial Content", "Content-Range: bytes " + s + "-" + e + "/" + CONTENT.size(),
                    "Content-Length: " + (e - s + 1));
            out.write(CONTENT.bytes(s, (int) (e - s + 1)));
            return true;
        });
        HubException e = assertThrows(HubException.class, () -> {
            try (ByteStream s = client(options()).openRange(file(Optional.empty()), 10, 100, Deadline.NONE)) {
                s.read(ByteBuffer.allocate(100));
            }
        });
        assertTrue(e.getMessage().contains("not the range asked for"), e.getMessage());
    }

    @Test
    void aContentLengthThatDisagreesWithTheRange_isRefused() throws Exception {
        serve((r, out) -> {
            long s = r.rangeStart();
            long e = r.rangeEnd();
            ScriptedServer.head(out, "206 Partial Content", "Content-Range: bytes " + s + "-" + e + "/" + CONTENT.size(),
                    "Content-Length: " + (e - s));
            out.write(CONTENT.bytes(s, (int) (e - s)));
            return true;
        });
        HubException e = assertThrows(HubException.class, () -> {
            try (ByteStream s = client(options()).openRange(file(Optional.empty()), 0, 100, Deadline.NONE)) {
                s.read(ByteBuffer.allocate(100));
            }
        });
        assertTrue(e.getMessage().contains("Content-Length 99"), e.getMessage());
    }

    @Test
    void aServerThatIgnoresRange_isSkippedToThePosition_andTheBytesAreRight() throws Exception {
        serve((r, out) -> {
            ScriptedServer.head(out, "200 OK", "Content-Length: " + CONTENT.size());
            out.write(CONTENT.bytes(0, (int) CONTENT.size()));
            return true;
        });
        try (ByteStream s = client(options()).openRange(file(Optional.empty()), 1_500_000, 70_000, Deadline.NONE)) {
            assertArrayEquals(CONTENT.bytes(1_500_000, 70_000), readAll(s, 70_000));
        }
    }

    @Test
    void aBodyCutMidway_isResumedFromTheFirstByteNotDelivered() throws Exception {
        AtomicInteger n = new AtomicInteger();
        serve((r, out) -> {
            long s = r.rangeStart();
            long e = r.rangeEnd();
            ScriptedServer.head(out, "206 Partial Content", "Content-Range: bytes " + s + "-" + e + "/" + CONTENT.size(),
                    "Content-Length: " + (e - s + 1));
            if (n.getAndIncrement() < 2) {
                out.write(CONTENT.bytes(s, 100_000)); // then the connection drops
                return false;
            }
            out.write(CONTENT.bytes(s, (int) (e - s + 1)));
            return true;
        });
        try (ByteStream s = client(options()).openRange(file(Optional.empty()), 0, 1_000_000, Deadline.NONE)) {
            assertArrayEquals(CONTENT.bytes(0, 1_000_000), readAll(s, 1_000_000));
        }
        List<ScriptedServer.Request> gets = server.gets();
        assertEquals(3, gets.size());
        assertEquals("bytes=0-999999", gets.get(0).header("range"));
        assertTrue(gets.get(1).rangeStart() >= 100_000 - 65536, "resumed near where the cut was: " + gets.get(1).header("range"));
        assertTrue(sleeps.isEmpty(), "an attempt that delivered bytes resumes at once: " + sleeps);
    }

    @Test
    void aRetryAfterLongerThanTheDeadline_failsAtOnce_withoutSleepingIt() throws Exception {
        serve((r, out) -> {
            ScriptedServer.head(out, "429 Too Many Requests", "Retry-After: 3600", "Content-Length: 0", "X-Error-Code: RateLimited");
            return true;
        });
        RetryLaterException e = assertThrows(RetryLaterException.class, () -> {
            try (ByteStream s = client(options()).openRange(file(Optional.empty()), 0, 100,
                    Deadline.in(Duration.ofSeconds(60), "the read's deadline"))) {
                s.read(ByteBuffer.allocate(100));
            }
        });
        assertEquals(Duration.ofSeconds(3601), e.after());
        assertTrue(e.getMessage().contains("the server asked to wait 3601 s"), e.getMessage());
        assertTrue(sleeps.isEmpty(), "nothing was slept: " + sleeps);
    }

    @Test
    void aTrickle_isAbandonedBelowTheTransferFloor_andFailsAfterTheRetryBudget() throws Exception {
        serve((r, out) -> {
            long s = r.rangeStart();
            long e = r.rangeEnd();
            ScriptedServer.head(out, "206 Partial Content", "Content-Range: bytes " + s + "-" + e + "/" + CONTENT.size(),
                    "Content-Length: " + (e - s + 1));
            out.flush();
            try {
                for (long i = s; i <= e; i++) {
                    out.write(CONTENT.bytes(i, 1));
                    out.flush();
                    Thread.sleep(100);
                }
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
            return false;
        });
        HubClient c = client(options().withTransferFloor(1000, Duration.ofMillis(600)));
        IOException e = assertThrows(IOException.class, () -> {
            try (ByteStream s = c.openRange(file(Optional.empty()), 0, 100_000, Deadline.NONE)) {
                readAll(s, 100_000);
            }
        });
        assertTrue(e.getMessage().contains("below the floor"), e.getMessage());
        assertEquals(4, server.gets().size(), "each slow attempt counts against the budget: " + server.gets().size());
    }

    @Test
    void aServerThatGoesSilent_isAbandonedAfterTheReadTimeout() throws Exception {
        AtomicInteger n = new AtomicInteger();
        serve((r, out) -> {
            if (n.getAndIncrement() == 0) {
                long s = r.rangeStart();
                long e = r.rangeEnd();
                ScriptedServer.head(out, "206 Partial Content", "Content-Range: bytes " + s + "-" + e + "/" + CONTENT.size(),
                        "Content-Length: " + (e - s + 1));
                out.flush();
                try {
                    Thread.sleep(5_000);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                }
                return false;
            }
            return goodRange(r, out);
        });
        HubClient c = client(options().withReadTimeout(Duration.ofMillis(500)));
        try (ByteStream s = c.openRange(file(Optional.empty()), 0, 10_000, Deadline.NONE)) {
            assertArrayEquals(CONTENT.bytes(0, 10_000), readAll(s, 10_000));
        }
        assertEquals(1, sleeps.size(), "one backoff, then the retry");
    }

    @Test
    void aForegroundDeadline_endsABlockedRead_withTheDeadlineNamed() throws Exception {
        serve((r, out) -> {
            ScriptedServer.head(out, "206 Partial Content", "Content-Range: bytes 0-99/" + CONTENT.size(), "Content-Length: 100");
            out.flush();
            try {
                Thread.sleep(10_000);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
            return false;
        });
        HubClient c = client(options().withReadTimeout(Duration.ofSeconds(30)));
        IOException e = assertThrows(IOException.class, () -> {
            try (ByteStream s = c.openRange(file(Optional.empty()), 0, 100, Deadline.in(Duration.ofMillis(700), "the test's deadline"))) {
                readAll(s, 100);
            }
        });
        assertTrue(e.getMessage().contains("the test's deadline"), e.getMessage());
    }
}
