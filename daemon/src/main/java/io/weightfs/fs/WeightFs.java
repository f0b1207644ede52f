package io.weightfs.fs;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.weightfs.fetch.BlockFetcher;
import io.weightfs.fetch.ForegroundGate;
import io.weightfs.fetch.Prefetcher;
import io.weightfs.manifest.ResolvedEntry;
import io.weightfs.store.Blob;
import io.weightfs.store.BlockStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ToLongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The weightfs filesystem: the tree of the pinned manifests, reads served from the node store,
 * missing blocks demanded from the fetcher at FOREGROUND priority, and the control files
 * {@code /.weightfs/status.json} and {@code /.weightfs/wait}.
 *
 * <p><b>Threads.</b> Called on FUSE's threads, many at once. It owns no thread; a read waits on
 * its own blocks' futures, and {@link #close()} fails every waiting read at once.
 */
public final class WeightFs implements FsOps, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WeightFs.class);
    /** A read whose block fetch failed is retried this often before it fails with EIO. */
    private static final int READ_ATTEMPTS = 3;
    private static final int FILE_MODE = 0444;
    private static final int DIR_MODE = 0555;
    private static final String XATTR_HASH = "user.weightfs.hash";

    private final FsTree tree;
    private final BlockStore store;
    private final BlockFetcher fetcher;
    private final Prefetcher prefetcher;
    private final Clock clock;
    private final long startMillis;
    private final ConcurrentHashMap<Long, Handle> handles = new ConcurrentHashMap<>();
    private final AtomicLong nextHandle = new AtomicLong(1);
    private final CompletableFuture<Void> closing = new CompletableFuture<>();
    private final AtomicLong foregroundWaits = new AtomicLong();
    private final AtomicLong readThroughs = new AtomicLong();
    /** Threads doing read-through requests: virtual, one per request, no pool to size. */
    private final java.util.concurrent.ExecutorService readThroughThreads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
    private final io.weightfs.fetch.AccessRecorder recorder;
    private final io.weightfs.source.TieredSource tiered;

    /**
     * Readahead windows stop growing here: 64 MiB is eight default blocks, several seconds of a
     * 100 MB/s link, which keeps one stream's link busy without crowding out other files' reads.
     */
    static final long MAX_READAHEAD = 64L << 20;
    /**
     * A read of at most this many bytes whose blocks are not on their way yet fetches its own bytes
     * straight from the source (one small ranged request) instead of waiting for whole 8 MiB
     * blocks: the kernel asks for at most 1 MiB at a time.
     */
    static final int READ_THROUGH_MAX = 1 << 20;

    /** An open file: a repo file (with its streams' readahead), or a control file rendered at open. */
    private record Handle(FsTree.Node node, byte[] rendered, Readahead readahead) {}

    public WeightFs(List<ResolvedEntry> entries, ToLongFunction<ResolvedEntry> mtimes, BlockStore store,
            BlockFetcher fetcher, Prefetcher prefetcher, Clock clock) {
        this(entries, mtimes, store, fetcher, prefetcher, null, null, clock);
    }

    /**
     * @param recorder where programs' first reads are recorded (null: not recorded)
     * @param tiered the tiered source, for bytes per source in status (null: the Hub only)
     */
    public WeightFs(List<ResolvedEntry> entries, ToLongFunction<ResolvedEntry> mtimes, BlockStore store,
            BlockFetcher fetcher, Prefetcher prefetcher, io.weightfs.fetch.AccessRecorder recorder,
            io.weightfs.source.TieredSource tiered, Clock clock) {
        this.recorder = recorder;
        this.tiered = tiered;
        this.clock = clock;
        this.startMillis = clock.millis();
        this.tree = FsTree.build(entries, mtimes, startMillis);
        this.store = store;
        this.fetcher = fetcher;
        this.prefetcher = prefetcher;
    }

    @Override
    public Attr getattr(String path) throws FsException {
        return attr(node(path));
    }

    private Attr attr(FsTree.Node n) {
        return switch (n) {
            case FsTree.Dir d -> new Attr(d.inode(), true, 0, d.mtimeMillis(), DIR_MODE, 2 + (int) d.children.values().stream()
                    .filter(c -> c instanceof FsTree.Dir).count());
            case FsTree.FileNode f -> new Attr(f.inode(), false, f.file().size(), f.mtimeMillis(), FILE_MODE, 1);
            // Size 0: control files are read with direct I/O, their length is known only when rendered.
            case FsTree.ControlNode c -> new Attr(c.inode(), false, 0, c.mtimeMillis(), FILE_MODE, 1);
        };
    }

    @Override
    public List<DirEntry> readdir(String path) throws FsException {
        if (!(node(path) instanceof FsTree.Dir d)) {
            throw new FsException(FsException.Kind.NOT_A_DIRECTORY, path);
        }
        List<DirEntry> out = new ArrayList<>(d.children.size());
        for (Map.Entry<String, FsTree.Node> e : d.children.entrySet()) {
            out.add(new DirEntry(e.getKey(), attr(e.getValue())));
        }
        return out;
    }

    @Override
    public long open(String path, boolean writable) throws FsException {
        FsTree.Node n = node(path);
        if (n instanceof FsTree.Dir) {
            throw new FsException(FsException.Kind.IS_A_DIRECTORY, path);
        }
        if (writable) {
            throw new FsException(FsException.Kind.READ_ONLY, path);
        }
        byte[] rendered = null;
        if (n instanceof FsTree.ControlNode c && c.name().equals(FsTree.STATUS_FILE)) {
            rendered = statusJson().getBytes(StandardCharsets.UTF_8);
        }
        long h = nextHandle.getAndIncrement();
        Readahead ra = n instanceof FsTree.FileNode ? new Readahead(store.options().blockSize(), MAX_READAHEAD) : null;
        handles.put(h, new Handle(n, rendered, ra));
        return h;
    }

    @Override
    public boolean directIo(long handle) {
        Handle h = handles.get(handle);
        return h != null && h.node() instanceof FsTree.ControlNode;
    }

    @Override
    public int read(long handle, ByteBuffer dst, long offset) throws FsException {
        Handle h = handles.get(handle);
        if (h == null) {
            throw new FsException(FsException.Kind.BAD_HANDLE, "handle " + handle);
        }
        if (offset < 0) {
            throw new FsException(FsException.Kind.INVALID, "negative offset " + offset);
        }
        return switch (h.node()) {
            case FsTree.FileNode f -> readFile(f, h.readahead(), dst, offset);
            case FsTree.ControlNode c -> readControl(c, h, dst, offset);
            case FsTree.Dir d -> throw new FsException(FsException.Kind.IS_A_DIRECTORY, "directory");
        };
    }

    private int readFile(FsTree.FileNode f, Readahead readahead, ByteBuffer dst, long offset) throws FsException {
        long size = f.file().size();
        if (offset >= size || !dst.hasRemaining()) {
            return 0;
        }
        long end = Math.min(size, offset + dst.remaining());
        int startPos = dst.position();
        int oldLimit = dst.limit();
        dst.limit(startPos + (int) (end - offset));
        try {
            if (recorder != null) {
                long bs = store.options().blockSize();
                for (long b = offset / bs; b <= (end - 1) / bs; b++) {
                    recorder.record(f.file(), b * bs);
                }
            }
            if (!store.ready().isDone()) {
                // Before the index is open: a small file, or a read that is not (yet) part of a
                // sequential stream, is served from the source; a stream waits for the store, or
                // the bytes it reads now would be fetched a second time by its blocks.
                boolean looksSequential = readahead != null && readahead.continues(offset);
                if (!looksSequential || size <= READ_THROUGH_MAX) {
                    if (readahead != null) {
                        readahead.onRead(offset, end - offset, size);
                    }
                    int early = readBeforeStoreIsReady(f, dst, offset, end);
                    if (early >= 0) {
                        return early;
                    }
                }
            }
            Blob blob = store.blob(f.file().file().hash(), size);
            blob.noteUse();
            boolean streaming = !blob.isVerified() && readAhead(f, blob, readahead, offset, end);
            for (int attempt = 1; ; attempt++) {
                failIfGaveUp(f);
                long gen = blob.generation();
                if (!blob.isVerified()) {
                    // A sequential stream waits for its blocks (its readahead has them coming);
                    // a random read fetches its own bytes.
                    if (attempt == 1 && !streaming && readThrough(f, blob, dst, offset, end)) {
                        return dst.position() - startPos;
                    }
                    if (!awaitBlocks(f, blob, offset, end, streaming)) {
                        // The store is full: serve this read straight from the source.
                        ByteBuffer own = end - offset <= READ_THROUGH_MAX ? fetchDirect(f, offset, (int) (end - offset)) : null;
                        if (own == null) {
                            throw new FsException(FsException.Kind.IO, f.mountPath() + ": the node store is full and the source"
                                    + " could not be read directly");
                        }
                        dst.put(own);
                        return dst.position() - startPos;
                    }
                    // A one-block file is whole once its block is here: check it before serving a
                    // byte of it. (A larger file is served as its blocks arrive and checked whole
                    // when the last one lands; the Hub gives no per-block hashes to check against.)
                    if (blob.blockCount() == 1 && !store.verifyNow(blob)) {
                        if (attempt >= READ_ATTEMPTS) {
                            throw new FsException(FsException.Kind.IO, f.mountPath() + ": content hash mismatch, "
                                    + attempt + " times; nothing wrong was served");
                        }
                        continue;
                    }
                }
                int n = blob.read(dst, offset);
                if (blob.generation() == gen) {
                    return n;
                }
                // The blob was discarded while we read (its hash failed): read again once refetched.
                dst.position(startPos);
                if (attempt >= READ_ATTEMPTS) {
                    throw new FsException(FsException.Kind.IO, f.mountPath() + ": its content kept failing verification");
                }
            }
        } catch (IOException e) {
            throw new FsException(FsException.Kind.IO, "reading " + f.mountPath() + " at " + offset + ": " + e.getMessage(), e);
        } finally {
            dst.limit(oldLimit);
        }
    }

    /**
     * Asks for the blocks a sequential stream will read next, at READAHEAD priority.
     *
     * @return whether the read continues a sequential stream
     */
    private boolean readAhead(FsTree.FileNode f, Blob blob, Readahead readahead, long offset, long end) {
        if (readahead == null) {
            return false;
        }
        long[] range = readahead.onRead(offset, end - offset, blob.size());
        if (range == null) {
            return false;
        }
        for (int b = blob.blockOf(range[0]); b <= blob.blockOf(range[1] - 1); b++) {
            if (!blob.isPresent(b)) {
                fetcher.demand(f.file(), blob, b, BlockFetcher.Priority.READAHEAD);
            }
        }
        return true;
    }

    /**
     * Serves a small read whose blocks nobody is fetching yet straight from the source: one small
     * ranged request instead of a wait for whole blocks. Bytes read this way are not stored; the
     * blocks come with the fill or the stream's readahead. Returns false (and fetches nothing) when
     * the read should wait for blocks instead: priorities off, a large read, a block already in
     * flight or one of the one-block files (those are verified before they are served), or when
     * the source failed (the block path retries).
     */
    private boolean readThrough(FsTree.FileNode f, Blob blob, ByteBuffer dst, long offset, long end) throws IOException, FsException {
        if (fetcher.options().mode() != BlockFetcher.Scheduling.PRIORITY || end - offset > READ_THROUGH_MAX
                || blob.blockCount() <= 1) {
            return false;
        }
        for (int b = blob.blockOf(offset); b <= blob.blockOf(end - 1); b++) {
            if (blob.ensureReadable(b) || !fetcher.onlyPrefetchWants(blob, b)) {
                return false;
            }
        }
        ByteBuffer own = fetchDirect(f, offset, (int) (end - offset));
        if (own == null) {
            return false;
        }
        dst.put(own);
        readThroughs.incrementAndGet();
        return true;
    }

    /**
     * A read that arrives before the store's index is open (it takes about a second after the
     * mount) is served from the source directly instead of waiting: a file of at most
     * {@link #READ_THROUGH_MAX} bytes (configs, tokenizers) is fetched whole and checked against
     * its hash before a byte is served; a larger file's range is read through like any lazily
     * served bytes. Returns the bytes read, or -1 to take the normal path.
     */
    private int readBeforeStoreIsReady(FsTree.FileNode f, ByteBuffer dst, long offset, long end) throws FsException {
        if (store.ready().isDone() || fetcher.options().mode() != BlockFetcher.Scheduling.PRIORITY) {
            return -1;
        }
        long size = f.file().size();
        if (size <= READ_THROUGH_MAX) {
            ByteBuffer whole = fetchDirect(f, 0, (int) size);
            if (whole == null) {
                return -1;
            }
            var hash = f.file().file().hash();
            if (!io.weightfs.manifest.ContentHasher.hash(whole.array(), hash.algorithm()).equals(hash)) {
                LOG.warn("{}: the bytes read before the store was ready did not match {}; waiting for the store", f.mountPath(), hash);
                return -1;
            }
            int n = (int) (end - offset);
            dst.put(whole.array(), (int) offset, n);
            readThroughs.incrementAndGet();
            return n;
        }
        if (end - offset > READ_THROUGH_MAX) {
            return -1;
        }
        ByteBuffer own = fetchDirect(f, offset, (int) (end - offset));
        if (own == null) {
            return -1;
        }
        int n = own.remaining();
        dst.put(own);
        readThroughs.incrementAndGet();
        return n;
    }

    /**
     * Reads a range from the source into a buffer of our own, on another thread, while this read
     * counts as waiting: if the mount goes away mid-request the read fails at once, and nothing
     * writes into FUSE's buffer after the FUSE call has returned. Returns null (after logging) if
     * the source failed, so the caller can fall back to waiting for blocks.
     */
    private ByteBuffer fetchDirect(FsTree.FileNode f, long offset, int length) throws FsException {
        ByteBuffer own = ByteBuffer.allocate(length);
        CompletableFuture<Integer> fetched = CompletableFuture.supplyAsync(() -> {
            try {
                return fetcher.readThrough(f.file(), offset, own);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, readThroughThreads);
        try (var waiting = fetcher.foregroundWaiting()) {
            CompletableFuture.anyOf(fetched, closing).get();
            if (!fetched.isDone()) {
                throw new FsException(FsException.Kind.IO, "weightfs is unmounting");
            }
            fetched.join();
            return own.flip();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FsException(FsException.Kind.INTERRUPTED, "interrupted");
        } catch (ExecutionException | java.util.concurrent.CompletionException e) {
            LOG.debug("direct read of {} at {} failed ({}); waiting for its blocks instead", f.mountPath(), offset, e.getCause());
            return null;
        }
    }

    /** A file the fill gave up on is not fetched again by reads: they fail at once. */
    private void failIfGaveUp(FsTree.FileNode f) throws FsException {
        Optional<String> gaveUp = prefetcher.failure(f.file().file().hash());
        if (gaveUp.isPresent()) {
            throw new FsException(FsException.Kind.IO, f.mountPath() + ": " + gaveUp.get());
        }
    }

    /**
     * Makes every block of {@code [offset, end)} readable, fetching missing ones at FOREGROUND
     * priority. Returns false if they cannot be cached because the store is below its free-space floor.
     */
    private boolean awaitBlocks(FsTree.FileNode f, Blob blob, long offset, long end, boolean streaming) throws IOException, FsException {
        for (int tries = 1; ; tries++) {
            List<CompletableFuture<Void>> waits = new ArrayList<>();
            for (int b = blob.blockOf(offset); b <= blob.blockOf(end - 1); b++) {
                if (!blob.ensureReadable(b)) {
                    waits.add(fetcher.demand(f.file(), blob, b, BlockFetcher.Priority.FOREGROUND));
                }
            }
            if (waits.isEmpty()) {
                return true;
            }
            foregroundWaits.incrementAndGet();
            // A random read pauses the fill while it waits; a sequential stream does not: the fill
            // runs in the order streams read, so pausing it would only slow the stream down.
            try (var waiting = streaming ? ForegroundGate.Waiting.NONE : fetcher.foregroundWaiting()) {
                CompletableFuture.anyOf(CompletableFuture.allOf(waits.toArray(CompletableFuture[]::new)), closing).get();
                if (closing.isDone()) {
                    throw new FsException(FsException.Kind.IO, "weightfs is unmounting");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new FsException(FsException.Kind.INTERRUPTED, "interrupted");
            } catch (ExecutionException e) {
                if (e.getCause() instanceof io.weightfs.store.NoSpaceException) {
                    return false;
                }
                Optional<String> gaveUp = prefetcher.failure(f.file().file().hash());
                if (gaveUp.isPresent() || tries >= READ_ATTEMPTS || closing.isDone()) {
                    String why = gaveUp.orElse(e.getCause() == null ? e.toString() : e.getCause().getMessage());
                    LOG.warn("read of {} at {} failed: {}", f.mountPath(), offset, why);
                    throw new FsException(FsException.Kind.IO, f.mountPath() + ": " + why, e.getCause());
                }
            }
        }
    }

    private int readControl(FsTree.ControlNode c, Handle h, ByteBuffer dst, long offset) throws FsException {
        byte[] content = h.rendered();
        if (content == null) {
            content = waitResult().getBytes(StandardCharsets.UTF_8);
        }
        if (offset >= content.length) {
            return 0;
        }
        int n = (int) Math.min(dst.remaining(), content.length - offset);
        dst.put(content, (int) offset, n);
        return n;
    }

    /** Blocks until the fill is done (or the mount closes) and says how it ended. */
    private String waitResult() throws FsException {
        try {
            CompletableFuture.anyOf(prefetcher.completion(), closing).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FsException(FsException.Kind.INTERRUPTED, "interrupted");
        } catch (ExecutionException e) {
            throw new FsException(FsException.Kind.IO, "wait failed: " + e.getCause());
        }
        if (!prefetcher.completion().isDone()) {
            throw new FsException(FsException.Kind.IO, "weightfs is unmounting");
        }
        List<String> failed = failedFiles();
        if (failed.isEmpty()) {
            return "complete: " + tree.files().size() + " files verified\n";
        }
        return "failed: " + String.join(", ", failed) + "\n";
    }

    private List<String> failedFiles() {
        List<String> failed = new ArrayList<>();
        for (FsTree.FileNode f : tree.files()) {
            prefetcher.failure(f.file().file().hash()).ifPresent(why -> failed.add(f.mountPath()));
        }
        return failed;
    }

    @Override
    public void release(long handle) {
        handles.remove(handle);
    }

    @Override
    public FsStats statfs() {
        long bs = 4096;
        return new FsStats(bs, (tree.totalBytes() + bs - 1) / bs, 0, tree.nodeCount(), 255);
    }

    @Override
    public int getxattr(String path, String name, ByteBuffer dst) throws FsException {
        if (!(node(path) instanceof FsTree.FileNode f) || !name.equals(XATTR_HASH)) {
            throw new FsException(FsException.Kind.NO_ATTRIBUTE, name);
        }
        byte[] v = f.file().file().hash().toString().getBytes(StandardCharsets.US_ASCII);
        if (dst.remaining() >= v.length) {
            dst.put(v);
        }
        return v.length;
    }

    /** The same numbers {@code status.json} shows, as JSON text. */
    public String statusJson() {
        JsonObject o = new JsonObject();
        long bytesPresent = 0;
        long bytesVerified = 0;
        int filesVerified = 0;
        JsonArray files = new JsonArray();
        JsonArray failed = new JsonArray();
        for (FsTree.FileNode f : tree.files()) {
            var hash = f.file().file().hash();
            Optional<Blob> blob = prefetcher.blob(hash);
            boolean verified = blob.map(Blob::isVerified).orElse(false);
            long present = verified ? f.file().size() : blob.map(Blob::presentBytes).orElse(0L);
            Optional<String> failure = prefetcher.failure(hash);
            JsonObject fo = new JsonObject();
            fo.addProperty("path", f.mountPath());
            fo.addProperty("repo", f.file().repoId());
            fo.addProperty("size", f.file().size());
            fo.addProperty("present", present);
            fo.addProperty("verified", verified);
            fo.addProperty("hash", hash.toString());
            failure.ifPresent(w -> {
                fo.addProperty("error", io.weightfs.config.Redactor.redact(w)); // errors quote server text
                failed.add(f.mountPath());
            });
            files.add(fo);
            bytesPresent += present;
            if (verified) {
                bytesVerified += f.file().size();
                filesVerified++;
            }
        }
        long elapsed = Math.max(1, clock.millis() - startMillis);
        o.addProperty("complete", prefetcher.completion().isDone() && failed.isEmpty());
        o.addProperty("done", prefetcher.completion().isDone());
        o.addProperty("indexReady", store.ready().isDone());
        o.addProperty("files", tree.files().size());
        o.addProperty("filesVerified", filesVerified);
        o.addProperty("bytes", tree.totalBytes());
        o.addProperty("bytesPresent", bytesPresent);
        o.addProperty("bytesVerified", bytesVerified);
        o.addProperty("bytesFetched", fetcher.bytesFetched());
        o.addProperty("elapsedMillis", elapsed);
        o.addProperty("averageRate", fetcher.bytesFetched() * 1000 / elapsed);
        JsonObject sources = new JsonObject();
        if (tiered == null) {
            sources.addProperty("hub", fetcher.bytesFetched(BlockFetcher.Priority.FOREGROUND)
                    + fetcher.bytesFetched(BlockFetcher.Priority.READAHEAD) + fetcher.bytesFetched(BlockFetcher.Priority.PREFETCH));
        } else {
            sources.addProperty("shared", tiered.bytesFrom("shared"));
            sources.addProperty("hub", tiered.bytesFrom("hub"));
        }
        o.add("bytesBySource", sources);
        JsonObject errors = new JsonObject();
        errors.addProperty("fetchFailures", fetcher.failures());
        errors.addProperty("hashMismatches", store.hashMismatches());
        errors.addProperty("crcMismatches", store.crcMismatches());
        errors.addProperty("notCachedForSpace", store.lowSpaceRefusals());
        o.addProperty("evictedBlobs", store.evictedBlobs());
        if (tiered != null) {
            errors.addProperty("sharedBadBlocks", tiered.badSharedBlocks());
            errors.addProperty("sharedFallbacks", tiered.fallbacks());
        }
        o.add("errors", errors);
        o.addProperty("foregroundWaits", foregroundWaits.get());
        o.addProperty("readThroughs", readThroughs.get());
        o.addProperty("blocksFetchedByOtherProcesses", fetcher.blocksFetchedByOthers());
        JsonObject byClass = new JsonObject();
        for (BlockFetcher.Priority p : BlockFetcher.Priority.values()) {
            byClass.addProperty(p.name().toLowerCase(java.util.Locale.ROOT), fetcher.bytesFetched(p));
        }
        o.add("bytesByClass", byClass);
        o.addProperty("scheduler", fetcher.options().mode().name().toLowerCase(java.util.Locale.ROOT));
        o.addProperty("connections", fetcher.connectionLimit());
        JsonArray profiles = new JsonArray();
        for (var p : prefetcher.profiles()) {
            JsonObject po = new JsonObject();
            po.addProperty("repo", p.repoId());
            po.addProperty("commit", p.commit());
            po.addProperty("used", true);
            po.addProperty("blocks", p.reads().size());
            profiles.add(po);
        }
        o.add("profiles", profiles);
        o.add("failed", failed);
        o.add("fileStatus", files);
        return o.toString();
    }

    private FsTree.Node node(String path) throws FsException {
        FsTree.Node n = tree.lookup(path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path);
        if (n == null) {
            throw new FsException(FsException.Kind.NOT_FOUND, path);
        }
        return n;
    }

    /** The content hashes of files open now: the store must not evict them. */
    public java.util.Set<io.weightfs.manifest.ContentHash> openHashes() {
        java.util.Set<io.weightfs.manifest.ContentHash> out = new java.util.HashSet<>();
        for (Handle h : handles.values()) {
            if (h.node() instanceof FsTree.FileNode f) {
                out.add(f.file().file().hash());
            }
        }
        return out;
    }

    /** Fails every read that is waiting for a block or for the fill. */
    @Override
    public void close() {
        closing.complete(null);
        readThroughThreads.shutdown();
    }
}
