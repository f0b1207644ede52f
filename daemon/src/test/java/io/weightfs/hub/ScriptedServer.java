package io.weightfs.hub;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ServerSocketFactory;

/**
 * An HTTP/1.1 server on loopback whose answers a test scripts byte for byte: whatever a hostile or
 * broken server could send (a wrong range, gzip, a cut body, a trickle). It records every request
 * head and counts connections, so tests assert on what the client sent and whether it reused a
 * connection. One thread per connection, daemon threads, closed with the server.
 */
final class ScriptedServer implements AutoCloseable {
    /** One request as the server read it. */
    record Request(String method, String target, Map<String, String> headers, int connection) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        /** The start of a {@code Range: bytes=S-E} header, or -1. */
        long rangeStart() {
            String r = header("range");
            return r == null ? -1 : Long.parseLong(r.substring(6, r.indexOf('-')));
        }

        long rangeEnd() {
            String r = header("range");
            return Long.parseLong(r.substring(r.indexOf('-') + 1));
        }
    }

    /** Answers one request; returns false to close the connection afterwards. */
    @FunctionalInterface
    interface Handler {
        boolean answer(Request request, OutputStream out) throws IOException;
    }

    private final ServerSocket socket;
    private final Handler handler;
    private final List<Request> requests = Collections.synchronizedList(new ArrayList<>());
    private final AtomicInteger connections = new AtomicInteger();
    private final List<Socket> open = Collections.synchronizedList(new ArrayList<>());
    private volatile boolean closed;

    ScriptedServer(Handler handler) throws IOException {
        this(ServerSocketFactory.getDefault(), handler);
    }

    ScriptedServer(ServerSocketFactory factory, Handler handler) throws IOException {
        this.handler = handler;
        this.socket = factory.createServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofPlatform().daemon(true).name("scripted-accept").start(this::accept);
    }

    int port() {
        return socket.getLocalPort();
    }

    String endpoint() {
        return "http://127.0.0.1:" + port();
    }

    List<Request> requests() {
        return List.copyOf(requests);
    }

    /** Requests other than the HEADs of download-URL resolution. */
    List<Request> gets() {
        return requests().stream().filter(r -> r.method().equals("GET")).toList();
    }

    int connections() {
        return connections.get();
    }

    private void accept() {
        while (!closed) {
            try {
                Socket s = socket.accept();
                open.add(s);
                int id = connections.incrementAndGet();
                Thread.ofPlatform().daemon(true).name("scripted-conn-" + id).start(() -> serve(s, id));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s, int id) {
        try (s) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            while (!closed) {
                String head = readHead(in);
                if (head == null) {
                    return;
                }
                String[] lines = head.split("\r\n");
                String[] first = lines[0].split(" ");
                Map<String, String> headers = new LinkedHashMap<>();
                for (int i = 1; i < lines.length; i++) {
                    int c = lines[i].indexOf(':');
                    headers.put(lines[i].substring(0, c).strip().toLowerCase(Locale.ROOT), lines[i].substring(c + 1).strip());
                }
                Request r = new Request(first[0], first[1], headers, id);
                requests.add(r);
                boolean keep = handler.answer(r, out);
                out.flush();
                if (!keep) {
                    return;
                }
            }
        } catch (IOException e) {
            // the client went away, or the script cut the connection
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int prev3 = -1, prev2 = -1, prev1 = -1;
        while (true) {
            int c = in.read();
            if (c < 0) {
                return null;
            }
            b.write(c);
            if (prev3 == '\r' && prev2 == '\n' && prev1 == '\r' && c == '\n') {
                String s = b.toString(StandardCharsets.ISO_8859_1);
                return s.substring(0, s.length() - 4);
            }
            prev3 = prev2;
            prev2 = prev1;
            prev1 = c;
        }
    }

    /** Writes a head; {@code headers} as "Name: value" strings. */
    static void head(OutputStream out, String status, String... headers) throws IOException {
        StringBuilder b = new StringBuilder("HTTP/1.1 ").append(status).append("\r\n");
        for (String h : headers) {
            b.append(h).append("\r\n");
        }
        out.write(b.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
    }

    @Override
    public void close() throws IOException {
        closed = true;
        socket.close();
        synchronized (open) {
            for (Socket s : open) {
                s.close();
            }
        }
    }
}
