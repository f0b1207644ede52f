package io.weightfs.serve;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.concurrent.atomic.LongAdder;

/**
 * Live counters behind {@link ServeStats}. Thread-safe: counters are adders, and the download log is
 * guarded by {@code this} (appends only; nothing blocking happens under the lock).
 */
final class StatsRecorder {
    private final LongAdder api = new LongAdder();
    private final LongAdder resolve = new LongAdder();
    private final LongAdder cdn = new LongAdder();
    private final LongAdder bodyBytes = new LongAdder();
    /** Guarded by this. */
    private final ArrayDeque<ServeStats.Download> downloads = new ArrayDeque<>();

    void apiRequest() {
        api.increment();
    }

    void resolveRequest() {
        resolve.increment();
    }

    void cdnRequest() {
        cdn.increment();
    }

    void bodyBytes(long n) {
        bodyBytes.add(n);
    }

    synchronized void download(ServeStats.Download d) {
        if (downloads.size() == ServeStats.MAX_DOWNLOADS) {
            downloads.removeFirst();
        }
        downloads.addLast(d);
    }

    ServeStats snapshot() {
        ArrayList<ServeStats.Download> copy;
        synchronized (this) {
            copy = new ArrayList<>(downloads);
        }
        return new ServeStats(new ServeStats.Requests(api.sum(), resolve.sum(), cdn.sum()), bodyBytes.sum(), copy);
    }

    void reset() {
        api.reset();
        resolve.reset();
        cdn.reset();
        bodyBytes.reset();
        synchronized (this) {
            downloads.clear();
        }
    }
}
