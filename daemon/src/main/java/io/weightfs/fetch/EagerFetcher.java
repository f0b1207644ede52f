package io.weightfs.fetch;

import io.weightfs.manifest.ContentHash;
import io.weightfs.manifest.ContentHasher;
import io.weightfs.source.RepoFile;
import io.weightfs.source.Source;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The eager download ({@code weightfs fetch}): every file into its destination path, in parallel
 * ranged parts, each file verified against its content hash before it is renamed into place. A file
 * at its final path is therefore always complete and verified; a crash leaves at most a hidden
 * {@code .<name>.weightfs-incomplete} beside it, which the next run replaces.
 *
 * <p><b>Threads.</b> {@code connections} part workers pull parts from one queue (files ordered
 * small first, so config and tokenizer files land before the weights) and write them with
 * positional writes; the worker that lands a file's last part hands the file to the verify pool
 * ({@code verifyThreads}), which hashes it, renames it and records the verification. The calling
 * thread only waits. Nothing is held in memory beyond the source's stream buffers.
 *
 * <p><b>Re-runs.</b> A verified file carries a {@code user.weightfs.verified} extended attribute
 * (hash, size, mtime). A later run trusts a file whose attribute still matches and re-hashes one
 * without it (a filesystem without user xattrs, or a file copied in by hand): either way, nothing
 * is downloaded for a file that is already right.
 */
public final class EagerFetcher {
    private static final Logger LOG = LoggerFactory.getLogger(EagerFetcher.class);
    private static final String XATTR = "weightfs.verified";
    static final String INCOMPLETE_SUFFIX = ".weightfs-incomplete";
    /** A file whose hash does not match is downloaded once more before it counts as failed. */
    private static final int MAX_ATTEMPTS = 2;

    /**
     * @param connections parallel ranged requests
     * @param partSize bytes per ranged request; a multiple of nothing in particular, but large
     *     enough that a request's latency is small next to its transfer
     * @param verifyThreads threads hashing finished files
     */
    public record Options(int connections, long partSize, int verifyThreads) {
        /** 8 parallel 8 MiB parts keep a loopback or LAN link full on 2 cores (PLATFORM.md). */
        public static final Options DEFAULTS = new Options(8, 8L << 20, Math.max(1, Runtime.getRuntime().availableProcessors()));

