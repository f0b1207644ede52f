package io.weightfs.fetch;

import io.weightfs.manifest.ContentHash;
import io.weightfs.source.SharedTier;
import io.weightfs.store.Blob;
import io.weightfs.store.BlockStore;
import java.io.IOException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies every blob that becomes verified in the node store into the shared tier, so that the next
 * node of the region reads it from there instead of the Hub. One background thread at the lowest
 * priority, one blob at a time: publishing never competes with reads for more than one copy's worth
 * of disk bandwidth. A blob another node is uploading (it holds the lease) is skipped.
 */
public final class Publisher implements BlockStore.BlobListener, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Publisher.class);

    private final BlockStore store;
    private final SharedTier tier;
    private final ExecutorService thread = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().daemon(true).priority(Thread.MIN_PRIORITY).name("weightfs-publish").factory());
    private final AtomicLong published = new AtomicLong();
    private final AtomicLong skipped = new AtomicLong();

    public Publisher(BlockStore store, SharedTier tier) {
        this.store = store;
        this.tier = tier;
        store.addListener(this);
    }

    public long published() {
        return published.get();
    }

    @Override
    public void blobVerified(Blob blob) {
        ContentHash h = blob.hash();
        long size = blob.size();
        try {
            thread.execute(() -> publish(h, size));
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            // shutting down: the next start publishes it
        }
    }

    private void publish(ContentHash h, long size) {
        try {
            switch (tier.publish(h, size, store.blobPath(h))) {
                case PUBLISHED -> published.incrementAndGet();
                case ALREADY_THERE, LEASED_ELSEWHERE -> skipped.incrementAndGet();
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("cannot publish {} to the shared tier: {}", h, e.toString());
        }
    }

    @Override
    public void blobCorrupt(Blob blob, ContentHash actual) {
        // nothing to publish
    }

    /**
     * Stops: queued blobs are left for the next start, a copy in progress is abandoned (its
     * temporary file removed, its lease released or left to expire). The interrupt only closes the
     * publisher's own file channels.
     */
    @Override
    public void close() {
        thread.shutdownNow();
        try {
            thread.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
