package io.weightfs.serve;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's bounds on connections ({@link ServeLimits}): admits at most
 * {@link ServeLimits#maxConnections()} at once over both ports, and a watchdog closes any that
 * overstays its phase: idle between requests past the idle timeout, receiving one request past the
 * request timeout, answering with no progress past the stall timeout. Closing the channel is what
 * ends a connection thread blocked in a read or a write, so no thread waits on a client forever.
 *
 * <p>Threads: one platform thread of its own (the watchdog), started here and stopped by
 * {@link #close()}; it only reads the volatile phase of each connection and closes channels. Each
 * {@link Tracked} is written by its connection's thread only.
 */
final class ConnectionGuard implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ConnectionGuard.class);
    /** The watchdog looks this many times per shortest timeout: a connection overstays by a quarter at most. */
    private static final int SWEEPS_PER_TIMEOUT = 4;
    /** Refusals are logged at most this often, with how many there were: a flood must not flood the log. */
    private static final long REFUSAL_LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

    /** What a connection is doing, which decides how long it may take. */
    enum Phase {
        /** Between requests: bounded by the idle timeout. */
        IDLE,
        /** A request's bytes are arriving: bounded by the request timeout from its first byte. */
        READING,
        /** Answering: bounded by the stall timeout from the last progress. */
        ANSWERING
    }

    /** One admitted connection's phase; written by its own thread, read by the watchdog. */
    final class Tracked {
        private final SocketChannel channel;
        private volatile Phase phase = Phase.IDLE;
        private volatile long since = nanos.getAsLong();
        /** Set once the watchdog closed the channel, so it is counted and closed once. */
        private volatile boolean expired;

        private Tracked(SocketChannel channel) {
            this.channel = channel;
        }

        /** Enters a phase; its clock starts now. */
        void enter(Phase p) {
            since = nanos.getAsLong();
            phase = p;
        }

        /** Bytes went out (or a throttled body waited its turn): the stall clock starts again. */
        void progress() {
            since = nanos.getAsLong();
        }

        Phase phase() {
            return phase;
        }

        /** Leaves the guard; the connection's slot is free again. */
        void release() {
            if (live.remove(this)) {
                open.decrementAndGet();
            }
        }
    }

    private final ServeLimits limits;
    private final LongSupplier nanos;
    private final Set<Tracked> live = ConcurrentHashMap.newKeySet();
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong timedOut = new AtomicLong();
    private final AtomicLong lastRefusalLog = new AtomicLong(Long.MIN_VALUE);
    private final ScheduledExecutorService watchdog;

    ConnectionGuard(ServeLimits limits) {
        this(limits, System::nanoTime);
    }

    ConnectionGuard(ServeLimits limits, LongSupplier nanos) {
        this.limits = limits;
        this.nanos = nanos;
        this.watchdog = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().daemon().name("weightfs-serve-watchdog").factory());
        long period = Math.clamp(limits.shortestTimeout().toMillis() / SWEEPS_PER_TIMEOUT, 5, 1000);
        watchdog.scheduleWithFixedDelay(this::sweep, period, period, TimeUnit.MILLISECONDS);
    }

    ServeLimits limits() {
        return limits;
    }

    /** A slot for a new connection, or null when {@link ServeLimits#maxConnections()} are open. */
    Tracked admit(SocketChannel channel) {
        while (true) {
            int n = open.get();
            if (n >= limits.maxConnections()) {
                long count = refused.incrementAndGet();
                long now = nanos.getAsLong();
                long last = lastRefusalLog.get();
                if ((last == Long.MIN_VALUE || now - last > REFUSAL_LOG_INTERVAL_NANOS) && lastRefusalLog.compareAndSet(last, now)) {
                    LOG.warn("{} connections are open, the most this server takes (--max-connections); answering 503"
                            + " ({} refused so far)", n, count);
                }
                return null;
            }
            if (open.compareAndSet(n, n + 1)) {
                Tracked t = new Tracked(channel);
                live.add(t);
                return t;
            }
        }
    }

    /** Connections open now. */
    int open() {
        return open.get();
    }

    /** Connections refused for the cap, and closed for overstaying, since start. */
    long refused() {
        return refused.get();
    }

    long timedOut() {
        return timedOut.get();
    }

    private void sweep() {
        long now = nanos.getAsLong();
        for (Tracked t : live) {
            Duration limit = switch (t.phase) {
                case IDLE -> limits.idleTimeout();
                case READING -> limits.requestTimeout();
                case ANSWERING -> limits.stallTimeout();
            };
            if (!t.expired && now - t.since > limit.toNanos()) {
                t.expired = true;
                timedOut.incrementAndGet();
                LOG.debug("closing a connection that overstayed its {} phase ({} ms)", t.phase, limit.toMillis());
                try {
                    t.channel.close();
                } catch (IOException e) {
                    LOG.trace("closing an overstaying connection failed", e);
                }
                // Its thread, woken by the close, releases the slot as it ends.
            }
        }
    }

    @Override
    public void close() {
        watchdog.shutdownNow();
    }
}
