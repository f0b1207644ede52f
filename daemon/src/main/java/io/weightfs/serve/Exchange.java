package io.weightfs.serve;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * One request and the means to answer it, exactly once. File bodies go out with
 * {@link FileChannel#transferTo} (sendfile: the bytes never enter the JVM).
 *
 * <p>Confined to its connection's virtual thread.
 */
final class Exchange {
    /**
     * Copy size for the fallback of {@link #transfer}. A virtual thread's socket is non-blocking
     * underneath, so sendfile returns 0 when the socket buffer is full; a plain write of one copy
     * buffer parks the thread until the socket drains, instead of spinning.
     */
    private static final int COPY_BUFFER_BYTES = 64 * 1024;

    private static final Map<Integer, String> REASONS = Map.ofEntries(
            Map.entry(100, "Continue"), Map.entry(200, "OK"), Map.entry(206, "Partial Content"),
            Map.entry(302, "Found"), Map.entry(304, "Not Modified"), Map.entry(307, "Temporary Redirect"),
            Map.entry(400, "Bad Request"), Map.entry(401, "Unauthorized"), Map.entry(403, "Forbidden"),
            Map.entry(404, "Not Found"), Map.entry(405, "Method Not Allowed"), Map.entry(408, "Request Timeout"),
            Map.entry(411, "Length Required"), Map.entry(413, "Content Too Large"), Map.entry(414, "URI Too Long"),
            Map.entry(416, "Range Not Satisfiable"), Map.entry(429, "Too Many Requests"),
            Map.entry(431, "Request Header Fields Too Large"), Map.entry(500, "Internal Server Error"),
            Map.entry(501, "Not Implemented"), Map.entry(502, "Bad Gateway"), Map.entry(503, "Service Unavailable"),
            Map.entry(504, "Gateway Timeout"), Map.entry(505, "HTTP Version Not Supported"));

    private final SocketChannel channel;
    private final HttpRequest request;
    private final String fallbackHost;
    private final CopyBuffer copyBuffer;
    /** The connection's watchdog record: every write that makes progress restarts its stall clock. */
    private final ConnectionGuard.Tracked tracked;
    private boolean keepAlive;
    private boolean responded;
    private boolean broken;

    /** A connection's reusable copy buffer, allocated on first need. */
    static final class CopyBuffer {
        private ByteBuffer buffer;

        ByteBuffer get() {
            if (buffer == null) {
                buffer = ByteBuffer.allocateDirect(COPY_BUFFER_BYTES);
            }
            return buffer.clear();
        }
    }

    Exchange(SocketChannel channel, HttpRequest request, boolean keepAlive, String fallbackHost, CopyBuffer copyBuffer,
            ConnectionGuard.Tracked tracked) {
        this.tracked = tracked;
        this.channel = channel;
        this.request = request;
        this.keepAlive = keepAlive;
        this.fallbackHost = fallbackHost;
        this.copyBuffer = copyBuffer;
    }

    HttpRequest request() {
        return request;
    }

    /** The {@code Host} header, or the listener's own address when the client sent none. */
    String host() {
        String h = request.header("host");
        return h == null || h.isBlank() ? fallbackHost : h.strip();
    }

    /** The host part of {@link #host()}, without the port; IPv6 literals keep their brackets. */
    String hostName() {
        String h = host();
        if (h.startsWith("[")) {
            int close = h.indexOf(']');
            return close < 0 ? h : h.substring(0, close + 1);
        }
        int colon = h.lastIndexOf(':');
        return colon < 0 ? h : h.substring(0, colon);
    }

    /** The local address the request arrived at: an address of this server the client can reach. */
    InetAddress localAddress() throws IOException {
        return ((InetSocketAddress) channel.getLocalAddress()).getAddress();
    }

    boolean responded() {
        return responded;
    }

    /** Whether the connection may carry another request after this one. */
    boolean keepAlive() {
        return keepAlive && !broken;
    }

    /** Asks for the connection to close after this response. */
    void closeAfterResponse() {
        keepAlive = false;
    }

    /** Answers with a complete in-memory body (left out for HEAD, its length still announced). */
    void respond(int status, ResponseHeaders headers, byte[] body) throws IOException {
        headers.set("Content-Length", body.length);
        ByteBuffer head = head(status, headers);
        if (request.isHead() || body.length == 0) {
            writeFully(head);
        } else {
            writeFully(head, ByteBuffer.wrap(body));
        }
    }

    /** Answers with headers only; the caller sets {@code Content-Length} if the status has one. */
    void respondWithoutBody(int status, ResponseHeaders headers) throws IOException {
        writeFully(head(status, headers));
    }

    /**
     * Answers with {@code length} bytes of {@code file} from {@code offset} (headers only for HEAD).
     * A body cut short by {@link BodyShaping#cutAfter()} closes the connection, so the client sees
     * fewer bytes than {@code Content-Length} promised.
     */
    void respondFile(int status, ResponseHeaders headers, FileChannel file, long offset, long length, BodyShaping shaping)
            throws IOException {
        headers.set("Content-Length", length);
        boolean cut = shaping.cutAfter() >= 0 && shaping.cutAfter() < length;
        if (cut) {
            keepAlive = false;
        }
        writeFully(head(status, headers));
        if (request.isHead()) {
            return;
        }
        long end = cut ? shaping.cutAfter() : length;
        long sent = 0;
        if (shaping.corrupt() && end > 0) {
            ByteBuffer one = ByteBuffer.allocate(1);
            if (file.read(one, offset) != 1) {
                throw new IOException("file shrank while being served");
            }
            one.put(0, (byte) (one.get(0) ^ 0xff)).flip();
            pace(shaping.throttle(), 1);
            writeFully(one);
            shaping.sent().accept(1);
            sent = 1;
        }
        TokenBucket throttle = shaping.throttle();
        while (sent < end) {
            long chunk = end - sent;
            if (throttle != null) {
                chunk = Math.min(chunk, throttle.chunkSize());
                pace(throttle, chunk);
            }
            long chunkEnd = sent + chunk;
            while (sent < chunkEnd) {
                long n = transfer(file, offset + sent, chunkEnd - sent);
                tracked.progress();
                sent += n;
                shaping.sent().accept(n);
            }
        }
        if (cut) {
            broken = true;
            channel.close();
        }
    }

    /**
     * Sends up to {@code count} bytes of {@code file} at {@code position}; returns how many went.
     */
    private long transfer(FileChannel file, long position, long count) throws IOException {
        long n = file.transferTo(position, count, channel);
        if (n > 0) {
            return n;
        }
        if (position >= file.size()) {
            throw new IOException("file shrank to " + file.size() + " bytes while being served");
        }
        // Socket buffer full (see COPY_BUFFER_BYTES): copy one buffer and let the write park us.
        ByteBuffer buf = copyBuffer.get();
        buf.limit((int) Math.min(buf.capacity(), count));
        int read = file.read(buf, position);
        if (read <= 0) {
            throw new IOException("file shrank while being served");
        }
        buf.flip();
        writeFully(buf);
        return read;
    }

    private void pace(TokenBucket throttle, long bytes) throws IOException {
        if (throttle == null) {
            return;
        }
        try {
            throttle.acquire(bytes);
            tracked.progress(); // a throttled body waiting its turn is not a stalled client
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while throttled", e);
        }
    }

    private ByteBuffer head(int status, ResponseHeaders headers) {
        if (responded) {
            throw new IllegalStateException("a second response to " + request.method() + " " + request.target());
        }
        responded = true;
        StringBuilder head = new StringBuilder(256);
        head.append("HTTP/1.1 ").append(status).append(' ').append(REASONS.getOrDefault(status, "Status")).append("\r\n");
        headers.appendTo(head);
        if (!keepAlive) {
            head.append("Connection: close\r\n");
        } else if (request.version().equals("HTTP/1.0")) {
            head.append("Connection: keep-alive\r\n");
        }
        head.append("\r\n");
        return ByteBuffer.wrap(head.toString().getBytes(StandardCharsets.ISO_8859_1));
    }

    private void writeFully(ByteBuffer... buffers) throws IOException {
        ByteBuffer last = buffers[buffers.length - 1];
        while (last.hasRemaining()) {
            if (channel.write(buffers) > 0) {
                tracked.progress();
            }
        }
    }

    /** Writes an interim {@code 100 Continue}; not a response. */
    static void writeContinue(SocketChannel channel) throws IOException {
        ByteBuffer b = ByteBuffer.wrap("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }
}
