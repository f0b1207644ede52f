package io.weightfs.serve;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One listening socket: a platform thread accepts, and each connection runs as an
 * {@link HttpConnection} on the shared executor (one virtual thread per connection).
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
    private final String fallbackHost;
    private final Set<SocketChannel> open = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;
    private volatile boolean closed;

    private HttpListener(String name, ServerSocketChannel server, HttpConnection.Handler handler,
            ExecutorService connections, String fallbackHost) {
        this.name = name;
        this.server = server;
        this.handler = handler;
        this.connections = connections;
        this.fallbackHost = fallbackHost;
        this.acceptor = Thread.ofPlatform().daemon().name("weightfs-serve-" + name + "-accept").unstarted(this::acceptLoop);
    }

    /** Binds {@code bind:port} (0 picks a free port) and starts accepting. */
    static HttpListener open(String name, String bind, int port, HttpConnection.Handler handler,
            ExecutorService connections) throws IOException {
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
        HttpListener listener = new HttpListener(name, server, handler, connections, host + ":" + bound);
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
            open.add(channel);
            try {
                connections.execute(new HttpConnection(channel, handler, fallbackHost, () -> open.remove(channel)));
            } catch (RejectedExecutionException e) {
                open.remove(channel);
                closeQuietly(channel);
                return;
            }
        }
    }

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
