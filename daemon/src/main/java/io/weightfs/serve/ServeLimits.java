package io.weightfs.serve;

import java.time.Duration;
import java.util.Objects;

/**
 * How much a client may take of {@code weightfs serve}: time, connections and request sizes. Every
 * bound has a reason; the defaults are those of the servers people expose (nginx, Jetty) and leave
 * far more room than any Hub client needs. Immutable; the {@code with...} methods return copies.
 *
 * @param idleTimeout a kept-alive connection with no request in progress is closed after this long
 *     (nginx's keepalive_timeout is 75 s, Jetty's idle timeout 30 s)
 * @param requestTimeout a request's head and body must arrive within this long of its first byte: a
 *     client trickling a header a byte at a time ("slowloris") holds nothing longer
 * @param stallTimeout a response that makes no progress for this long (a client that stopped
 *     reading) is abandoned and its connection closed (nginx's send_timeout is 60 s)
 * @param maxConnections connections open at once, both ports together; one more is answered 503
 *     with {@code Retry-After} and closed. Each holds a file descriptor, a virtual thread and a
 *     64 KiB head buffer: 512 of them are 32 MiB
 * @param maxRequestLineBytes the request line (method, target, version); longer is 414
 * @param maxHeadBytes the request line and headers together; more is 431
 * @param maxHeaderLines header lines of one request; more is 431 (Tomcat's maxHeaderCount is 100)
 * @param maxBodyBytes a request body (paths-info lists paths); more is 413
 */
public record ServeLimits(
        Duration idleTimeout,
        Duration requestTimeout,
        Duration stallTimeout,
        int maxConnections,
        int maxRequestLineBytes,
        int maxHeadBytes,
        int maxHeaderLines,
        int maxBodyBytes) {

    /** What {@code weightfs serve} uses unless told otherwise. */
    public static final ServeLimits DEFAULTS = new ServeLimits(Duration.ofSeconds(60), Duration.ofSeconds(30),
            Duration.ofSeconds(60), 512, 16 * 1024, 64 * 1024, 100, 16 * 1024 * 1024);

    public ServeLimits {
        positive("idleTimeout", idleTimeout);
        positive("requestTimeout", requestTimeout);
        positive("stallTimeout", stallTimeout);
        if (maxConnections < 1) {
            throw new IllegalArgumentException("maxConnections must be at least 1, got " + maxConnections);
        }
        if (maxRequestLineBytes < 64 || maxHeadBytes < maxRequestLineBytes) {
            throw new IllegalArgumentException("want 64 <= maxRequestLineBytes <= maxHeadBytes, got " + maxRequestLineBytes
                    + " and " + maxHeadBytes);
        }
        if (maxHeaderLines < 1 || maxBodyBytes < 0) {
            throw new IllegalArgumentException("maxHeaderLines must be positive and maxBodyBytes not negative");
        }
    }

    public ServeLimits withIdleTimeout(Duration d) {
        return new ServeLimits(d, requestTimeout, stallTimeout, maxConnections, maxRequestLineBytes, maxHeadBytes,
                maxHeaderLines, maxBodyBytes);
    }

    public ServeLimits withRequestTimeout(Duration d) {
        return new ServeLimits(idleTimeout, d, stallTimeout, maxConnections, maxRequestLineBytes, maxHeadBytes,
                maxHeaderLines, maxBodyBytes);
    }

    public ServeLimits withStallTimeout(Duration d) {
        return new ServeLimits(idleTimeout, requestTimeout, d, maxConnections, maxRequestLineBytes, maxHeadBytes,
                maxHeaderLines, maxBodyBytes);
    }

    public ServeLimits withMaxConnections(int n) {
        return new ServeLimits(idleTimeout, requestTimeout, stallTimeout, n, maxRequestLineBytes, maxHeadBytes,
                maxHeaderLines, maxBodyBytes);
    }

    public ServeLimits withMaxBodyBytes(int n) {
        return new ServeLimits(idleTimeout, requestTimeout, stallTimeout, maxConnections, maxRequestLineBytes, maxHeadBytes,
                maxHeaderLines, n);
    }

    /** The shortest of the three timeouts: the watchdog looks a few times within it. */
    Duration shortestTimeout() {
        Duration d = idleTimeout.compareTo(requestTimeout) < 0 ? idleTimeout : requestTimeout;
        return d.compareTo(stallTimeout) < 0 ? d : stallTimeout;
    }

    private static void positive(String name, Duration d) {
        Objects.requireNonNull(d, name);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be positive, got " + d);
        }
    }
}