        public Options {
            if (connections < 1 || partSize < 1 || verifyThreads < 1) {
                throw new IllegalArgumentException("connections, partSize and verifyThreads must be >= 1");
            }
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

    public EagerFetcher(Source source, Options options) {
        this.source = source;
        this.options = options;
    }

    /** Fetches every job; returns when each file is verified or has failed. */
    public List<Outcome> fetch(List<Job> jobs, FetchProgress progress) throws InterruptedException {
        List<FileState> files = new ArrayList<>();
        for (Job j : jobs) {
            files.add(new FileState(j));
        }
        files.sort(Comparator.comparingLong((FileState f) -> f.job.file().size()).thenComparing(f -> f.job.destination()));
        progress.begin(files.size(), jobs.stream().mapToLong(j -> j.file().size()).sum());

        BlockingQueue<Part> parts = new LinkedBlockingQueue<>();
        CountDownLatch done = new CountDownLatch(files.size());
        ExecutorService workers = Executors.newFixedThreadPool(options.connections(), named("weightfs-fetch"));
        ExecutorService verifiers = Executors.newFixedThreadPool(options.verifyThreads(), named("weightfs-verify"));
        Run run = new Run(parts, done, verifiers, progress);
        try {
            // Existing files are checked on the verify pool too: re-hashing is CPU work.
            for (FileState f : files) {
                verifiers.execute(() -> run.checkExisting(f));
            }
            for (int i = 0; i < options.connections(); i++) {
                workers.execute(run::workLoop);
            }
            done.await();
        } finally {
            run.stopping.set(true);
            workers.shutdownNow();
            verifiers.shutdownNow();
        }
        List<Outcome> out = new ArrayList<>();
        for (FileState f : files) {
            out.add(new Outcome(f.job, f.status, f.error));
        }
        return out;
    }

    /** Mutable per-file state. Fields are written by one thread at a time, handed over through queues. */
    private static final class FileState {
        final Job job;
        final Path temp;
        final AtomicInteger remainingParts = new AtomicInteger();
        final AtomicBoolean failed = new AtomicBoolean();
        volatile FileChannel channel;
        volatile int attempts;
        volatile Status status = Status.FAILED;
        volatile String error;

        FileState(Job job) {
            this.job = job;
            Path dest = job.destination();
            this.temp = dest.resolveSibling("." + dest.getFileName() + INCOMPLETE_SUFFIX);
        }
    }

    private record Part(FileState file, long offset, long length) {}

    /** Shared state of one {@link #fetch} call. */
    private final class Run {
        final BlockingQueue<Part> parts;
        final CountDownLatch done;
        final ExecutorService verifiers;
        final FetchProgress progress;
        final AtomicBoolean stopping = new AtomicBoolean();

        Run(BlockingQueue<Part> parts, CountDownLatch done, ExecutorService verifiers, FetchProgress progress) {
            this.parts = parts;
            this.done = done;
            this.verifiers = verifiers;
            this.progress = progress;
        }

        void checkExisting(FileState f) {
            try {
                Path dest = f.job.destination();
                if (Files.isRegularFile(dest) && Files.size(dest) == f.job.file().size()) {
                    ContentHash want = f.job.file().file().hash();
                    if (recordedAs(dest, want) || ContentHasher.hashFile(dest, want.algorithm()).equals(want)) {
                        record(dest, want);
                        finish(f, Status.ALREADY_VERIFIED, null);
                        progress.alreadyPresent(f.job.file().size());
                        return;
                    }
                    LOG.info("{} exists but does not match {}; downloading it again", dest, want);
                }
                start(f);
            } catch (IOException | RuntimeException e) {
                fail(f, "cannot check or prepare " + f.job.destination() + ": " + e.getMessage());
            }
        }

        /** Creates the temporary file at its final size and queues its parts. */
        void start(FileState f) throws IOException {
            Files.createDirectories(f.job.destination().getParent());
            Files.deleteIfExists(f.temp);
            long size = f.job.file().size();
            FileChannel ch = FileChannel.open(f.temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
            if (size > 0) {
                // Sparse: the file has its final size at once and parts land anywhere in it.
                ch.write(ByteBuffer.wrap(new byte[1]), size - 1);
            }
            f.channel = ch;
            f.attempts++;
            long partSize = options.partSize();
            int n = (int) ((size + partSize - 1) / partSize);
            if (n == 0) {
                verifiers.execute(() -> verify(f));
                return;
            }
            f.remainingParts.set(n);
            for (long off = 0; off < size; off += partSize) {
                parts.add(new Part(f, off, Math.min(partSize, size - off)));
            }
        }

        void workLoop() {
            while (!stopping.get()) {
                Part p;
                try {
                    p = parts.take();
                } catch (InterruptedException e) {
                    return;
                }
                FileState f = p.file();
                if (f.failed.get()) {
                    continue;
                }
                try {
                    FileChannel ch = f.channel;
                    source.read(f.job.file(), p.offset(), p.length(), (position, bytes) -> {
                        int n = bytes.remaining();
                        while (bytes.hasRemaining()) {
                            position += ch.write(bytes, position);
                        }
                        progress.downloaded(n);
                    });
                    if (f.remainingParts.decrementAndGet() == 0) {
                        verifiers.execute(() -> verify(f));
                    }
                } catch (InterruptedIOException e) {
                    if (stopping.get()) {
                        return;
                    }
                    fail(f, "interrupted downloading " + f.job.file().describe());
                } catch (IOException | RuntimeException e) {
                    fail(f, "downloading " + f.job.file().describe() + " failed: " + e.getMessage());
                }
            }
        }

        /** Hashes the finished temporary file; renames it into place if right, retries once if not. */
        void verify(FileState f) {
            ContentHash want = f.job.file().file().hash();
            try {
                FileChannel ch = f.channel;
                ch.force(true);
                ch.close();
                ContentHash got = ContentHasher.hashFile(f.temp, want.algorithm());
                if (!got.equals(want)) {
                    Files.deleteIfExists(f.temp);
                    String msg = "content hash mismatch for " + f.job.file().describe() + ": expected " + want
                            + ", received bytes hash to " + got;
                    progress.hashMismatch();
                    if (f.attempts < MAX_ATTEMPTS) {
                        LOG.warn("{}; discarded, downloading it again", msg);
                        progress.retrying(f.job.file().size());
                        start(f);
                        return;
                    }
                    fail(f, msg + " (after " + f.attempts + " attempts; the bytes were discarded, nothing was written to "
                            + f.job.destination() + ")");
                    return;
                }
                moveIntoPlace(f.temp, f.job.destination());
                record(f.job.destination(), want);
                finish(f, Status.DOWNLOADED, null);
            } catch (IOException | RuntimeException e) {
                fail(f, "verifying " + f.job.file().describe() + " failed: " + e.getMessage());
            }
        }

        void fail(FileState f, String message) {
            if (!f.failed.compareAndSet(false, true)) {
                return;
            }
            LOG.error("{}", message);
            FileChannel ch = f.channel;
            try {
                if (ch != null) {
                    ch.close();
                }
                Files.deleteIfExists(f.temp);
            } catch (IOException e) {
                LOG.warn("cannot remove {}: {}", f.temp, e.toString());
            }
            progress.failed();
            finish(f, Status.FAILED, message);
        }

        void finish(FileState f, Status status, String error) {
            f.status = status;
            f.error = error;
            if (status != Status.FAILED) {
                progress.fileDone();
            }
            done.countDown();
        }
    }

    private static void moveIntoPlace(Path temp, Path dest) throws IOException {
        try {
            Files.move(temp, dest, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temp, dest, StandardCopyOption.REPLACE_EXISTING);
        }
        // The rename itself must survive a power cut, or the next run would miss the file.
        try (FileChannel dir = FileChannel.open(dest.getParent(), StandardOpenOption.READ)) {
            dir.force(true);
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

    private static java.util.concurrent.ThreadFactory named(String prefix) {
        return Thread.ofPlatform().name(prefix + "-", 0).daemon(true).factory();
    }
}
