package io.weightfs.fetch;

import io.weightfs.manifest.ContentHash;
import io.weightfs.manifest.ContentHasher;
import io.weightfs.source.RepoFile;
import io.weightfs.source.SharedTier;
import io.weightfs.source.Source;
import io.weightfs.store.Blob;
import io.weightfs.store.BlockStore;
import io.weightfs.store.StoreOptions;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The eager download ({@code weightfs fetch}) on the same pipeline as the mount: the files'
 * blobs are filled by a {@link BlockFetcher} and a {@link Prefetcher} (runs of blocks pulled in
 * large reads, hashed as they are written, durable progress in a state file), and each file is
 * moved into place only once its content verified. A file at its final path is therefore always
 * complete and verified.
 *
 * <p><b>Where the bytes go first.</b> Without a node store, each blob is filled in a hidden
 * temporary file beside its destination ({@code .wfs-<hash>.incomplete} with its
 * {@code .state}, names that stay far below 255 bytes whatever the destination's name), which
 * a crashed run's successor resumes from the last durable byte, and which is renamed into place
 * when verified. With a node store ({@code --store}), the node store is filled (and read: blobs it
 * has are not fetched again) like a mount fills it, and verified blobs are copied out
 * (in-kernel, {@code copy_file_range}).
 *
 * <p><b>Re-runs.</b> A verified file carries a {@code user.weightfs.verified} extended attribute
 * (hash, size, mtime). A later run trusts a file whose attribute still matches and re-hashes one
 * without it: either way, nothing is downloaded for a file that is already right.
 *
 * <p><b>Threads.</b> The fetcher's workers download; a verify pool checks existing files; one
 * thread moves verified files into place. The calling thread only waits.
 */
public final class EagerFetcher {
    private static final Logger LOG = LoggerFactory.getLogger(EagerFetcher.class);
    private static final String XATTR = "weightfs.verified";
    static final String INCOMPLETE_SUFFIX = ".incomplete";
    static final String INCOMPLETE_PREFIX = ".wfs-";

    /**
     * @param connections parallel ranged requests at most (the tuner climbs to them while they help)
     * @param blockSize the unit of durable progress and of claims
     * @param timeout the whole fetch's deadline (zero: none); files not verified by then fail
     * @param retryBase the first retry delay of a blob whose fetch or hash failed
     */
    public record Options(int connections, int blockSize, Duration timeout, Duration retryBase) {
        public static final Options DEFAULTS = new Options(8, StoreOptions.DEFAULT_BLOCK_SIZE, Duration.ZERO, Prefetcher.DEFAULT_RETRY_BASE);

        public Options {
            if (connections < 1 || blockSize < 4096 || timeout.isNegative()) {
                throw new IllegalArgumentException("connections >= 1, a block size of at least 4 KiB and a non-negative timeout, please");
            }
        }

        public Options withConnections(int n) {
            return new Options(n, blockSize, timeout, retryBase);
        }

        public Options withTimeout(Duration t) {
            return new Options(connections, blockSize, t, retryBase);
        }
    }

    /** One file to fetch. */
    public record Job(Path destination, RepoFile file) {
        public Job {
            Objects.requireNonNull(destination, "destination");
            Objects.requireNonNull(file, "file");
        }
    }

    /** How one file ended. */
    public enum Status { ALREADY_VERIFIED, DOWNLOADED, FAILED }

    public record Outcome(Job job, Status status, String error) {}

    private final Source source;
    private final Options options;
    private final BlockStore nodeStore;
    private final Optional<SharedTier> shared;

    /** An eager fetch that stages each file beside its destination. */
    public EagerFetcher(Source source, Options options) {
        this(source, options, null, Optional.empty());
    }

    /**
     * @param nodeStore the node store to fill and read (null: stage beside the destinations)
     * @param shared the region's shared tier (leases, so nodes fetching together fetch each blob once)
     */
    public EagerFetcher(Source source, Options options, BlockStore nodeStore, Optional<SharedTier> shared) {
        this.source = source;
        this.options = options;
        this.nodeStore = nodeStore;
        this.shared = shared;
    }

    /** The hidden file a blob is filled in before it is renamed to {@code destination}. */
    static Path stagingPath(Path destination, ContentHash hash) {
        return destination.resolveSibling(INCOMPLETE_PREFIX + hash.hex().substring(0, 24) + INCOMPLETE_SUFFIX);
    }

    /** Fetches every job; returns when each file is verified or has failed. */
    public List<Outcome> fetch(List<Job> jobs, FetchProgress progress) throws InterruptedException {
        List<Job> sorted = new ArrayList<>(jobs);
        sorted.sort(Comparator.comparingLong((Job j) -> j.file().size()).thenComparing(Job::destination));
        progress.begin(sorted.size(), sorted.stream().mapToLong(j -> j.file().size()).sum());
        Map<Job, Outcome> outcomes = new ConcurrentHashMap<>();
        List<Job> needed = checkExisting(sorted, progress, outcomes);
        // One fetch per content hash; every destination of it gets the verified bytes.
        Map<ContentHash, List<Job>> byHash = new LinkedHashMap<>();
        for (Job j : needed) {
            byHash.computeIfAbsent(j.file().file().hash(), h -> new ArrayList<>()).add(j);
        }
        if (!byHash.isEmpty()) {
            fill(byHash, progress, outcomes);
        }
        List<Outcome> out = new ArrayList<>();
        for (Job j : sorted) {
            out.add(outcomes.getOrDefault(j, new Outcome(j, Status.FAILED, "not finished")));
        }
        return out;
    }

    /** Finds the destinations that are already right; returns the jobs still to do. */
    private List<Job> checkExisting(List<Job> jobs, FetchProgress progress, Map<Job, Outcome> outcomes) throws InterruptedException {
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Runtime.getRuntime().availableProcessors()),
                Thread.ofPlatform().daemon(true).name("weightfs-verify-existing-", 0).factory());
        try {
            List<Future<Boolean>> done = new ArrayList<>();
            for (Job j : jobs) {
                done.add(pool.submit(() -> alreadyRight(j)));
            }
            List<Job> needed = new ArrayList<>();
            for (int i = 0; i < jobs.size(); i++) {
                Job j = jobs.get(i);
                boolean right;
                try {
                    right = done.get(i).get();
                } catch (java.util.concurrent.ExecutionException e) {
                    outcomes.put(j, fail(j, progress, "cannot check " + j.destination() + ": " + e.getCause().getMessage()));
                    continue;
                }
                if (right) {
                    progress.alreadyPresent(j.file().size());
                    progress.fileDone();
                    outcomes.put(j, new Outcome(j, Status.ALREADY_VERIFIED, null));
                } else {
                    needed.add(j);
                }
            }
            return needed;
        } finally {
            pool.shutdownNow();
        }
    }

    private static boolean alreadyRight(Job j) throws IOException {
        Path dest = j.destination();
        if (!Files.isRegularFile(dest) || Files.size(dest) != j.file().size()) {
            return false;
        }
        ContentHash want = j.file().file().hash();
        if (recordedAs(dest, want) || ContentHasher.hashFile(dest, want.algorithm()).equals(want)) {
            record(dest, want);
            return true;
        }
        LOG.info("{} exists but does not match {}; downloading it again", dest, want);
        return false;
    }

    private static Outcome fail(Job j, FetchProgress progress, String message) {
        LOG.error("{}", message);
        progress.failed();
        return new Outcome(j, Status.FAILED, message);
    }

    /** Fills the blobs of {@code byHash} through the pipeline and moves each into place as it verifies. */
    private void fill(Map<ContentHash, List<Job>> byHash, FetchProgress progress, Map<Job, Outcome> outcomes) throws InterruptedException {
        Map<ContentHash, Path> staging = new ConcurrentHashMap<>();
        for (Map.Entry<ContentHash, List<Job>> e : byHash.entrySet()) {
            staging.put(e.getKey(), stagingPath(e.getValue().get(0).destination(), e.getKey()));
        }
        StoreOptions storeOptions = new StoreOptions(options.blockSize(), StoreOptions.DEFAULT_SYNC_INTERVAL_MILLIS, 0, 0);
        BlockStore store = nodeStore != null ? nodeStore
                : BlockStore.staging(byHash.values().iterator().next().get(0).destination().getParent(), storeOptions, staging::get);
        java.util.Set<ContentHash> moved = ConcurrentHashMap.newKeySet();
        ExecutorService mover = Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon(true).name("weightfs-fetch-move").factory());
        BlockFetcher fetcher = new BlockFetcher(source, new BlockFetcher.Options(options.connections(), 1, Math.max(1, options.connections() / 4),
                BlockFetcher.Scheduling.PRIORITY), Clock.systemUTC());
        fetcher.onDelivered(progress::downloaded);
        BlockStore.BlobListener mover2 = new BlockStore.BlobListener() {
            @Override
            public void blobVerified(Blob blob) {
                List<Job> js = byHash.get(blob.hash());
                if (js != null && moved.add(blob.hash())) {
                    mover.execute(() -> moveIntoPlace(store, blob, js, progress, outcomes));
                }
            }

            @Override
            public void blobCorrupt(Blob blob, ContentHash actual) {
                if (byHash.containsKey(blob.hash())) {
                    progress.hashMismatch();
                    progress.retrying(blob.size());
                }
            }
        };
        store.addListener(mover2);
        List<RepoFile> files = new ArrayList<>();
        for (Map.Entry<ContentHash, List<Job>> e : byHash.entrySet()) {
            RepoFile f = e.getValue().get(0).file();
            files.add(f);
            try {
                Blob b = store.blob(f.file().hash(), f.size());
                if (b.isVerifiedDurably() && moved.add(b.hash())) {
                    // Verified already (the node store had it, or a run crashed before moving it): no event will come.
                    List<Job> js = e.getValue();
                    mover.execute(() -> moveIntoPlace(store, b, js, progress, outcomes));
                }
                long kept = b.isVerified() ? f.size() : b.presentBytes();
                if (kept > 0) {
                    progress.alreadyPresent(kept);
                    LOG.info("{}: {} of {} bytes kept from an earlier run", f.describe(), kept, f.size());
                }
            } catch (IOException ex) {
                for (Job j : e.getValue()) {
                    outcomes.put(j, fail(j, progress, "cannot prepare " + staging.get(e.getKey()) + ": " + ex.getMessage()));
                }
            }
        }
        Prefetcher fill = new Prefetcher(store, fetcher, files, List.of(), options.connections() * BlockFetcher.Options.DEFAULT_MAX_RUN_BLOCKS * 2,
                options.retryBase(), shared);
        try {
            fill.start();
            try {
                if (options.timeout().isZero()) {
                    fill.completion().get();
                } else {
                    fill.completion().get(options.timeout().toMillis(), TimeUnit.MILLISECONDS);
                }
            } catch (java.util.concurrent.ExecutionException impossible) {
                throw new IllegalStateException(impossible);
            } catch (TimeoutException e) {
                LOG.error("weightfs fetch: not finished within --timeout {} s", options.timeout().toSeconds());
            }
            mover.shutdown();
            mover.awaitTermination(10, TimeUnit.MINUTES);
            for (Map.Entry<ContentHash, List<Job>> e : byHash.entrySet()) {
                for (Job j : e.getValue()) {
                    if (outcomes.containsKey(j)) {
                        continue;
                    }
                    String why = fill.failure(e.getKey()).map(w -> "downloading " + j.file().describe() + " failed: " + w
                            + " (nothing was written to " + j.destination() + ")")
                            .orElse("not verified within --timeout " + options.timeout().toSeconds() + " s; what arrived is kept in "
                                    + staging.get(e.getKey()) + " for the next run");
                    outcomes.put(j, fail(j, progress, why));
                }
                if (nodeStore == null) {
                    dropIfEmpty(store, e.getKey(), byHash.get(e.getKey()).get(0).file().size(), staging.get(e.getKey()));
                }
            }
        } finally {
            mover.shutdownNow();
            fill.close();
            fetcher.close();
            store.removeListener(mover2);
            if (nodeStore == null) {
                store.close();
            }
        }
    }

    /**
     * A blob that failed with nothing of it kept (wrong content, a source that never had it)
     * leaves no temporary file behind; one with durable progress is kept for the next run.
     */
    private static void dropIfEmpty(BlockStore store, ContentHash h, long size, Path staged) {
        try {
            Optional<Blob> b = store.openedBlob(h);
            if (b.isPresent() && (b.get().isVerified() || b.get().presentBytes() > 0 || anyDurable(b.get()))) {
                return;
            }
            if (b.isPresent()) {
                store.release(b.get());
            }
            Files.deleteIfExists(staged);
            Files.deleteIfExists(staged.resolveSibling(staged.getFileName() + ".state"));
        } catch (IOException e) {
            LOG.debug("cannot remove {}: {}", staged, e.toString());
        }
    }

    private static boolean anyDurable(Blob b) {
        for (int i = 0; i < b.blockCount(); i++) {
            if (b.durableBytes(i) > 0) {
                return true;
            }
        }
        return false;
    }

    /** A verified blob: its first destination gets the file (renamed or copied), the others copies. */
    private void moveIntoPlace(BlockStore store, Blob blob, List<Job> jobs, FetchProgress progress, Map<Job, Outcome> outcomes) {
        ContentHash h = blob.hash();
        for (int i = 0; i < jobs.size(); i++) {
            Job j = jobs.get(i);
            Path dest = j.destination();
            try {
                Files.createDirectories(dest.getParent());
                if (nodeStore == null && i == 0) {
                    // The blob stays open (and registered, so nothing opens it afresh) until the end;
                    // its file is renamed into place and its state is no longer needed.
                    Path staged = stagingPath(dest, h);
                    atomicMove(staged, dest);
                    Files.deleteIfExists(staged.resolveSibling(staged.getFileName() + ".state"));
                } else {
                    Path from = nodeStore != null ? store.blobPath(h) : jobs.get(0).destination();
                    copyIntoPlace(from, dest, h);
                }
                syncDir(dest.getParent());
                record(dest, h);
                progress.fileDone();
                outcomes.put(j, new Outcome(j, Status.DOWNLOADED, null));
            } catch (IOException | RuntimeException e) {
                outcomes.put(j, fail(j, progress, "moving the verified " + j.file().describe() + " into place at " + dest + " failed: "
                        + e.getMessage()));
            }
        }
    }

    /** Copies {@code from} beside {@code dest} in the kernel (copy_file_range), syncs, renames into place. */
    private static void copyIntoPlace(Path from, Path dest, ContentHash h) throws IOException {
        Path tmp = stagingPath(dest, h).resolveSibling(INCOMPLETE_PREFIX + h.hex().substring(0, 24) + ".copy" + INCOMPLETE_SUFFIX);
        try (FileChannel in = FileChannel.open(from, StandardOpenOption.READ);
                FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            long size = in.size();
            long pos = 0;
            while (pos < size) {
                pos += in.transferTo(pos, size - pos, out);
            }
            out.force(true);
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        atomicMove(tmp, dest);
    }

    private static void atomicMove(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** The rename itself must survive a power cut, or the next run would miss the file. */
    private static void syncDir(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException ignored) {
            // Some filesystems refuse to sync a directory; the data itself is already durable.
        }
    }

    /** Records a successful verification in an extended attribute, where the filesystem has them. */
    private static void record(Path file, ContentHash hash) {
        UserDefinedFileAttributeView view = Files.getFileAttributeView(file, UserDefinedFileAttributeView.class);
        if (view == null) {
            return;
        }
        try {
            view.write(XATTR, StandardCharsets.US_ASCII.encode(stamp(file, hash)));
        } catch (IOException | UnsupportedOperationException e) {
            LOG.debug("no user xattrs on {}: {}", file, e.toString());
        }
    }

    /** Whether the file carries a verification record for exactly this hash, size and mtime. */
    private static boolean recordedAs(Path file, ContentHash want) {
        UserDefinedFileAttributeView view = Files.getFileAttributeView(file, UserDefinedFileAttributeView.class);
        if (view == null) {
            return false;
        }
        try {
            ByteBuffer b = ByteBuffer.allocate(view.size(XATTR));
            view.read(XATTR, b);
            b.flip();
            return StandardCharsets.US_ASCII.decode(b).toString().equals(stamp(file, want));
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    private static String stamp(Path file, ContentHash hash) throws IOException {
        return hash + " " + Files.size(file) + " " + Files.getLastModifiedTime(file).toMillis();
    }
}
