package io.weightfs.source;

import io.weightfs.hub.ByteStream;
import io.weightfs.hub.Deadline;
import java.nio.ByteBuffer;
import java.io.IOException;
import java.time.Clock;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The shared tier and the Hub as one source: each read goes to the tier expected to deliver it
 * soonest, and falls back to the Hub when the shared tier does not have the blob, fails, or holds a
 * bad block (which it quarantines).
 *
 * <p><b>Choice.</b> For each tier a rolling estimate of latency and throughput (exponentially
 * weighted over recent reads) predicts {@code latency + length / throughput}; the smaller wins.
 * The Hub is measured only by reads that need it anyway; while its estimate is unknown the shared
 * tier, which has the blob, is used (see {@link #preferShared}).
 *
 * <p>Thread-safe: the estimates are synchronized, no lock is held during a read.
 */
public final class TieredSource implements Source {
    private static final Logger LOG = LoggerFactory.getLogger(TieredSource.class);
    /** An estimate not refreshed for this long is re-measured with the next read. */
    static final long STALE_MILLIS = 30_000;

    private final SharedSource shared;
    private final Source hub;
    private final Clock clock;
    private final Estimate sharedEstimate = new Estimate();
    private final Estimate hubEstimate = new Estimate();
    private final AtomicLong sharedBytes = new AtomicLong();
    private final AtomicLong hubBytes = new AtomicLong();
    private final AtomicLong fallbacks = new AtomicLong();

    public TieredSource(SharedSource shared, Source hub, Clock clock) {
        this.shared = shared;
        this.hub = hub;
        this.clock = clock;
    }

    @Override
    public String name() {
        return "tiered";
    }

    public long bytesFrom(String tier) {
        return tier.equals("shared") ? sharedBytes.get() : hubBytes.get();
    }

    public long fallbacks() {
        return fallbacks.get();
    }

    public long badSharedBlocks() {
        return shared.badBlocks();
    }

    @Override
    public ByteStream open(RepoFile file, long offset, long length, Deadline deadline) throws IOException {
        if (shared.has(file) && preferShared(length, clock.millis())) {
            try {
                return new Tiered(file, shared.open(file, offset, length, deadline), true, offset + length, deadline);
            } catch (IOException e) {
                fallbacks.incrementAndGet();
                LOG.warn("shared tier failed for {} ({}); reading it from the Hub", file.describe(), e.getMessage());
            }
        }
        return new Tiered(file, hub.open(file, offset, length, deadline), false, offset + length, deadline);
    }

    /**
     * A stream from one tier that moves to the Hub if the shared tier fails part-way. The time a
     * tier took is the time spent inside its reads, so pauses the reader makes between reads (the
     * fill stepping aside for a waiting read) do not count against it.
     */
    private final class Tiered implements ByteStream, CheckedStream {
        private final RepoFile file;
        private final long end;
        private final Deadline deadline;
        private ByteStream current;
        private boolean fromShared;
        private boolean allChecked;
        private long streamStart;
        private long readNanos;
        private long firstByteNanos = -1;

        Tiered(RepoFile file, ByteStream first, boolean fromShared, long end, Deadline deadline) {
            this.file = file;
            this.current = first;
            this.fromShared = fromShared;
            this.allChecked = fromShared;
            this.end = end;
            this.deadline = deadline;
            this.streamStart = first.position();
        }

        @Override
        public boolean deliveredChecked() {
            return allChecked;
        }

        @Override
        public long position() {
            return current.position();
        }

        @Override
        public long end() {
            return end;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            long t0 = System.nanoTime();
            try {
                int n = current.read(dst);
                if (n > 0) {
                    (fromShared ? sharedBytes : hubBytes).addAndGet(n);
                    if (firstByteNanos < 0) {
                        firstByteNanos = System.nanoTime() - t0;
                    }
                }
                return n;
            } catch (IOException e) {
                if (!fromShared) {
                    throw e;
                }
                // Whatever the shared tier already delivered was checked; continue after it.
                fallbacks.incrementAndGet();
                LOG.warn("shared tier failed for {} ({}); reading the rest from the Hub", file.describe(), e.getMessage());
                long pos = current.position();
                current.close();
                record();
                current = hub.open(file, pos, end - pos, deadline);
                fromShared = false;
                allChecked = false;
                streamStart = pos;
                readNanos = 0;
                firstByteNanos = -1;
                return 0;
            } finally {
                readNanos += System.nanoTime() - t0;
            }
        }

        /** Feeds the tier's estimate with what this stream saw of it. */
        private void record() {
            long bytes = current.position() - streamStart;
            if (bytes <= 0) {
                return;
            }
            long now = clock.millis();
            Estimate e = fromShared ? sharedEstimate : hubEstimate;
            if (firstByteNanos >= 0) {
                e.record(1, firstByteNanos, now); // latency: the wait for the first byte
            }
            e.record(bytes, readNanos, now);
        }

        @Override
        public void close() {
            record();
            current.close();
        }
    }

    /**
     * Whether a read of a blob the shared tier has should go there. The Hub is never read just to
     * measure it: its estimate comes only from reads that needed the Hub anyway (blobs the tier
     * lacks, fallbacks), so a node whose tier has every blob downloads nothing from the Hub. The
     * shared tier, cheap to ask, gets one measuring read per {@link #STALE_MILLIS} when its own
     * estimate is unknown or stale while the Hub's is known.
     */
    boolean preferShared(long length, long now) {
        double s = sharedEstimate.predictMillis(length, now);
        double h = hubEstimate.predictMillis(length, now);
        if (Double.isNaN(h)) {
            return true;
        }
        if (Double.isNaN(s)) {
            // One read measures the shared tier; concurrent reads meanwhile keep to the known Hub.
            return sharedEstimate.claimProbe(now);
        }
        return s <= h;
    }

    /** For tests: what the tier choice has learnt of each tier. */
    void recordForTest(boolean sharedTier, long bytes, long nanos, long now) {
        (sharedTier ? sharedEstimate : hubEstimate).record(bytes, nanos, now);
    }

    /** A rolling latency and throughput estimate of one tier. */
    static final class Estimate {
        /** Weight of the newest read: about the last ten reads matter. */
        private static final double ALPHA = 0.2;
        /** Reads smaller than this say more about latency than throughput. */
        private static final long THROUGHPUT_MIN_BYTES = 256 * 1024;

        private double latencyMillis = Double.NaN;
        private double bytesPerMilli = Double.NaN;
        private long updatedAt = Long.MIN_VALUE;
        private long probedAt = Long.MIN_VALUE;

        /** Allows one measuring read per {@link #STALE_MILLIS}; false if one was allowed recently. */
        synchronized boolean claimProbe(long now) {
            if (probedAt != Long.MIN_VALUE && now - probedAt <= STALE_MILLIS) {
                return false;
            }
            probedAt = now;
            return true;
        }

        synchronized void record(long bytes, long nanos, long now) {
            double millis = Math.max(0.001, nanos / 1e6);
            if (bytes < THROUGHPUT_MIN_BYTES) {
                latencyMillis = Double.isNaN(latencyMillis) ? millis : (1 - ALPHA) * latencyMillis + ALPHA * millis;
            }
            if (bytes >= THROUGHPUT_MIN_BYTES) {
                double rate = bytes / millis;
                bytesPerMilli = Double.isNaN(bytesPerMilli) ? rate : (1 - ALPHA) * bytesPerMilli + ALPHA * rate;
            }
            updatedAt = now;
        }

        synchronized double predictMillis(long bytes, long now) {
            if (updatedAt == Long.MIN_VALUE || now - updatedAt > STALE_MILLIS) {
                return Double.NaN;
            }
            double rate = Double.isNaN(bytesPerMilli) ? Double.NaN : bytesPerMilli;
            double lat = Double.isNaN(latencyMillis) ? 0 : latencyMillis;
            return Double.isNaN(rate) ? lat : lat + bytes / rate;
        }
    }
}
