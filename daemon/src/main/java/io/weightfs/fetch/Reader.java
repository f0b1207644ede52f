package io.weightfs.fetch;

import io.weightfs.hub.ByteStream;
import io.weightfs.hub.Deadline;
import io.weightfs.manifest.ContentHash;
import io.weightfs.source.RepoFile;
import io.weightfs.store.Blob;
import io.weightfs.store.BlockStore;
import io.weightfs.store.NoSpaceException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one way the filesystem gets bytes: {@link #read} returns when the bytes are in the caller's
 * buffer, or fails with a {@link FetchException} that says why. All of the read policy is here:
 *
 * <ul>
 *   <li>a verified blob is read straight from the store;</li>
 *   <li>a sequential stream's predicted next bytes are asked for at READAHEAD priority;</li>
 *   <li>a small random read of blocks nobody but the fill wants yet fetches exactly its own bytes
 *       from the source (one small ranged request) instead of waiting for whole blocks;</li>
 *   <li>anything else waits for just the bytes it needs (not whole blocks: a block being written is
 *       readable as far as it got), asked for at FOREGROUND priority, pausing the fill while it
 *       waits unless it is a sequential stream (the fill runs in the order streams read);</li>
 *   <li>what may be served before the whole blob is verified ({@link Verify}): one-block files
 *       never are; with {@link Verify#BEFORE_SERVE} no block is unless it was checked against its
 *       own hash (the shared tier's block lists);</li>
 *   <li>bytes served before verification are remembered ({@link ServedRanges}) and compared once
 *       the blob verifies; an open file that was served bytes that turned out wrong fails every
 *       later read with {@link FetchException.Kind#SERVED_WRONG}, and the files are reported;</li>
 *   <li>every wait is bounded by the read's deadline ({@code --read-timeout}); when the store is
 *       full the bytes come straight from the source.</li>
 * </ul>
 *
 * <p><b>Threads.</b> Called on the filesystem's threads, many at once; owns a virtual-thread executor
 * for direct reads only, so that {@link #close()} can fail a read at once without anything writing
 * into the caller's buffer afterwards.
 */
public final class Reader implements BlockStore.BlobListener, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Reader.class);
    /** A read whose bytes were discarded while it read (a failed hash) tries this often. */
    private static final int READ_ATTEMPTS = 3;
    /**
     * A read of at most this many bytes whose blocks are not on their way yet fetches its own bytes
     * straight from the source instead of waiting for whole 8 MiB blocks: the kernel asks for at
     * most 1 MiB at a time.
     */
    static final int READ_THROUGH_MAX = 1 << 20;

    /** What may be served before a blob's whole content is verified. */
    public enum Verify {
        /**
         * Bytes of a multi-block file are served as they arrive; the whole blob is hashed when the
         * last one lands, and bytes served before that are checked then (and reported if wrong).
         */
        LAZY,
        /**
         * A multi-block file is served only once its whole hash matched, unless its blocks were
         * checked against per-block hashes as they arrived (from the shared tier): lazy order,
         * eager trust. A reader of a file waits for all of it.
         */
        BEFORE_SERVE
    }

    /**
     * Read settings.
     *
     * @param readTimeout how long a read may wait for its bytes before it fails with EIO
     * @param verify what may be served before verification
     * @param readThrough whether a small random read may fetch just its own bytes (bypassing the
     *     store) while the fill has not got to its blocks; off without a background fill, where
     *     nothing else would ever store those blocks
     */
    public record Options(Duration readTimeout, Verify verify, boolean readThrough) {
        /** 60 s: a reader blocked longer than this is better told why than left hanging. */
        public static final Duration DEFAULT_READ_TIMEOUT = Duration.ofSeconds(60);
        public static final Options DEFAULTS = new Options(DEFAULT_READ_TIMEOUT, Verify.LAZY, true);

        public Options(Duration readTimeout, Verify verify) {
            this(readTimeout, verify, true);
        }

        public Options withReadThrough(boolean on) {
            return new Options(readTimeout, verify, on);
        }
    }

    /**
     * What the filesystem knows of a read's place in its file's access pattern.
     *
     * @param sequential whether the read continues a sequential stream
     * @param aheadFrom the start of the bytes the stream will read next (its readahead window)
     * @param aheadTo the end of that window (== aheadFrom: none)
     */
    public record Access(boolean sequential, long aheadFrom, long aheadTo) {
        public static final Access RANDOM = new Access(false, 0, 0);
    }

    /** An open file, as the reader tracks it: which discards of its blob it has seen. */
    public static final class OpenFile {
        final RepoFile file;
        /** The blob's discard count when this file first served unverified bytes (-1: none served). */
        volatile long servedAtDiscards = -1;

        private OpenFile(RepoFile file) {
            this.file = file;
        }

        public RepoFile file() {
            return file;
        }
    }

    private final BlockStore store;
    private final BlockFetcher fetcher;
    private final Function<ContentHash, Optional<String>> gaveUp;
    private final AccessRecorder recorder;
    private final Options options;
    private final CompletableFuture<Void> closing = new CompletableFuture<>();
    private final ExecutorService directThreads = Executors.newVirtualThreadPerTaskExecutor();
    private final ServedRanges served = new ServedRanges();
    private final VerifiedInMemory inMemory = new VerifiedInMemory();
    /** How often each blob's content was discarded (a failed hash) in this process. */
    private final Map<ContentHash, AtomicLong> discards = new ConcurrentHashMap<>();
    /** Files whose served bytes turned out wrong (or never verified), with why. */
    private final Map<ContentHash, String> servedWrong = new ConcurrentHashMap<>();
    private final List<Consumer<ContentHash>> discardListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final AtomicLong foregroundWaits = new AtomicLong();
    private final AtomicLong readThroughs = new AtomicLong();
    private final AtomicLong timeouts = new AtomicLong();
    private final AtomicLong directForSpace = new AtomicLong();
    private final AtomicLong bytesFromStore = new AtomicLong();
    /** Told how long each wait for bytes took, in nanoseconds (the metrics' foreground-wait histogram). */
    private volatile java.util.function.LongConsumer waitObserver = nanos -> {};
    private final Map<ContentHash, Boolean> timeoutLogged = new ConcurrentHashMap<>();

    /**
     * @param gaveUp why the fill gave up on a blob for good, if it did
     * @param recorder where programs' first reads are recorded (null: not recorded)
     */
    public Reader(BlockStore store, BlockFetcher fetcher, Function<ContentHash, Optional<String>> gaveUp, AccessRecorder recorder,
            Options options) {
        this.store = store;
        this.fetcher = fetcher;
        this.gaveUp = gaveUp;
        this.recorder = recorder;
        this.options = options;
        store.addListener(this);
    }

    public Options options() {
        return options;
    }

    /** Tells {@code l} of every blob whose content was discarded (the kernel's cache of its files must go). */
    public void onDiscard(Consumer<ContentHash> l) {
        discardListeners.add(l);
    }

    public OpenFile open(RepoFile file) {
        return new OpenFile(file);
    }

    /** Whether a file's content is verified now (its pages may stay in the kernel's cache across opens). */
    public boolean isVerified(RepoFile file) {
        Optional<Blob> b = store.openedBlob(file.file().hash());
        return b.isPresent() && b.get().isVerified();
    }

    /**
     * Reads up to {@code dst.remaining()} bytes of {@code f} at {@code offset} into {@code dst}.
     * Returns the number of bytes read: fewer only at the end of the file.
     */
    public int read(OpenFile f, long offset, ByteBuffer dst, Access access) throws FetchException {
        return read(f, offset, dst, access, NEVER);
    }

    /** Never completes: a read nobody can interrupt. */
    private static final CompletableFuture<Void> NEVER = new CompletableFuture<>();

    /** What bounds one read's waiting: its deadline, and its interruption. */
    private record Wait(Deadline deadline, CompletableFuture<?> interrupted) {}

    /** The local file holding a verified blob's content, if the blob is verified now (for passthrough). */
    public Optional<java.nio.file.Path> verifiedFile(RepoFile file) {
        Optional<Blob> b = store.openedBlob(file.file().hash());
        if (b.isPresent() && b.get().isVerifiedDurably() && !b.get().isRetired()) {
            return Optional.of(store.blobPath(file.file().hash()));
        }
        return Optional.empty();
    }

    /**
     * {@link #read}, failing with {@link FetchException.Kind#INTERRUPTED} as soon as
     * {@code interrupted} completes (the reader's process was signalled) while it waits.
     */
    public int read(OpenFile f, long offset, ByteBuffer dst, Access access, CompletableFuture<?> interrupted) throws FetchException {
        RepoFile file = f.file;
        long size = file.size();
        if (offset >= size || !dst.hasRemaining()) {
            return 0;
        }
        long end = Math.min(size, offset + dst.remaining());
        int startPos = dst.position();
        int oldLimit = dst.limit();
        dst.limit(startPos + (int) (end - offset));
        ContentHash hash = file.file().hash();
        try {
            checkServedWrong(f, hash);
            Deadline deadline = Deadline.in(options.readTimeout(), "the read's deadline (--read-timeout " + options.readTimeout().toSeconds() + "s)");
            Wait wait = new Wait(deadline, interrupted);
            Blob blob;
            try {
                blob = blob(file);
            } catch (NoSpaceException full) {
                // Not even room for the blob's files: the bytes come straight from the source.
                boolean mustVerify = file.size() <= store.options().blockSize() || options.verify() == Verify.BEFORE_SERVE;
                return readWithoutStore(f, file, offset, end, dst, startPos, mustVerify, wait);
            }
            if (recorder != null) {
                for (int b = blob.blockOf(offset); b <= blob.blockOf(end - 1); b++) {
                    recorder.record(file, blob.blockOffset(b));
                }
            }
            blob.noteUse();
            boolean verified = blob.isVerified();
            if (!verified && access.sequential() && access.aheadTo() > access.aheadFrom()) {
                for (int b = blob.blockOf(access.aheadFrom()); b <= blob.blockOf(access.aheadTo() - 1); b++) {
                    if (!blob.isPresent(b)) {
                        fetcher.demand(file, blob, b, BlockFetcher.Priority.READAHEAD);
                    }
                }
            }
            for (int attempt = 1; ; attempt++) {
                failIfGaveUp(file);
                long gen = blob.generation();
                boolean unverified = !blob.isVerified();
                if (unverified) {
                    if (attempt == 1 && !access.sequential() && mayReadThrough(blob, offset, end)) {
                        ByteBuffer own = direct(file, offset, (int) (end - offset), wait);
                        if (own != null) {
                            readThroughs.incrementAndGet();
                            return serveUnverified(f, hash, offset, own, dst, startPos);
                        }
                    }
                    boolean mustVerify = mustVerifyFirst(blob, offset, end);
                    boolean noRoom = store.spaceProblem() != null;
                    if ((noRoom && !written(blob, offset, end)) || !awaitBytes(file, blob, offset, end, access.sequential(), wait)
                            || (mustVerify && noRoom && !allPresent(blob))) {
                        // The store has no room: the bytes come straight from the source.
                        return readWithoutStore(f, file, offset, end, dst, startPos, mustVerify, wait);
                    }
                    if (mustVerify) {
                        if (!awaitVerified(file, blob, wait)) {
                            if (store.spaceProblem() != null) {
                                return readWithoutStore(f, file, offset, end, dst, startPos, true, wait);
                            }
                            if (attempt >= READ_ATTEMPTS) {
                                throw new FetchException(FetchException.Kind.FAILED, describe(file) + ": content hash mismatch, " + attempt
                                        + " times; nothing wrong was served");
                            }
                            blob = blob(file);
                            continue;
                        }
                        unverified = false;
                    }
                    if (!checkedOnFirstUse(blob, offset, end)) {
                        blob = blob(file);
                        continue; // a block failed its CRC and was dropped: fetch it again
                    }
                }
                int n = blob.read(dst, offset);
                if (blob.generation() == gen) {
                    bytesFromStore.addAndGet(n);
                    if (unverified && !blob.isVerified()) {
                        served.record(hash, offset, dst.duplicate().flip().position(startPos), blob, gen);
                        f.servedAtDiscards = f.servedAtDiscards < 0 ? discards(hash) : f.servedAtDiscards;
                    }
                    return n;
                }
                // The blob was discarded while we read (its hash failed): read again once refetched.
                dst.position(startPos);
                blob = blob(file);
                if (attempt >= READ_ATTEMPTS) {
                    throw new FetchException(FetchException.Kind.FAILED, describe(file) + ": its content kept failing verification");
                }
            }
        } catch (FetchException e) {
            throw e;
        } catch (IOException e) {
            throw new FetchException(FetchException.Kind.IO, "reading " + describe(file) + " at " + offset + ": " + e.getMessage(), e);
        } finally {
            dst.limit(oldLimit);
        }
    }

    /** Whether {@code [offset, end)} is in the blob file already (present blocks, or written parts of blocks). */
    private static boolean written(Blob blob, long offset, long end) {
        for (int b = blob.blockOf(offset); b <= blob.blockOf(end - 1); b++) {
            long needed = Math.min(end, blob.blockOffset(b) + blob.blockLength(b)) - blob.blockOffset(b);
            if (!blob.isPresent(b) && blob.writtenBytes(b) < needed) {
                return false;
            }
        }
        return true;
    }

    private static boolean allPresent(Blob blob) {
        for (int b = 0; b < blob.blockCount(); b++) {
            if (!blob.isPresent(b)) {
                return false;
            }
        }
        return true;
    }

    /**
     * A read while the store has no room: straight from the source. A file that must be verified
     * before it is served (one block; any with {@code --verify before-serve}) is fetched whole into
     * memory and hash-checked first (a few such files are kept, {@link VerifiedInMemory}); others
     * are read as the range asked, unverified, and remembered like any bytes served early.
     */
    private int readWithoutStore(OpenFile f, RepoFile file, long offset, long end, ByteBuffer dst, int startPos, boolean mustVerify,
            Wait wait) throws FetchException {
        directForSpace.incrementAndGet();
        if (mustVerify) {
            byte[] whole = inMemory.get(file.file().hash());
            if (whole == null) {
                if (file.size() > VerifiedInMemory.MAX_FILE_BYTES) {
                    throw new FetchException(FetchException.Kind.IO, describe(file) + ": the node store is full ("
                            + store.spaceProblem() + "), and a file of " + file.size() + " bytes cannot be verified before it is"
                            + " served without it: free space on the store's filesystem, or mount with --verify lazy");
                }
                ByteBuffer all = direct(file, 0, (int) file.size(), wait);
                if (all == null) {
                    throw new FetchException(FetchException.Kind.IO, describe(file) + ": the node store is full and the source"
                            + " could not be read directly");
                }
                byte[] bytes = new byte[all.remaining()];
                all.get(bytes);
                ContentHash got = io.weightfs.manifest.ContentHasher.hash(bytes, file.file().hash().algorithm());
                if (!got.equals(file.file().hash())) {
                    throw new FetchException(FetchException.Kind.IO, describe(file) + ": the bytes read straight from the source"
                            + " (the node store is full) hashed to " + got + "; nothing wrong was served");
                }
                whole = bytes;
                inMemory.put(file.file().hash(), bytes);
            }
            int n = (int) (end - offset);
            dst.put(whole, (int) offset, n);
            return n;
        }
        ByteBuffer own = direct(file, offset, (int) (end - offset), wait);
        if (own == null) {
            throw new FetchException(FetchException.Kind.IO, describe(file) + ": the node store is full and the source"
                    + " could not be read directly");
        }
        return serveUnverified(f, file.file().hash(), offset, own, dst, startPos);
    }

    private int serveUnverified(OpenFile f, ContentHash hash, long offset, ByteBuffer own, ByteBuffer dst, int startPos) {
        served.record(hash, offset, own.duplicate(), null, -1);
        if (f.servedAtDiscards < 0) {
            f.servedAtDiscards = discards(hash);
        }
        dst.put(own);
        return dst.position() - startPos;
    }

    private Blob blob(RepoFile file) throws IOException {
        return store.blob(file.file().hash(), file.size());
    }

    private static String describe(RepoFile file) {
        return file.describe();
    }

    /** A file the fill gave up on is not fetched again by reads: they fail at once. */
    private void failIfGaveUp(RepoFile file) throws FetchException {
        Optional<String> why = gaveUp.apply(file.file().hash());
        if (why.isPresent()) {
            throw new FetchException(FetchException.Kind.FAILED, describe(file) + ": " + why.get());
        }
    }

    /** An open file that was served bytes that turned out wrong (or were discarded since) fails from now on. */
    private void checkServedWrong(OpenFile f, ContentHash hash) throws FetchException {
        long seen = f.servedAtDiscards;
        if (seen >= 0 && discards(hash) != seen) {
            String why = servedWrong.getOrDefault(hash, "its content was discarded after bytes of it were served unverified");
            throw new FetchException(FetchException.Kind.SERVED_WRONG, describe(f.file) + ": " + why
                    + "; the bytes read through this open file may be wrong: reopen the file (restart the reader)");
        }
    }

    private long discards(ContentHash hash) {
        AtomicLong n = discards.get(hash);
        return n == null ? 0 : n.get();
    }

    /**
     * Whether a read may fetch its own bytes: priorities on, lazy verification, a small read of a
     * multi-block blob whose blocks nobody but the fill wants yet and no worker has started.
     */
    private boolean mayReadThrough(Blob blob, long offset, long end) {
        if (!options.readThrough() || fetcher.options().mode() != BlockFetcher.Scheduling.PRIORITY || options.verify() != Verify.LAZY
                || end - offset > READ_THROUGH_MAX || blob.blockCount() <= 1) {
            return false;
        }
        for (int b = blob.blockOf(offset); b <= blob.blockOf(end - 1); b++) {
            long needed = Math.min(end, blob.blockOffset(b) + blob.blockLength(b)) - blob.blockOffset(b);
            if (blob.isPresent(b) || blob.writtenBytes(b) >= needed || !fetcher.onlyPrefetchWants(blob, b)) {
                return false;
            }
        }
        return true;
    }

    /** One-block files are never served before they verify; with BEFORE_SERVE, no unchecked block is. */
    private boolean mustVerifyFirst(Blob blob, long offset, long end) {
        if (blob.blockCount() <= 1) {
            return true;
        }
        if (options.verify() == Verify.LAZY) {
            return false;
        }
        for (int b = blob.blockOf(offset); b <= blob.blockOf(end - 1); b++) {
            if (!blob.isBlockHashChecked(b)) {
                return true;
            }
        }
        return false;
    }

    /** Blocks written by another process or an earlier run are CRC-checked on first use; false if one failed. */
    private static boolean checkedOnFirstUse(Blob blob, long offset, long end) throws IOException {
        for (int b = blob.blockOf(offset); b <= blob.blockOf(end - 1); b++) {
            if (blob.isPresent(b) && !blob.ensureReadable(b)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Waits until {@code [offset, end)} is written. Returns false (fetching nothing) when the store
     * has no room, so the caller reads from the source directly.
     */
    private boolean awaitBytes(RepoFile file, Blob blob, long offset, long end, boolean sequential, Wait wait)
            throws FetchException {
        Deadline deadline = wait.deadline();
        for (int tries = 1; ; tries++) {
            CompletableFuture<Void> bytes = fetcher.awaitBytes(file, blob, offset, end, BlockFetcher.Priority.FOREGROUND);
            if (bytes.isDone() && !bytes.isCompletedExceptionally()) {
                return true;
            }
            foregroundWaits.incrementAndGet();
            // A random read pauses the fill while it waits; a sequential stream does not: the fill
            // runs in the order streams read, so pausing it would only slow the stream down.
            long waitStart = System.nanoTime();
            try (var waiting = sequential ? ForegroundGate.Waiting.NONE : fetcher.foregroundWaiting()) {
                await(bytes, file, offset, wait);
                return true;
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                if (cause instanceof NoSpaceException) {
                    return false;
                }
                Optional<String> why = gaveUp.apply(file.file().hash());
                if (why.isPresent() || tries >= READ_ATTEMPTS || closing.isDone() || deadline.passed()) {
                    String message = why.orElse(cause == null ? e.toString() : cause.getMessage());
                    LOG.warn("read of {} at {} failed: {}", describe(file), offset, message);
                    throw new FetchException(FetchException.Kind.IO, describe(file) + ": " + message, cause);
                }
            } finally {
                waitObserver.accept(System.nanoTime() - waitStart);
            }
        }
    }

    /** Waits for the whole blob to verify, asking for its missing blocks. False if its content was wrong. */
    private boolean awaitVerified(RepoFile file, Blob blob, Wait wait) throws FetchException {
        CompletableFuture<Boolean> v = blob.verification();
        if (!v.isDone()) {
            for (int b = 0; b < blob.blockCount(); b++) {
                if (!blob.isPresent(b)) {
                    fetcher.demand(file, blob, b, b == 0 ? BlockFetcher.Priority.FOREGROUND : BlockFetcher.Priority.READAHEAD);
                }
            }
        }
        try {
            return await(v, file, 0, wait);
        } catch (ExecutionException e) {
            throw new FetchException(FetchException.Kind.IO, describe(file) + ": " + e.getCause().getMessage(), e.getCause());
        }
    }

    /** Waits for {@code f}, the read's deadline or the unmount, whichever is first. */
    private <T> T await(CompletableFuture<T> f, RepoFile file, long offset, Wait wait) throws FetchException, ExecutionException {
        try {
            CompletableFuture.anyOf(f, closing, wait.interrupted()).get(wait.deadline().remainingNanos(), TimeUnit.NANOSECONDS);
            if (!f.isDone() && wait.interrupted().isDone()) {
                throw new FetchException(FetchException.Kind.INTERRUPTED, "interrupted: the reading process was signalled");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FetchException(FetchException.Kind.INTERRUPTED, "interrupted");
        } catch (TimeoutException e) {
            timeouts.incrementAndGet();
            String message = describe(file) + ": its bytes at " + offset + " did not arrive within " + options.readTimeout().toSeconds()
                    + " s (--read-timeout); the fill goes on in the background";
            if (timeoutLogged.putIfAbsent(file.file().hash(), true) == null) {
                LOG.warn("{}", message);
            }
            throw new FetchException(FetchException.Kind.TIMED_OUT, message);
        } catch (ExecutionException e) {
            if (!f.isDone()) {
                throw new FetchException(FetchException.Kind.CLOSED, "weightfs is unmounting");
            }
        }
        if (!f.isDone()) {
            throw new FetchException(FetchException.Kind.CLOSED, "weightfs is unmounting");
        }
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FetchException(FetchException.Kind.INTERRUPTED, "interrupted");
        }
    }

    /**
     * Reads a range from the source into a buffer of our own, on another thread, while this read
     * counts as waiting: if the mount goes away mid-request the read fails at once, and nothing
     * writes into the caller's buffer after the call has returned. Returns null (after logging) if
     * the source failed, so the caller can fall back to waiting for blocks.
     */
    private ByteBuffer direct(RepoFile file, long offset, int length, Wait wait) throws FetchException {
        Deadline deadline = wait.deadline();
        ByteBuffer own = ByteBuffer.allocate(length);
        CompletableFuture<Void> fetched = CompletableFuture.runAsync(() -> {
            try (ByteStream s = fetcher.source().open(file, offset, length, deadline)) {
                while (own.hasRemaining() && s.read(own) >= 0) {
                    // until the range is in
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, directThreads);
        try (var waiting = fetcher.foregroundWaiting()) {
            await(fetched, file, offset, wait);
            fetcher.countReadThrough(length);
            return own.flip();
        } catch (ExecutionException e) {
            LOG.debug("direct read of {} at {} failed ({}); waiting for its blocks instead", describe(file), offset, e.getCause());
            return null;
        }
    }

    // --- listener: verification results ---------------------------------------------------------

    @Override
    public void blobVerified(Blob blob) {
        if (!served.any(blob.hash())) {
            return;
        }
        try {
            int wrong = served.check(blob);
            if (wrong > 0) {
                String why = "bytes of it were read before they could be verified and were wrong (" + wrong
                        + " reads): restart the reader";
                servedWrong.put(blob.hash(), why);
                discards.computeIfAbsent(blob.hash(), h -> new AtomicLong()).incrementAndGet();
                LOG.error("{}: {}", blob.hash(), why);
            }
        } catch (IOException e) {
            LOG.warn("cannot compare the bytes served early of {} with its verified content: {}", blob.hash(), e.toString());
        }
    }

    @Override
    public void blobCorrupt(Blob blob, ContentHash actual) {
        ContentHash h = blob.hash();
        discards.computeIfAbsent(h, k -> new AtomicLong()).incrementAndGet();
        if (served.any(h) && served.overflowed(h)) {
            servedWrong.put(h, "bytes of it were read before they could be verified, and its content was wrong: restart the reader");
        }
        discardListeners.forEach(l -> l.accept(h));
    }

    /** The fill gave up on a blob: bytes served of it were never verified. */
    public void gaveUp(ContentHash h) {
        if (served.any(h)) {
            served.forget(h);
            servedWrong.put(h, "bytes of it were read before they could be verified, and it never verified: restart the reader");
            discards.computeIfAbsent(h, k -> new AtomicLong()).incrementAndGet();
            discardListeners.forEach(l -> l.accept(h));
        }
    }

    /** Blobs whose bytes were served and turned out wrong (or never verified), with why. */
    public Map<ContentHash, String> servedWrong() {
        return Map.copyOf(servedWrong);
    }

    public long foregroundWaits() {
        return foregroundWaits.get();
    }

    public long readThroughs() {
        return readThroughs.get();
    }

    /** Reads that failed because their bytes did not arrive within the deadline. */
    public long timeouts() {
        return timeouts.get();
    }

    /** Bytes of reads served from the node store (not counting those fetched for the read straight from the source). */
    public long bytesFromStore() {
        return bytesFromStore.get();
    }

    /** Tells {@code observer} how long each wait of a read for its bytes took, in nanoseconds (for metrics). */
    public void onForegroundWait(java.util.function.LongConsumer observer) {
        this.waitObserver = observer;
    }

    /** Reads served straight from the source because the store was full. */
    public long directForSpace() {
        return directForSpace.get();
    }

    /** Fails every read that is waiting. */
    @Override
    public void close() {
        closing.complete(null);
        directThreads.shutdown();
        store.removeListener(this);
    }
}
