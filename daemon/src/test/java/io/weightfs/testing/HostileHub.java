package io.weightfs.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * A Hub that lies: a raw HTTP/1.1 server on loopback whose every answer a test writes by hand, for
 * what {@code weightfs serve} would never send (a listing with {@code ..}, a {@code Link} back to the
 * same page, an error that echoes the caller's token). Each connection answers one request and
 * closes, so a test sees every request the client made, with its headers, in {@link #requests()}.
 *
 * <p>Threads: one platform acceptor thread, one virtual thread per connection; {@link #close()}
 * stops accepting. Reads are bounded by a socket timeout, so a client that stalls cannot hang a test.
 */
public final class HostileHub implements AutoCloseable {
    private static final int READ_TIMEOUT_MILLIS = 10_000;

    /** One request as it arrived: method, target (path and query, still encoded), headers by lower-case name. */
    public record Request(String method, String target, Map<String, String> headers) {
        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        /** The target's path, without the query. */
        public String path() {
            int q = target.indexOf('?');
            return q < 0 ? target : target.substring(0, q);
        }
    }

    private final ServerSocket socket;
    private final Function<Request, String> respond;
    private final List<Request> requests = Collections.synchronizedList(new ArrayList<>());
    private final Thread acceptor;

    private HostileHub(Function<Request, String> respond) throws IOException {
        this.socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.respond = respond;
        this.acceptor = Thread.ofPlatform().daemon(true).name("hostile-hub-accept").start(this::acceptLoop);
    }

    /**
     * Starts a server whose answer to each request is {@code respond}'s raw HTTP response (status
     * line, headers, blank line, body), e.g. from {@link #response}. An unmatched request should get
     * a 404 with {@code X-Error-Code}, as the Hub sends.
     */
    public static HostileHub start(Function<Request, String> respond) throws IOException {
        return new HostileHub(respond);
    }

    /** {@code http://127.0.0.1:PORT}. */
    public String endpoint() {
        return "http://127.0.0.1:" + socket.getLocalPort();
    }

    /** Every request so far, in arrival order. */
    public List<Request> requests() {
        synchronized (requests) {
            return List.copyOf(requests);
        }
    }

    /**
     * A raw response with {@code Content-Length}, {@code Connection: close} and the given extra header
     * lines ({@code "Name: value"}).
     */
    public static String response(int status, String body, String... headers) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        StringBuilder sb = new StringBuilder("HTTP/1.1 ").append(status).append(' ').append(status < 400 ? "OK" : "Error").append("\r\n");
        for (String h : headers) {
            sb.append(h).append("\r\n");
        }
        sb.append("Content-Length: ").append(bytes.length).append("\r\nConnection: close\r\n\r\n");
        // The body travels as UTF-8 bytes; the head is ASCII, so one ISO-8859-1 string carries both.
        return sb + new String(bytes, StandardCharsets.ISO_8859_1);
    }

    /** A JSON 200. */
    public static String json(String body, String... headers) {
        String[] all = new String[headers.length + 1];
        all[0] = "Content-Type: application/json";
        System.arraycopy(headers, 0, all, 1, headers.length);
        return response(200, body, all);
    }

    /** A Hub-style 404 for anything a test did not expect. */
    public static String notFound(Request r) {
        return response(404, "{\"error\":\"no such route in this test\"}", "X-Error-Code: EntryNotFound",
                "X-Error-Message: not served by this test: " + r.target());
    }

    /** One tree entry of a file, in the Hub's JSON (HUB-PROTOCOL.md §2). */
    public static String fileEntry(String path, long size, String oid) {
        return "{\"type\":\"file\",\"path\":\"" + path + "\",\"size\":" + size + ",\"oid\":\"" + oid + "\"}";
    }

    private void acceptLoop() {
        while (!socket.isClosed()) {
            Socket s;
            try {
                s = socket.accept();
            } catch (IOException e) {
                return;
            }
            Thread.ofVirtual().start(() -> serve(s));
        }
    }

    private void serve(Socket s) {
        try (s) {
            s.setSoTimeout(READ_TIMEOUT_MILLIS);
            InputStream in = s.getInputStream();
            String head = readHead(in);
            if (head == null) {
                return;
            }
            String[] lines = head.split("\r\n");
            String[] requestLine = lines[0].split(" ");
            Map<String, String> headers = new LinkedHashMap<>();
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                if (colon > 0) {
                    headers.put(lines[i].substring(0, colon).strip().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).strip());
                }
            }
            String length = headers.get("content-length");
            if (length != null) {
                in.readNBytes(Integer.parseInt(length));
            }
            Request r = new Request(requestLine[0], requestLine.length > 1 ? requestLine[1] : "/", Map.copyOf(headers));
            requests.add(r);
            String answer = respond.apply(r);
            OutputStream out = s.getOutputStream();
            if (r.method().equals("HEAD")) {
                // A HEAD answer has the GET's headers and no body.
                int end = answer.indexOf("\r\n\r\n");
                answer = end < 0 ? answer : answer.substring(0, end + 4);
            }
            out.write(answer.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        } catch (SocketTimeoutException e) {
            // a client that went quiet: drop it
        } catch (IOException e) {
            // the client hung up
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b < 0) {
                return null;
            }
            head.write(b);
            matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        return head.toString(StandardCharsets.ISO_8859_1).strip();
    }

    @Override
    public void close() throws IOException {
        socket.close();
        try {
            acceptor.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
