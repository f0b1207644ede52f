package io.weightfs.serve;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A raw socket client for what a real HTTP client hides: a body shorter than promised, a HEAD
 * response followed by the next one on the same connection, malformed requests. Reads are bounded
 * by a socket timeout.
 */
final class RawHttp implements AutoCloseable {
    private static final int READ_TIMEOUT_MILLIS = 20_000;

    /** One response as it came off the wire. */
    record Response(int status, Map<String, String> headers, byte[] body, boolean closedEarly) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        long contentLength() {
            String v = header("content-length");
            return v == null ? -1 : Long.parseLong(v);
        }
    }

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    RawHttp(int port) throws IOException {
        this("127.0.0.1", port);
    }

    RawHttp(String host, int port) throws IOException {
        socket = new Socket();
        socket.connect(new InetSocketAddress(host, port), READ_TIMEOUT_MILLIS);
        socket.setSoTimeout(READ_TIMEOUT_MILLIS);
        in = socket.getInputStream();
        out = socket.getOutputStream();
    }

    void send(String raw) throws IOException {
        out.write(raw.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    void send(byte[] raw) throws IOException {
        out.write(raw);
        out.flush();
    }

    /** Reads one response; the body is read to Content-Length unless {@code headOnly}, or to EOF if the server closes first. */
    Response read(boolean headOnly) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("connection closed inside a response head: " + head);
            }
            head.write(b);
            matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
        int status = Integer.parseInt(lines[0].split(" ")[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                headers.put(lines[i].substring(0, colon).toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).strip());
            }
        }
        String cl = headers.get("content-length");
        long length = headOnly || status == 304 || cl == null ? 0 : Long.parseLong(cl);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        byte[] buf = new byte[64 * 1024];
        boolean closedEarly = false;
        while (body.size() < length) {
            int n = in.read(buf, 0, (int) Math.min(buf.length, length - body.size()));
            if (n < 0) {
                closedEarly = true;
                break;
            }
            body.write(buf, 0, n);
        }
        return new Response(status, headers, body.toByteArray(), closedEarly);
    }

    /** Whether the server closed the connection (EOF within the timeout) with nothing more sent. */
    boolean closedByServer() throws IOException {
        try {
            return in.read() < 0;
        } catch (SocketTimeoutException e) {
            return false;
        }
    }

    /** Sends one request and reads its response on a fresh connection. */
    static Response exchange(int port, String raw) throws IOException {
        return exchange("127.0.0.1", port, raw);
    }

    static Response exchange(String host, int port, String raw) throws IOException {
        try (RawHttp c = new RawHttp(host, port)) {
            c.send(raw);
            return c.read(raw.startsWith("HEAD "));
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
