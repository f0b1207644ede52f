package io.weightfs.serve;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.URI;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A local Hugging Face Hub: serves {@code DIR/<org>/<name>/...} over the Hub's HTTP protocol on two
 * ports, the Hub port ({@link #endpoint()}, what {@code HF_ENDPOINT} points at) and a "CDN" port
 * that LFS downloads are redirected to ({@link #cdnEndpoint()}), so clients see the same
 * cross-host redirect as with the real Hub and must drop {@code Authorization} when following it.
 *
 * <pre>{@code
 * try (HubServer hub = HubServer.start(ServeOptions.of(dir))) {
 *     URI endpoint = hub.endpoint();   // http://127.0.0.1:<port>
 * }
 * }</pre>
 *
 * <p>LFS redirects name the CDN by another host name than the one the client used for the Hub
 * ({@code localhost} for a client that came to {@code 127.0.0.1}, the server's IP for one that came
 * by name), because huggingface_hub follows redirects to the same host name whatever the port; see
 * {@link ServeOptions#cdnHost()}.
 *
 * <p>Threads: {@link #start} scans and hashes on a bounded pool of platform threads (at most
 * {@link #MAX_HASH_THREADS}), kept for {@link #rescan()}. Each port has one acceptor thread; every
 * connection gets its own virtual thread, within the bounds of {@link ServeLimits} (a watchdog thread
 * closes connections that overstay). {@link #close()} stops all of them.
 */
public final class HubServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HubServer.class);
    /** Hashing is CPU-bound (sha256 at ~2 GB/s a core with SHA-NI); more threads than cores only add contention. */
    private static final int MAX_HASH_THREADS = 8;

    private final ServeState state;
    private final ExecutorService hashPool;
    private final ExecutorService connections;
    private final ConnectionGuard guard;
    private final HttpListener cdn;
    /** The CDN port on the other loopback family, or null (see {@link #loopbackTwin}). */
    private final HttpListener cdnTwin;
    private final HttpListener hub;
    private final String host;
    /**
     * Serializes rescans, so that two of them cannot install their catalogs out of order. Only
     * {@link #rescan()} takes it (and scans under it, which is its purpose); request threads never do.
     */
    private final Object rescanLock = new Object();

    private HubServer(ServeState state, ExecutorService hashPool, ExecutorService connections, ConnectionGuard guard,
            HttpListener cdn, HttpListener cdnTwin, HttpListener hub, String host) {
        this.guard = guard;
        this.state = state;
        this.hashPool = hashPool;
        this.connections = connections;
        this.cdn = cdn;
        this.cdnTwin = cdnTwin;
        this.hub = hub;
        this.host = host;
    }

    /**
     * Scans and hashes the directory, then binds both ports and starts serving.
     *
     * @throws IOException if the directory cannot be read or hashed, a sidecar is malformed, or a
     *     port cannot be bound; the message names which
     */
    public static HubServer start(ServeOptions options) throws IOException {
        return start(options, Clock.systemUTC());
    }

    static HubServer start(ServeOptions options, Clock clock) throws IOException {
        ServeState state = new ServeState(options, clock);
        int threads = Math.clamp(Runtime.getRuntime().availableProcessors(), 1, MAX_HASH_THREADS);
        ExecutorService hashPool = Executors.newFixedThreadPool(threads, daemonThreads("weightfs-serve-hash-"));
        ExecutorService connections = Executors.newThreadPerTaskExecutor(
                Thread.ofVirtual().name("weightfs-serve-conn-", 0).factory());
        ConnectionGuard guard = new ConnectionGuard(options.limits());
        HttpListener cdn = null;
        HttpListener cdnTwin = null;
        try {
            state.catalog(RepoCatalog.scan(options.repos(), options, hashPool, RepoCatalog.empty()));
            CdnRoutes cdnRoutes = new CdnRoutes(state);
            cdn = HttpListener.open("cdn", options.bind(), options.cdnPort(), cdnRoutes, connections, guard);
            state.cdnPort(cdn.port());
            InetAddress address = InetAddress.getByName(options.bind());
            if (options.cdnHost() == null) {
                cdnTwin = loopbackTwin(address, cdn.port(), cdnRoutes, connections, guard);
            }
            HttpListener hub = HttpListener.open("hub", options.bind(), options.port(), new HubRoutes(state), connections, guard);
            String host = HttpListener.hostLiteral(address, options.bind());
            HubServer server = new HubServer(state, hashPool, connections, guard, cdn, cdnTwin, hub, host);
            LOG.info("Serving {} repos from {} at {} (CDN {})", state.catalog().repos().size(), options.repos(),
                    server.endpoint(), server.cdnEndpoint());
            return server;
        } catch (IOException | RuntimeException e) {
            if (cdn != null) {
                cdn.close();
            }
            if (cdnTwin != null) {
                cdnTwin.close();
            }
            connections.shutdownNow();
            hashPool.shutdownNow();
            guard.close();
            throw e;
        }
    }

    /** The Hub endpoint, e.g. {@code http://127.0.0.1:41234}: what {@code HF_ENDPOINT} should be. */
    public URI endpoint() {
        return URI.create("http://" + host + ":" + hub.port());
    }

    /** The CDN endpoint that LFS downloads are redirected to. */
    public URI cdnEndpoint() {
        return URI.create("http://" + host + ":" + cdn.port());
    }

    public int port() {
        return hub.port();
    }

    public int cdnPort() {
        return cdn.port();
    }

    /** The options the server was started with. */
    public ServeOptions options() {
        return state.options;
    }

    /** The current commit of a served repo ({@code org/name}), or null if there is no such repo. */
    public String commit(String repoId) {
        ServedRepo repo = state.catalog().repo(repoId);
        return repo == null ? null : repo.commit();
    }

    /** The served repo ids, sorted. */
    public List<String> repos() {
        return state.catalog().repos().keySet().stream().sorted().toList();
    }

    /** The connection bounds in force, with their counters (for tests in this package). */
    ConnectionGuard guard() {
        return guard;
    }

    /** Requests, bytes and downloads since start or the last {@link #resetStats()}. */
    public ServeStats stats() {
        return state.stats.snapshot();
    }

    public void resetStats() {
        state.stats.reset();
    }

    /**
     * Scans the directory again, hashing only new and changed files, and serves the result from the
     * next request on. A failed rescan leaves the previous catalog in place.
     */
    public void rescan() throws IOException {
        synchronized (rescanLock) {
            state.catalog(RepoCatalog.scan(state.options.repos(), state.options, hashPool, state.catalog()));
        }
    }

    /** Replaces the faults in force (counters start afresh); for tests that change them between steps. */
    public void setFaults(List<Fault> faults) {
        state.faults(new FaultPlan(faults));
    }

    /** Stops accepting, closes every connection and stops every thread it started. Idempotent. */
    @Override
    public void close() {
        hub.close();
        cdn.close();
        if (cdnTwin != null) {
            cdnTwin.close();
        }
        connections.shutdownNow();
        hashPool.shutdownNow();
        guard.close();
        try {
            if (!connections.awaitTermination(5, TimeUnit.SECONDS)) {
                LOG.warn("Some connections of {} did not end within 5 s of closing", endpoint());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Redirects to a loopback Hub go to {@code localhost}, which may resolve to {@code ::1} before
     * {@code 127.0.0.1} (and clients such as Node 18 try only the first): so when bound to one
     * loopback address, the CDN port also listens on the other family's, if it can.
     */
    private static HttpListener loopbackTwin(InetAddress bound, int port, CdnRoutes routes, ExecutorService connections,
            ConnectionGuard guard) {
        if (!bound.isLoopbackAddress()) {
            return null;
        }
        String other = bound instanceof Inet4Address ? "::1" : "127.0.0.1";
        try {
            return HttpListener.open("cdn-" + (other.equals("::1") ? "ipv6" : "ipv4"), other, port, routes, connections, guard);
        } catch (IOException e) {
            LOG.debug("CDN port {} not also on {} ({}); clients that resolve localhost there first will retry", port, other,
                    e.getMessage());
            return null;
        }
    }

    private static ThreadFactory daemonThreads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> Thread.ofPlatform().daemon().name(prefix + n.incrementAndGet()).unstarted(r);
    }
}
