package io.weightfs.fetch;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counters of one fetch, updated by the workers and read by whoever draws progress. Lock-free;
 * a {@link Snapshot} is consistent enough for a progress bar, not for accounting.
 */
public final class FetchProgress {
    private final AtomicInteger filesTotal = new AtomicInteger();
    private final AtomicLong bytesTotal = new AtomicLong();
    private final AtomicInteger filesDone = new AtomicInteger();
    private final AtomicInteger filesFailed = new AtomicInteger();
    /** Bytes that are in place: downloaded, or found already verified. */
    private final AtomicLong bytesDone = new AtomicLong();
    /** Bytes that came over the network (includes bytes later discarded). */
    private final AtomicLong bytesDownloaded = new AtomicLong();
    private final AtomicInteger hashMismatches = new AtomicInteger();

    /** A point-in-time copy of the counters. */
    public record Snapshot(
            int filesTotal, int filesDone, int filesFailed, long bytesTotal, long bytesDone, long bytesDownloaded, int hashMismatches) {}

    void begin(int files, long bytes) {
        filesTotal.addAndGet(files);
        bytesTotal.addAndGet(bytes);
    }

    void alreadyPresent(long bytes) {
        bytesDone.addAndGet(bytes);
    }

    void downloaded(long bytes) {
        bytesDone.addAndGet(bytes);
        bytesDownloaded.addAndGet(bytes);
    }

    /** A file is downloaded again: its bytes no longer count as done. */
    void retrying(long bytes) {
        bytesDone.addAndGet(-bytes);
    }

    void fileDone() {
        filesDone.incrementAndGet();
    }

    void failed() {
        filesFailed.incrementAndGet();
    }

    void hashMismatch() {
        hashMismatches.incrementAndGet();
    }

    public Snapshot snapshot() {
        return new Snapshot(filesTotal.get(), filesDone.get(), filesFailed.get(), bytesTotal.get(), bytesDone.get(),
                bytesDownloaded.get(), hashMismatches.get());
    }
}
