package io.weightfs.serve;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One listening socket: a platform thread accepts, and each connection runs as an
 * {@link HttpConnection} on the shared executor (one virtual thread per connection), once the
 * {@link ConnectionGuard} admits it; beyond its cap a connection is answered 503 and closed.
 *
 * <p>Threads: the acceptor thread is owned here and ends when {@link #close()} closes the server
 * socket. Connection threads belong to the executor (owned by {@link HubServer}); {@link #close()}
 * closes their channels so each ends at its next read or write.
 */
final class HttpListener implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HttpListener.class);
    /** Pending connections the kernel queues: benchmarks open many at once. */
    private static final int BACKLOG = 1024;
    /** Pause after an unexpected accept failure (out of file descriptors, say) so it cannot spin. */
    private static final long ACCEPT_RETRY_MILLIS = 50;

    private final String name;
    private final ServerSocketChannel server;
    private final HttpConnection.Handler handler;
    private final ExecutorService connections;
    private final ConnectionGuard guard;
    private final String fallbackHost;
    private final Set<SocketChannel> open = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;
    private volatile boolean closed;

    private HttpListener(String name, ServerSocketChannel server, HttpConnection.Handler handler,
            ExecutorService connections, ConnectionGuard guard, String fallbackHost) {
        this.guard = guard;
        this.name = name;
        this.server = server;
        this.handler = handler;
        this.connections = connections;
        this.fallbackHost = fallbackHost;
        this.acceptor = Thread.ofPlatform().daemon().name("weightfs-serve-" + name + "-accept").unstarted(this::acceptLoop);
    }

    /** Binds {@code bind:port} (0 picks a free port) and starts accepting. */
    static HttpListener open(String name, String bind, int port, HttpConnection.Handler handler,
            ExecutorService connections, ConnectionGuard guard) throws IOException {
        InetAddress address = InetAddress.getByName(bind);
        ServerSocketChannel server = ServerSocketChannel.open();
        try {
            server.bind(new InetSocketAddress(address, port), BACKLOG);
        } catch (IOException e) {
            server.close();
            throw new IOException("cannot listen on " + bind + ":" + port + " for the " + name + " port: " + e.getMessage(), e);
        }
        int bound = ((InetSocketAddress) server.getLocalAddress()).getPort();
        String host = address.isAnyLocalAddress() ? "127.0.0.1" : hostLiteral(address, bind);
        HttpListener listener = new HttpListener(name, server, handler, connections, guard, host + ":" + bound);
        listener.acceptor.start();
        return listener;
    }

    /** A host for URLs: IPv6 literals in brackets, names as given. */
    static String hostLiteral(InetAddress address, String asGiven) {
        if (asGiven.contains(":")) {
            return asGiven.startsWith("[") ? asGiven : "[" + asGiven + "]";
        }
        return asGiven.isEmpty() ? address.getHostAddress() : asGiven;
    }

    int port() {
        return ((InetSocketAddress) server.socket().getLocalSocketAddress()).getPort();
    }

    private void acceptLoop() {
        while (!closed) {
            SocketChannel channel;
            try {
                channel = server.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (closed) {
                    return;
                }
                LOG.warn("Accepting on the {} port failed ({}); retrying in {} ms", name, e.getMessage(), ACCEPT_RETRY_MILLIS);
                try {
                    TimeUnit.MILLISECONDS.sleep(ACCEPT_RETRY_MILLIS);
                } catch (InterruptedException ie) {
                    return;
                }
                continue;
            }
            ConnectionGuard.Tracked tracked = guard.admit(channel);
            if (tracked == null && refusing.get() >= MAX_REFUSING) {
                closeQuietly(channel); // a flood: no answer for those beyond what is already being refused
                continue;
            }
            open.add(channel);
            try {
                if (tracked == null) {
                    refusing.incrementAndGet();
                    connections.execute(() -> refuse(channel));
                } else {
                    connections.execute(new HttpConnection(channel, handler, fallbackHost, tracked, guard.limits(), () -> {
                        open.remove(channel);
                        tracked.release();
                    }));
                }
            } catch (RejectedExecutionException e) {
                open.remove(channel);
                if (tracked != null) {
                    tracked.release();
                }
                closeQuietly(channel);
                return;
            }
        }
    }

    /**
     * Answers a connection beyond the cap: a 503 that says why, {@code Retry-After: 1} (the Hub's
     * clients retry a 503), then a close. The answer fits in the socket's send buffer, so the write
     * does not wait on the client; what the client sends is read for at most {@link #REFUSAL_LINGER_MILLIS}
     * so that closing with its request unread does not reset the answer away.
     */
    private void refuse(SocketChannel channel) {
        try (channel) {
            byte[] body = ("{\"error\":\"this server has " + guard.limits().maxConnections() + " connections open, the most it"
                    + " takes (weightfs serve --max-connections); try again shortly\"}").getBytes(StandardCharsets.UTF_8);
            String head = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nX-Error-Code: ServiceUnavailable\r\n"
                    + "X-Error-Message: too many connections\r\nRetry-After: 1\r\nContent-Length: " + body.length
                    + "\r\nConnection: close\r\n\r\n";
            ByteBuffer out = ByteBuffer.allocate(head.length() + body.length);
            out.put(head.getBytes(StandardCharsets.ISO_8859_1)).put(body).flip();
            while (out.hasRemaining()) {
                channel.write(out);
            }
            channel.shutdownOutput();
            channel.socket().setSoTimeout((int) REFUSAL_LINGER_MILLIS);
            channel.socket().getInputStream().read(new byte[4096]);
        } catch (IOException e) {
            LOG.trace("refusing a connection: {}", e.toString());
        } finally {
            open.remove(channel);
            refusing.decrementAndGet();
        }
    }

    /** Refusals answered at once, at most: each holds a socket for up to {@link #REFUSAL_LINGER_MILLIS}. */
    private static final int MAX_REFUSING = 64;
    private final java.util.concurrent.atomic.AtomicInteger refusing = new java.util.concurrent.atomic.AtomicInteger();

    /** How long a refused client's request is read before the connection closes anyway. */
    private static final long REFUSAL_LINGER_MILLIS = 1000;

    @Override
    public void close() {
        closed = true;
        closeQuietly(server);
        for (SocketChannel c : open) {
            closeQuietly(c);
        }
        try {
            acceptor.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            LOG.trace("Close failed", e);
        }
    }
}
