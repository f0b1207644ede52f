package io.weightfs.serve;

import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection: reads requests one after the other (keep-alive), hands each to the
 * {@link Handler}, and stops at EOF, at {@code Connection: close}, or at a request it cannot parse
 * or take (answered 400, 413, 414, 431, 501 or 505, then closed). Its sizes are bounded by
 * {@link ServeLimits}; its time by {@link ConnectionGuard}, told of each phase here.
 *
 * <p>Runs on its own virtual thread and owns the channel; {@link HttpListener} and the guard's
 * watchdog may close the channel from outside to stop it.
 */
final class HttpConnection implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(HttpConnection.class);

    /** Most a refused client may still send before the connection is simply closed. */
    private static final long MAX_LINGER_BYTES = 1 << 20;

    /** Answers one request. */
    interface Handler {
        void handle(Exchange exchange) throws IOException;
    }

    /** A request the connection cannot take, with the status that says why. */
    private static final class Unparseable extends Exception {
        private final int status;
        private final String code;

        Unparseable(int status, String code, String message) {
            super(message, null, false, false);
            this.status = status;
            this.code = code;
        }
    }

    private final SocketChannel channel;
    private final Handler handler;
    private final String fallbackHost;
    private final Runnable onClose;
    private final Exchange.CopyBuffer copyBuffer = new Exchange.CopyBuffer();
    private final ConnectionGuard.Tracked tracked;
    private final ServeLimits limits;
    /** Request line plus headers: the Hub's own clients send well under 2 KiB. */
    private final byte[] buf;
    /** Unconsumed bytes are buf[start, end). */
    private int start;
    private int end;

    HttpConnection(SocketChannel channel, Handler handler, String fallbackHost, ConnectionGuard.Tracked tracked,
            ServeLimits limits, Runnable onClose) {
        this.tracked = tracked;
        this.limits = limits;
        this.buf = new byte[limits.maxHeadBytes()];
        this.channel = channel;
        this.handler = handler;
        this.fallbackHost = fallbackHost;
        this.onClose = onClose;
    }

    @Override
    public void run() {
        try {
            // Heads and small bodies go out as separate writes; Nagle would hold each for an ACK.
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            while (true) {
                tracked.enter(ConnectionGuard.Phase.IDLE);
                HttpRequest request;
                try {
                    request = readRequest();
                } catch (Unparseable e) {
                    LOG.debug("Refusing a request from {}: {}", remote(), e.getMessage());
                    HttpRequest dummy = new HttpRequest("GET", "/", null, "HTTP/1.1", Map.of(), new byte[0]);
                    Exchange ex = new Exchange(channel, dummy, false, fallbackHost, copyBuffer, tracked);
                    tracked.enter(ConnectionGuard.Phase.ANSWERING);
                    new HubError(e.status, e.code, e.getMessage()).sendTo(ex);
                    lingeringClose();
                    return;
                }
                if (request == null) {
                    return;
                }
                tracked.enter(ConnectionGuard.Phase.ANSWERING);
                Exchange exchange = new Exchange(channel, request, wantsKeepAlive(request), fallbackHost, copyBuffer, tracked);
                try {
                    handler.handle(exchange);
                } catch (RuntimeException e) {
                    LOG.warn("Failed to answer {} {}; the client gets a 500", request.method(), request.target(), e);
                    if (exchange.responded()) {
                        return;
                    }
                    exchange.closeAfterResponse();
                    new HubError(500, "InternalError", "internal error: " + e).sendTo(exchange);
                }
                if (!exchange.responded()) {
                    exchange.closeAfterResponse();
                    new HubError(500, "InternalError", "no response for " + request.target()).sendTo(exchange);
                }
                if (!exchange.keepAlive()) {
                    return;
                }
            }
        } catch (ClosedChannelException e) {
            LOG.trace("Connection from {} closed", remote());
        } catch (IOException e) {
            // Clients hang up mid-body all the time (a probe, a cancelled download): not an error.
            LOG.debug("Connection from {} ended: {}", remote(), e.toString());
        } finally {
            try {
                channel.close();
            } catch (IOException e) {
                LOG.trace("Closing a connection failed", e);
            }
            onClose.run();
        }
    }

    /**
     * After refusing a request whose bytes may still be arriving: closing with unread input makes
     * the kernel send a reset, which can destroy the error response before the client reads it. So
     * half-close, then drain what the client still sends (bounded) until it closes its side.
     */
    private void lingeringClose() throws IOException {
        channel.shutdownOutput();
        // Bounded in time too: a client that never closes its side is closed by the watchdog.
        tracked.enter(ConnectionGuard.Phase.READING);
        ByteBuffer sink = ByteBuffer.wrap(buf);
        long drained = 0;
        while (drained < MAX_LINGER_BYTES) {
            sink.clear();
            int n = channel.read(sink);
            if (n < 0) {
                return;
            }
            drained += n;
        }
    }

    private String remote() {
        try {
            return String.valueOf(channel.getRemoteAddress());
        } catch (IOException e) {
            return "(closed)";
        }
    }

    /** The next request, or null at a clean end of stream between requests. */
    private HttpRequest readRequest() throws IOException, Unparseable {
        int bodyStart;
        while (true) {
            // Empty lines before a request line are allowed (RFC 9112 §2.2).
            while (start < end && (buf[start] == '\r' || buf[start] == '\n')) {
                start++;
            }
            if (start < end && tracked.phase() == ConnectionGuard.Phase.IDLE) {
                // The request's first byte: from now on it has the request timeout to arrive whole.
                tracked.enter(ConnectionGuard.Phase.READING);
            }
            bodyStart = findHeadEnd();
            if (bodyStart >= 0) {
                break;
            }
            checkRequestLineLength();
            if (end == buf.length) {
                if (start == 0) {
                    throw new Unparseable(431, "BadRequest", "request head larger than " + buf.length
                            + " bytes; at most " + buf.length);
                }
                System.arraycopy(buf, start, buf, 0, end - start);
                end -= start;
                start = 0;
            }
            int n = channel.read(ByteBuffer.wrap(buf, end, buf.length - end));
            if (n < 0) {
                return null; // EOF between requests, or a partial head nobody will finish
            }
            end += n;
        }
        String head = new String(buf, start, bodyStart - start, StandardCharsets.ISO_8859_1);
        start = bodyStart;

        String[] lines = head.split("\n");
        String requestLine = stripCr(lines[0]);
        if (requestLine.length() > limits.maxRequestLineBytes()) {
            throw requestLineTooLong();
        }
        if (lines.length - 1 > limits.maxHeaderLines()) {
            throw new Unparseable(431, "BadRequest", "more than " + limits.maxHeaderLines() + " header lines");
        }
        String[] parts = requestLine.split(" ", -1);
        if (parts.length != 3 || parts[0].isEmpty() || !isToken(parts[0])) {
            throw new Unparseable(400, "BadRequest", "malformed request line '" + abbreviate(requestLine) + "'");
        }
        String method = parts[0];
        String target = parts[1];
        String version = parts[2];
        if (!version.equals("HTTP/1.1") && !version.equals("HTTP/1.0")) {
            throw new Unparseable(version.startsWith("HTTP/") ? 505 : 400, "BadRequest",
                    "unsupported protocol version '" + abbreviate(version) + "'");
        }
        for (int i = 0; i < target.length(); i++) {
            char c = target.charAt(i);
            if (c <= 0x20 || c >= 0x7f) {
                throw new Unparseable(400, "BadRequest", "request target holds a character that must be percent-encoded");
            }
        }
        if (target.startsWith("http://") || target.startsWith("https://")) {
            // Absolute form (a client that thinks we are a proxy): keep only the path and query.
            int slash = target.indexOf('/', target.indexOf("//") + 2);
            target = slash < 0 ? "/" : target.substring(slash);
        }
        if (!target.startsWith("/")) {
            throw new Unparseable(400, "BadRequest", "request target must start with '/': '" + abbreviate(target) + "'");
        }
        int hash = target.indexOf('#');
        if (hash >= 0) {
            target = target.substring(0, hash);
        }
        int q = target.indexOf('?');
        String rawPath = q < 0 ? target : target.substring(0, q);
        String rawQuery = q < 0 ? null : target.substring(q + 1);

        Map<String, List<String>> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            String line = stripCr(lines[i]);
            if (line.isEmpty()) {
                continue;
            }
            if (line.charAt(0) == ' ' || line.charAt(0) == '\t') {
                throw new Unparseable(400, "BadRequest", "folded header lines are not allowed");
            }
            int colon = line.indexOf(':');
            if (colon <= 0 || !isToken(line.substring(0, colon))) {
                throw new Unparseable(400, "BadRequest", "malformed header line '" + abbreviate(line) + "'");
            }
            headers.computeIfAbsent(line.substring(0, colon).toLowerCase(Locale.ROOT), k -> new ArrayList<>())
                    .add(line.substring(colon + 1).strip());
        }

        byte[] body = readBody(headers);
        return new HttpRequest(method, rawPath, rawQuery, version, headers, body);
    }

    private byte[] readBody(Map<String, List<String>> headers) throws IOException, Unparseable {
        if (headers.containsKey("transfer-encoding")) {
            throw new Unparseable(501, "BadRequest", "chunked request bodies are not supported; send Content-Length");
        }
        List<String> lengths = headers.get("content-length");
        if (lengths == null) {
            return new byte[0];
        }
        long length;
        try {
            length = Long.parseLong(lengths.getFirst());
        } catch (NumberFormatException e) {
            throw new Unparseable(400, "BadRequest", "bad Content-Length '" + abbreviate(lengths.getFirst()) + "'");
        }
        for (String other : lengths) {
            if (!other.equals(lengths.getFirst())) {
                throw new Unparseable(400, "BadRequest", "conflicting Content-Length headers");
            }
        }
        if (length < 0) {
            throw new Unparseable(400, "BadRequest", "negative Content-Length");
        }
        if (length > limits.maxBodyBytes()) {
            throw new Unparseable(413, "BadRequest", "request body of " + length + " bytes; at most " + limits.maxBodyBytes());
        }
        byte[] body = new byte[(int) length];
        int got = Math.min(end - start, body.length);
        System.arraycopy(buf, start, body, 0, got);
        start += got;
        if (got < body.length) {
            List<String> expect = headers.get("expect");
            if (expect != null && expect.getFirst().equalsIgnoreCase("100-continue")) {
                Exchange.writeContinue(channel);
            }
            ByteBuffer rest = ByteBuffer.wrap(body, got, body.length - got);
            while (rest.hasRemaining()) {
                if (channel.read(rest) < 0) {
                    throw new IOException("end of stream inside a request body");
                }
            }
        }
        return body;
    }

    /** A request line still without its end, already longer than the limit, is refused before the rest arrives. */
    private void checkRequestLineLength() throws Unparseable {
        int limit = Math.min(end, start + limits.maxRequestLineBytes() + 2);
        for (int i = start; i < limit; i++) {
            if (buf[i] == '\n') {
                return;
            }
        }
        if (end - start > limits.maxRequestLineBytes() + 1) {
            throw requestLineTooLong();
        }
    }

    private Unparseable requestLineTooLong() {
        return new Unparseable(414, "BadRequest", "request line longer than " + limits.maxRequestLineBytes() + " bytes");
    }

    /** Index just past the blank line that ends the head, or -1 if it has not arrived yet. */
    private int findHeadEnd() {
        for (int i = start; i < end; i++) {
            if (buf[i] == '\n') {
                if (i + 1 < end && buf[i + 1] == '\n') {
                    return i + 2;
                }
                if (i + 2 < end && buf[i + 1] == '\r' && buf[i + 2] == '\n') {
                    return i + 3;
                }
            }
        }
        return -1;
    }

    private static boolean wantsKeepAlive(HttpRequest request) {
        List<String> connection = request.headers().getOrDefault("connection", List.of());
        boolean close = false;
        boolean keepAlive = false;
        for (String value : connection) {
            for (String token : value.split(",")) {
                String t = token.strip().toLowerCase(Locale.ROOT);
                close |= t.equals("close");
                keepAlive |= t.equals("keep-alive");
            }
        }
        return !close && (request.version().equals("HTTP/1.1") || keepAlive);
    }

    private static boolean isToken(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
            if (!ok) {
                return false;
            }
        }
        return !s.isEmpty();
    }

    private static String stripCr(String line) {
        return line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
    }

    private static String abbreviate(String s) {
        String printable = s.replaceAll("[^\\x20-\\x7e]", "?");
        return printable.length() <= 100 ? printable : printable.substring(0, 100) + "...";
    }
}
