package io.weightfs.hub;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * How many times the Hub client retried, by what it retried after: the HTTP status ({@code "429"},
 * {@code "503"}...), or {@code "network"} for a failure that had no status (a reset, a timeout, a
 * body cut mid-stream). One per {@link HubClient}, fed by its {@link Retrier}s, read by the metrics.
 *
 * <p>Thread-safe: every request's retrier counts here at once.
 */
public final class RetryCounts {
    /** The label of a failure without an HTTP status. */
    public static final String NETWORK = "network";

    private final ConcurrentHashMap<String, LongAdder> counts = new ConcurrentHashMap<>();

    void retried(java.io.IOException after) {
        String key = after instanceof HubException h && h.status() > 0 ? Integer.toString(h.status()) : NETWORK;
        counts.computeIfAbsent(key, k -> new LongAdder()).increment();
    }

    /** Retries so far by status, sorted; a status never retried is absent. */
    public Map<String, Long> byStatus() {
        Map<String, Long> out = new TreeMap<>();
        counts.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }
}
