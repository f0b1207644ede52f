package io.weightfs.hub;

import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import okhttp3.HttpUrl;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP/1.1 client for bulk bytes: ranged GETs whose bodies are read straight from the socket
 * into the caller's large buffer. OkHttp stays for the Hub's API calls (JSON, redirects,
 * HEAD); this does one thing: send a GET, parse the head strictly, hand out exactly the body's bytes,
 * keep the connection alive for the next range.
 *
 * <p>What it does not do: redirects (the caller follows them, because only the caller knows whether
 * a token may go along), chunked bodies (a range body always has a length), compression (every
 * request says {@code Accept-Encoding: identity}; the caller refuses anything else).
 *
 * <p><b>Timeouts.</b> Reads block; a single watchdog thread ({@link #WATCH_PERIOD_MILLIS}) closes a
 * connection whose read has waited longer than the read timeout, that outlived its request's
 * {@link Deadline}, or whose body arrives slower than {@link Options#minBytesPerSecond()} over
 * {@link Options#slowWindow()}; the blocked read then fails with the reason. A read costs one
 * volatile write for this, not a timer per read.
 *
 * <p>Thread-safe: the pool is a concurrent map of per-origin deques (synchronized, no I/O under
 * them). Owns the watchdog thread until {@link #close()}.
 */
final class BulkClient implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BulkClient.class);
    static final long WATCH_PERIOD_MILLIS = 200;
    /** Idle pooled connections per origin; more parallel ranges than this just open new ones. */
    private static final int MAX_IDLE_PER_ORIGIN = 16;
    /** A pooled connection unused for this long may have been closed by the server: not reused. */
    private static final long IDLE_TTL_NANOS = TimeUnit.SECONDS.toNanos(30);

    /**
     * @param connectTimeout TCP (and TLS) connect
     * @param readTimeout longest silence on a socket before the attempt fails
     * @param minBytesPerSecond a body slower than this over {@code slowWindow} is abandoned (0: never)
     * @param tls the TLS context for https URLs (the JDK default trusts the system's CAs)
     */
    record Options(Duration connectTimeout, Duration readTimeout, long minBytesPerSecond, Duration slowWindow, SSLContext tls) {}

    private record Origin(String scheme, String host, int port) {
        static Origin of(HttpUrl url) {
            return new Origin(url.scheme(), url.host(), url.port());
        }
    }

    private final Options options;
    private final String userAgent;
    private final Map<Origin, ArrayDeque<Connection>> idle = new ConcurrentHashMap<>();
    private final Set<Connection> active = ConcurrentHashMap.newKeySet();
    private final Thread watchdog;
    private volatile boolean closed;

    BulkClient(Options options, String userAgent) {
        this.options = options;
        this.userAgent = userAgent;
        this.watchdog = Thread.ofPlatform().daemon(true).name("weightfs-http-watchdog").start(this::watch);
    }

    /** One response: its head, and its body to read. Close it when done (early: the connection is dropped). */
    final class Response implements AutoCloseable {
        final ResponseHead head;
        private final Connection conn;
        private boolean done;

        private Response(ResponseHead head, Connection conn) {
            this.head = head;
            this.conn = conn;
        }

        /** Body bytes not read yet (-1: until the connection closes). */
        long remaining() {
            return conn.bodyRemaining;
        }

        /** Reads body bytes; -1 once the body is complete. */
        int read(ByteBuffer dst) throws IOException {
            return conn.readBody(dst);
        }

        /** Reads at most {@code max} bytes of the body as text (error messages), then drops the connection. */
        String readText(int max) {
            ByteBuffer b = ByteBuffer.allocate(max);
            try {
                while (b.hasRemaining() && conn.readBody(b) > 0) {
                    // until max or the end
                }
            } catch (IOException e) {
                // what arrived is enough for a message
            }
            conn.reusable = false;
            return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8);
        }

        @Override
        public void close() {
            if (done) {
                return;
            }
            done = true;
            active.remove(conn);
            if (conn.bodyRemaining == 0 && conn.reusable && !closed) {
                release(conn);
            } else {
                conn.transport.close();
            }
        }
    }

    /**
     * Sends {@code GET url} with {@code headers} (plus Host, User-Agent, Accept-Encoding: identity)
     * and returns once the response head has arrived.
     */
    Response get(HttpUrl url, Map<String, String> headers, Deadline deadline) throws IOException {
        if (closed) {
            throw new IOException("the HTTP client is closed");
        }
        ByteBuffer request = request(url, headers);
        Origin origin = Origin.of(url);
        for (int attempt = 0; ; attempt++) {
            Connection c = attempt == 0 ? pooled(origin) : null;
            boolean reused = c != null;
            if (c == null) {
                c = connect(origin, deadline);
            }
            c.deadline = deadline;
            c.abortReason = null;
            active.add(c);
            try {
                request.rewind();
                c.transport.writeFully(request);
                ResponseHead head = c.readHead();
                return new Response(head, c);
            } catch (IOException e) {
                active.remove(c);
                c.transport.close();
                // A pooled connection the server closed while idle fails at once: one fresh try.
                if (reused && c.abortReason == null) {
                    LOG.debug("pooled connection to {} was closed ({}); reconnecting", origin.host(), e.toString());
                    continue;
                }
                throw c.explain(e);
            }
        }
    }

    private ByteBuffer request(HttpUrl url, Map<String, String> headers) {
        StringBuilder b = new StringBuilder(256);
        b.append("GET ").append(url.encodedPath());
        if (url.encodedQuery() != null) {
            b.append('?').append(url.encodedQuery());
        }
        b.append(" HTTP/1.1\r\nHost: ").append(url.host().contains(":") ? "[" + url.host() + "]" : url.host());
        if (url.port() != HttpUrl.defaultPort(url.scheme())) {
            b.append(':').append(url.port());
        }
        b.append("\r\nUser-Agent: ").append(userAgent).append("\r\nAccept-Encoding: identity\r\n");
        headers.forEach((k, v) -> {
            if (k.indexOf('\r') >= 0 || k.indexOf('\n') >= 0 || v.indexOf('\r') >= 0 || v.indexOf('\n') >= 0) {
                throw new IllegalArgumentException("line break in request header " + k);
            }
            b.append(k).append(": ").append(v).append("\r\n");
        });
        b.append("\r\n");
        return ByteBuffer.wrap(b.toString().getBytes(StandardCharsets.ISO_8859_1));
    }

    private Connection pooled(Origin origin) {
        ArrayDeque<Connection> q = idle.get(origin);
        if (q == null) {
            return null;
        }
        synchronized (q) {
            long now = System.nanoTime();
            while (!q.isEmpty()) {
                Connection c = q.pollLast();
                if (now - c.idleSince < IDLE_TTL_NANOS && c.transport.isOpen()) {
                    return c;
                }
                c.transport.close();
            }
        }
        return null;
    }

    private void release(Connection c) {
        c.idleSince = System.nanoTime();
        c.deadline = Deadline.NONE;
        ArrayDeque<Connection> q = idle.computeIfAbsent(c.origin, o -> new ArrayDeque<>());
        synchronized (q) {
            if (q.size() < MAX_IDLE_PER_ORIGIN) {
                q.addLast(c);
                return;
            }
        }
        c.transport.close();
    }

    private Connection connect(Origin origin, Deadline deadline) throws IOException {
        Duration timeout = options.connectTimeout();
        long left = deadline.remainingNanos();
        if (left < timeout.toNanos()) {
            timeout = Duration.ofNanos(Math.max(1_000_000, left));
        }
        SSLContext tls = null;
        if (origin.scheme().equals("https")) {
            tls = options.tls();
            if (tls == null) {
                try {
                    tls = SSLContext.getDefault();
                } catch (java.security.NoSuchAlgorithmException e) {
                    throw new IOException("no TLS available in this Java runtime", e);
                }
            }
        }
        try {
            return new Connection(origin, Transport.connect(origin.host(), origin.port(), timeout, tls));
        } catch (SocketTimeoutException e) {
            throw new SocketTimeoutException("connecting to " + origin.host() + ":" + origin.port() + " timed out after "
                    + timeout.toMillis() + " ms");
        } catch (IOException e) {
            throw new IOException("cannot connect to " + origin.host() + ":" + origin.port() + ": " + e.getMessage(), e);
        }
    }

    /** One connection to one origin, used by one request at a time. */
    private final class Connection {
        final Origin origin;
        final Transport transport;
        /** Bytes read past the head, not handed out yet: the start of the body. */
        private final ByteBuffer headBuf = ByteBuffer.allocate(ResponseHead.MAX_HEAD_BYTES);
        private ByteBuffer leftover = ByteBuffer.allocate(0);
        long bodyRemaining;
        boolean reusable;
        long idleSince;
        // Watched by the watchdog:
        volatile Deadline deadline = Deadline.NONE;
        /** When the current blocking read began (0: not reading). */
        volatile long readSince;
        volatile long bodyBytes;
        volatile long windowStart;
        volatile long windowBytes;
        /** The head is in: the slow-transfer floor applies from now on (the read timeout covers the wait for the head). */
        volatile boolean inBody;
        volatile String abortReason;

        Connection(Origin origin, Transport transport) {
            this.origin = origin;
            this.transport = transport;
        }

        ResponseHead readHead() throws IOException {
            headBuf.clear();
            inBody = false;
            while (true) {
                if (!headBuf.hasRemaining()) {
                    throw new ResponseHead.MalformedException("the response head is longer than " + ResponseHead.MAX_HEAD_BYTES + " bytes");
                }
                int n = timedRead(headBuf);
                if (n < 0) {
                    throw new EOFException("the server closed the connection before a complete response head"
                            + (headBuf.position() > 0 ? " (" + headBuf.position() + " bytes)" : ""));
                }
                int end = ResponseHead.headEnd(headBuf);
                if (end < 0) {
                    continue;
                }
                ResponseHead head = ResponseHead.parse(headBuf, end);
                if (head.status() == 100) {
                    // An interim answer: drop it and read the real head that follows.
                    ByteBuffer rest = headBuf.duplicate().flip().position(end).slice();
                    headBuf.clear();
                    headBuf.put(rest);
                    continue;
                }
                leftover = headBuf.duplicate().flip().position(end).slice();
                long length = head.contentLength();
                if (head.anyHeader("transfer-encoding") != null) {
                    // Only for error bodies, read as text until the connection closes.
                    length = -1;
                }
                bodyRemaining = length;
                reusable = length >= 0 && !head.closesConnection();
                windowStart = System.nanoTime();
                windowBytes = bodyBytes;
                inBody = true;
                return head;
            }
        }

        int readBody(ByteBuffer dst) throws IOException {
            if (bodyRemaining == 0) {
                return -1;
            }
            int max = bodyRemaining < 0 ? dst.remaining() : (int) Math.min(dst.remaining(), bodyRemaining);
            if (max == 0) {
                return 0;
            }
            int n;
            if (leftover.hasRemaining()) {
                n = Math.min(max, leftover.remaining());
                dst.put(leftover.slice(leftover.position(), n));
                leftover.position(leftover.position() + n);
            } else {
                int oldLimit = dst.limit();
                dst.limit(dst.position() + max);
                try {
                    n = timedRead(dst);
                } finally {
                    dst.limit(oldLimit);
                }
                if (n < 0) {
                    if (bodyRemaining < 0) {
                        bodyRemaining = 0;
                        return -1;
                    }
                    reusable = false;
                    throw new EOFException("the server closed the connection with " + bodyRemaining + " bytes of the body still to come");
                }
            }
            if (bodyRemaining > 0) {
                bodyRemaining -= n;
            }
            bodyBytes += n;
            return n;
        }

        private int timedRead(ByteBuffer dst) throws IOException {
            readSince = System.nanoTime();
            try {
                return transport.read(dst);
            } catch (IOException e) {
                // The watchdog closes the connection to abort it. It can close between two reads, so
                // the failure is then a plain ClosedChannelException in the next read, not an
                // AsynchronousCloseException: either way the watchdog's reason is what happened (a
                // transfer below the floor must count against the retry budget as such).
                throw explain(e);
            } finally {
                readSince = 0;
            }
        }

        /** The watchdog's reason, if it aborted this connection; else the failure as it is. */
        IOException explain(IOException e) {
            String why = abortReason;
            if (why == null) {
                return e;
            }
            if (why.startsWith("deadline")) {
                return new InterruptedIOException(why.substring(9));
            }
            return why.contains("below the floor") ? new SlowTransferException(why) : new SocketTimeoutException(why);
        }

        void abort(String reason) {
            abortReason = reason;
            transport.close();
        }
    }

    /** The watchdog abandoned a body that arrived slower than the transfer floor. */
    static final class SlowTransferException extends SocketTimeoutException {
        SlowTransferException(String message) {
            super(message);
        }
    }

    /** Closes connections whose read waits too long, whose request outlived its deadline, or that trickle. */
    private void watch() {
        long readTimeout = options.readTimeout().toNanos();
        long window = options.slowWindow().toNanos();
        while (!closed) {
            try {
                Thread.sleep(WATCH_PERIOD_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            for (Connection c : active) {
                long since = c.readSince;
                if (c.deadline.passed()) {
                    c.abort("deadline " + c.deadline.what() + " passed while waiting for " + c.origin.host());
                } else if (since != 0 && now - since > readTimeout) {
                    c.abort("no byte from " + c.origin.host() + " for " + options.readTimeout().toSeconds() + " s (read timeout)");
                } else if (options.minBytesPerSecond() > 0 && c.inBody && now - c.windowStart >= window) {
                    long bytes = c.bodyBytes - c.windowBytes;
                    double rate = bytes * 1e9 / (now - c.windowStart);
                    c.windowStart = now;
                    c.windowBytes = c.bodyBytes;
                    if (since != 0 && rate < options.minBytesPerSecond()) {
                        c.abort(String.format("the transfer from %s ran at %.0f B/s for %d s, below the floor of %d B/s",
                                c.origin.host(), rate, options.slowWindow().toSeconds(), options.minBytesPerSecond()));
                    }
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        watchdog.interrupt();
        for (ArrayDeque<Connection> q : idle.values()) {
            synchronized (q) {
                q.forEach(c -> c.transport.close());
                q.clear();
            }
        }
        active.forEach(c -> c.abort("the client is closing"));
    }
}
