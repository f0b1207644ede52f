package io.weightfs.fetch;

import io.weightfs.manifest.ContentHash;
import io.weightfs.source.RepoFile;
import io.weightfs.store.Blob;
import io.weightfs.store.BlockStore;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The background fill: every blob of every mounted file, in a useful order, at PREFETCH priority,
 * until each is verified or has failed for good.
 *
 * <p><b>Policy.</b> Blocks that recorded access profiles list come first, in the order programs
 * read them on an earlier start; then blobs in the order given (see {@link PrefetchOrder}). Missing
 * blocks go to a backlog, and at most {@code maxOutstanding} prefetch demands are open at
 * once, so the fetcher's queue stays short and a foreground read never queues behind thousands of
 * prefetch blocks. A blob whose blocks failed to arrive, or whose content did not hash right, is
 * tried again after a growing delay, up to {@link #MAX_ATTEMPTS} times; then it counts as failed
 * (reads of its missing bytes fail with EIO, {@code wait} reports it).
 *
 * <p><b>Threads.</b> One scheduler thread owned by this object does the walking and the retries;
 * block completions arrive on fetch workers and only update counters and pump the backlog.
 */
public final class Prefetcher implements AutoCloseable, BlockStore.BlobListener {
    private static final Logger LOG = LoggerFactory.getLogger(Prefetcher.class);
    /** A blob is tried this many times (fetch failures or hash mismatches) before it fails for good. */
    static final int MAX_ATTEMPTS = 4;
    /** First retry delay; doubles each attempt. The Hub client has already retried transient errors. */
    public static final java.time.Duration DEFAULT_RETRY_BASE = java.time.Duration.ofSeconds(1);

    private final BlockStore store;
    private final BlockFetcher fetcher;
    private final int maxOutstanding;
    private final long retryBaseMillis;
    private final Map<ContentHash, BlobState> blobs = new LinkedHashMap<>();
    private final Map<String, BlobState> byFile = new java.util.HashMap<>();
    private final List<AccessProfile> profiles;
    /** The region's shared tier: blobs another node is filling are left to it (see {@link #deferred}). */
    private final Optional<io.weightfs.source.SharedTier> shared;
    /** Guarded by this. Blobs another node is filling into the shared tier right now. */
    private final List<BlobState> deferred = new ArrayList<>();
    /** How long the fill waits before trying blocks the store had no room for. */
    private static final long NO_SPACE_RETRY_MILLIS = 5000;
    /** How often deferred blobs are looked at again: they land in the shared tier, or their lease runs out. */
    private static final long DEFERRED_CHECK_MILLIS = 500;
    private final ScheduledExecutorService scheduler =
            Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon(true).name("weightfs-prefetch").factory());
    private final CompletableFuture<Void> allDone = new CompletableFuture<>();
    private final List<java.util.function.Consumer<ContentHash>> gaveUpListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile long doneAtMillis;
    private final AtomicInteger unfinished = new AtomicInteger();

    /** Guarded by this. Blocks waiting for a prefetch slot, in order. */
    private final ArrayDeque<BlockReq> backlog = new ArrayDeque<>();
    /** Guarded by this. */
    private int outstanding;
    private volatile boolean closed;
    /** No background fill: blobs are only watched, never fetched (reads fetch what they need). */
    private volatile boolean watchOnly;

    private record BlockReq(BlobState state, int block) {}

    /** Per-blob progress of the fill. */
    private static final class BlobState {
        final RepoFile file;
        volatile Blob blob;
        final AtomicInteger attempts = new AtomicInteger();
        final AtomicInteger roundRemaining = new AtomicInteger();
        final AtomicBoolean roundFailed = new AtomicBoolean();
        final AtomicBoolean finished = new AtomicBoolean();
        volatile String failure;
        volatile long finishedAtMillis;
        volatile String lastError;
        volatile boolean noSpace;
        /** The source asked to wait this long before the next try (0: it did not). */
        volatile long retryAfterMillis;

        BlobState(RepoFile file) {
            this.file = file;
        }
    }

    /**
     * @param ordered the files to fill, in order; files sharing content are filled once
     */
    public Prefetcher(BlockStore store, BlockFetcher fetcher, List<RepoFile> ordered, int maxOutstanding) {
        this(store, fetcher, ordered, List.of(), maxOutstanding, DEFAULT_RETRY_BASE);
    }

    /**
     * @param profiles recorded access orders to follow first (may be empty)
     * @param retryBase the first retry delay (tests use milliseconds)
     */
    public Prefetcher(BlockStore store, BlockFetcher fetcher, List<RepoFile> ordered, List<AccessProfile> profiles,
            int maxOutstanding, java.time.Duration retryBase) {
        this(store, fetcher, ordered, profiles, maxOutstanding, retryBase, Optional.empty());
    }

    /**
     * @param shared the shared tier: a blob that is not there yet is filled here only if this node
     *     gets its lease; otherwise it waits for the node that has it to publish
     */
    public Prefetcher(BlockStore store, BlockFetcher fetcher, List<RepoFile> ordered, List<AccessProfile> profiles,
            int maxOutstanding, java.time.Duration retryBase, Optional<io.weightfs.source.SharedTier> shared) {
        this.shared = shared;
        this.retryBaseMillis = retryBase.toMillis();
        this.profiles = List.copyOf(profiles);
        this.store = store;
        this.fetcher = fetcher;
        this.maxOutstanding = maxOutstanding;
        for (RepoFile f : ordered) {
            BlobState st = blobs.computeIfAbsent(f.file().hash(), h -> new BlobState(f));
            byFile.put(fileKey(f.repoId(), f.commit(), f.file().path()), st);
        }
        unfinished.set(blobs.size());
        if (blobs.isEmpty()) {
            allDone.complete(null);
        }
        store.addListener(this);
    }

    /**
     * Starts the fill in the background: first the blocks the profiles list, in their recorded
     * order, then every other missing block in the default order.
     */
    public void start() {
        scheduler.execute(this::planAndStart);
    }

    /**
     * Without a background fill ({@code --no-prefetch}): fetches nothing, but opens every blob so
     * that what is verified already counts, and blobs that reads complete are verified and counted
     * like any others.
     */
    public void watchOnly() {
        watchOnly = true;
        scheduler.execute(() -> {
            for (BlobState s : blobs.values()) {
                if (!closed && open(s) && s.blob.isVerified()) {
                    finish(s, null);
                }
            }
        });
    }

    private void planAndStart() {
        java.util.Set<String> planned = new java.util.HashSet<>();
        Map<BlobState, Integer> perBlob = new java.util.HashMap<>();
        List<BlockReq> plan = new ArrayList<>();
        for (AccessProfile p : profiles) {
            for (AccessProfile.Read r : p.reads()) {
                BlobState s = byFile.get(fileKey(p.repoId(), p.commit(), r.path()));
                if (s == null || !open(s) || s.blob.isVerified() || r.offset() >= s.blob.size()) {
                    continue;
                }
                int block = s.blob.blockOf(r.offset());
                if (!s.blob.isPresent(block) && planned.add(s.file.file().hash() + "#" + block)) {
                    plan.add(new BlockReq(s, block));
                    perBlob.merge(s, 1, Integer::sum);
                }
            }
        }
        for (BlobState s : blobs.values()) {
            if (closed) {
                return;
            }
            if (!open(s)) {
                continue;
            }
            if (s.blob.isVerified()) {
                finish(s, null);
                continue;
            }
            if (!mayFill(s)) {
                synchronized (this) {
                    deferred.add(s);
                }
                continue;
            }
            for (int i = 0; i < s.blob.blockCount(); i++) {
                if (!s.blob.isPresent(i) && planned.add(s.file.file().hash() + "#" + i)) {
                    plan.add(new BlockReq(s, i));
                    perBlob.merge(s, 1, Integer::sum);
                }
            }
        }
        perBlob.forEach((s, n) -> {
            s.roundFailed.set(false);
            s.roundRemaining.set(n);
        });
        synchronized (this) {
            backlog.addAll(plan);
        }
        pump();
        if (shared.isPresent()) {
            scheduler.scheduleWithFixedDelay(this::checkDeferred, DEFERRED_CHECK_MILLIS, DEFERRED_CHECK_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    /**
     * Whether this node should fill a blob now: always without a shared tier, or when the tier has
     * it (the reads then come from the tier), or when this node gets its lease. False when another
     * node holds the lease: it is downloading the blob from the Hub and will publish it.
     */
    private boolean mayFill(BlobState s) {
        if (shared.isEmpty()) {
            return true;
        }
        ContentHash h = s.file.file().hash();
        try {
            return shared.get().has(h) || shared.get().tryHold(h);
        } catch (IOException e) {
            LOG.debug("cannot take the shared lease of {}: {}; filling it from the Hub", h, e.toString());
            return true;
        }
    }

    /** Looks at the deferred blobs again; the shared tier is asked outside the lock. */
    private void checkDeferred() {
        List<BlobState> candidates;
        synchronized (this) {
            deferred.removeIf(s -> s.finished.get());
            candidates = List.copyOf(deferred);
        }
        List<BlobState> ready = new ArrayList<>();
        for (BlobState s : candidates) {
            if (mayFill(s)) {
                ready.add(s);
            }
        }
        synchronized (this) {
            deferred.removeAll(ready);
        }
        for (BlobState s : ready) {
            enqueue(s);
        }
    }

    /** Opens a blob for the fill; a failure counts as a failed round. */
    private boolean open(BlobState s) {
        if (s.blob != null && !s.blob.isRetired()) {
            return true;
        }
        try {
            s.blob = store.blob(s.file.file().hash(), s.file.size());
            return true;
        } catch (IOException e) {
            roundFailed(s, "cannot open its blob in the store: " + e.getMessage());
            return false;
        }
    }

    private static String fileKey(String repoId, String commit, String path) {
        return repoId + "@" + commit + ":" + path;
    }

    /** The profiles this fill follows first (repo@commit each), for status. */
    public List<AccessProfile> profiles() {
        return profiles;
    }

    /** Tells {@code l} of every blob the fill gave up on for good. */
    public void onGaveUp(java.util.function.Consumer<ContentHash> l) {
        gaveUpListeners.add(l);
    }

    /** When every blob was verified or had failed (epoch millis), or 0 while the fill goes on. */
    public long doneAtMillis() {
        return doneAtMillis;
    }

    /** Completes when every blob is verified or has failed for good. */
    public CompletableFuture<Void> completion() {
        return allDone;
    }

    /** Why a blob failed for good, if it did. */
    public Optional<String> failure(ContentHash hash) {
        BlobState s = blobs.get(hash);
        return s == null ? Optional.empty() : Optional.ofNullable(s.failure);
    }

    /** The blob of a hash once the fill has opened it (for progress reporting). */
    public Optional<Blob> blob(ContentHash hash) {
        BlobState s = blobs.get(hash);
        return s == null ? Optional.empty() : Optional.ofNullable(s.blob);
    }

    private void enqueue(BlobState s) {
        if (closed || s.finished.get()) {
            return;
        }
        if (!open(s)) {
            return;
        }
        Blob b = s.blob;
        if (b.isVerified()) {
            finish(s, null);
            return;
        }
        List<Integer> missing = new ArrayList<>();
        for (int i = 0; i < b.blockCount(); i++) {
            if (!b.isPresent(i)) {
                missing.add(i);
            }
        }
        if (missing.isEmpty()) {
            return; // complete: verification is running or done; the listener takes it from here
        }
        s.roundFailed.set(false);
        s.roundRemaining.set(missing.size());
        synchronized (this) {
            for (int i : missing) {
                backlog.add(new BlockReq(s, i));
            }
        }
        pump();
    }

    /** Opens prefetch demands while there is room. Demands are made outside the lock. */
    private void pump() {
        List<BlockReq> next = new ArrayList<>();
        synchronized (this) {
            while (outstanding < maxOutstanding && !backlog.isEmpty()) {
                next.add(backlog.poll());
                outstanding++;
            }
        }
        for (BlockReq r : next) {
            fetcher.demand(r.state().file, r.state().blob, r.block(), BlockFetcher.Priority.PREFETCH)
                    .whenComplete((v, err) -> blockDone(r, err));
        }
    }

    private void blockDone(BlockReq r, Throwable err) {
        synchronized (this) {
            outstanding--;
        }
        BlobState s = r.state();
        if (err != null) {
            Throwable cause = err instanceof java.util.concurrent.CompletionException && err.getCause() != null ? err.getCause() : err;
            if (cause instanceof io.weightfs.store.NoSpaceException) {
                s.noSpace = true;
            } else if (cause instanceof io.weightfs.hub.RetryLaterException later) {
                s.retryAfterMillis = Math.max(s.retryAfterMillis, later.after().toMillis());
                s.lastError = cause.getMessage();
            } else {
                s.roundFailed.set(true);
                s.lastError = cause.getMessage();
            }
        }
        if (s.roundRemaining.decrementAndGet() == 0) {
            if (s.retryAfterMillis > 0 && !s.roundFailed.get()) {
                // Rate-limited: not the blob's fault, no attempt used up; try when the source said.
                long wait = s.retryAfterMillis;
                s.retryAfterMillis = 0;
                LOG.info("{}: {}; trying again in {} s", s.file.describe(), s.lastError, wait / 1000);
                if (!closed) {
                    scheduler.schedule(() -> enqueue(s), wait, TimeUnit.MILLISECONDS);
                }
            } else if (s.roundFailed.get()) {
                roundFailed(s, s.lastError);
            } else if (s.noSpace) {
                // Not the blob's fault: try again when there may be room, without using up an attempt.
                s.noSpace = false;
                if (!closed) {
                    scheduler.schedule(() -> enqueue(s), NO_SPACE_RETRY_MILLIS, TimeUnit.MILLISECONDS);
                }
            }
        }
        if (!closed) {
            pump();
        }
    }

    private void roundFailed(BlobState s, String why) {
        int attempt = s.attempts.incrementAndGet();
        if (attempt >= MAX_ATTEMPTS) {
            finish(s, "gave up after " + attempt + " attempts: " + why);
            return;
        }
        long delay = retryBaseMillis << (attempt - 1);
        if (watchOnly) {
            LOG.info("{}: {}; the next reads fetch it again", s.file.describe(), why);
            return;
        }
        LOG.info("{}: {}; trying again in {} ms", s.file.describe(), why, delay);
        if (!closed) {
            scheduler.schedule(() -> enqueue(s), delay, TimeUnit.MILLISECONDS);
        }
    }

    private void finish(BlobState s, String failure) {
        if (!s.finished.compareAndSet(false, true)) {
            return;
        }
        if (failure != null) {
            shared.ifPresent(t -> t.releaseHeld(s.file.file().hash()));
        }
        s.failure = failure;
        if (failure != null) {
            LOG.error("{} FAILED: {}", s.file.describe(), failure);
            gaveUpListeners.forEach(l -> l.accept(s.file.file().hash()));
        } else {
            s.finishedAtMillis = System.currentTimeMillis();
        }
        if (unfinished.decrementAndGet() == 0) {
            doneAtMillis = System.currentTimeMillis();
            allDone.complete(null);
        }
    }

    @Override
    public void blobVerified(Blob blob) {
        BlobState s = blobs.get(blob.hash());
        if (s != null) {
            finish(s, null);
        }
    }

    @Override
    public void blobCorrupt(Blob blob, ContentHash actual) {
        BlobState s = blobs.get(blob.hash());
        if (s != null && !closed) {
            scheduler.execute(() -> roundFailed(s, "its content hashed to " + actual + ", not " + blob.hash()));
        }
    }

    @Override
    public void close() {
        closed = true;
        scheduler.shutdownNow();
    }
}
