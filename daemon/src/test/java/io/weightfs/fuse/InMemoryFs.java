package io.weightfs.fuse;

import io.weightfs.fs.Attr;
import io.weightfs.fs.DirEntry;
import io.weightfs.fs.FsException;
import io.weightfs.fs.FsException.Kind;
import io.weightfs.fs.FsOps;
import io.weightfs.fs.FsStats;
import io.weightfs.testing.PatternContent;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * A hand-written {@link FsOps} over an in-memory tree, for mounting in tests: files whose content is
 * a function of the offset, a directory tree, a control file (direct_io, stat size 0, new content
 * on every open), a file whose reads block until released, a file whose reads fail with EIO.
 * Counts what the adapter did with it: open handles, reads in flight at once, request sizes.
 *
 * <p>Build the tree first, then mount; the tree is not changed while mounted. Thread-safe for the
 * calls FUSE makes.
 */
final class InMemoryFs implements FsOps {
    /** Every node's mtime: fixed, as for one commit. */
    static final long MTIME_MILLIS = 1_700_000_000_123L;
    static final int FILE_MODE = 0444;
    static final int DIR_MODE = 0555;
    static final int BLOCK_SIZE = 4096;
    /** A blocked read gives up after this, so a broken test cannot leave a FUSE thread stuck for good. */
    private static final long BLOCKED_READ_LIMIT_SECONDS = 120;

    /** File content as a function of the offset. */
    interface Content {
        long size();

        /** Fills {@code dst} (all of its remaining bytes, already clipped to the size) from {@code offset}. */
        void fill(long offset, ByteBuffer dst) throws FsException;
    }

    private sealed interface Node permits Dir, File {
        long inode();
    }

    private record Dir(long inode, Map<String, Node> children) implements Node {}

    /**
     * @param statSize what getattr says (0 for a control file)
     * @param contentAtOpen the content one open reads (control files: new on every open)
     */
    private record File(long inode, long statSize, Supplier<Content> contentAtOpen, boolean directIo,
            Map<String, byte[]> xattrs) implements Node {}

    private record Open(File file, Content content) {}

    private final AtomicLong nextInode = new AtomicLong(1);
    private final Dir root = new Dir(nextInode.getAndIncrement(), new TreeMap<>());
    private final AtomicLong nextHandle = new AtomicLong(100);
    private final Map<Long, Open> handles = new ConcurrentHashMap<>();
    private final AtomicInteger readsInFlight = new AtomicInteger();
    private final AtomicInteger maxReadsInFlight = new AtomicInteger();
    private final AtomicLong reads = new AtomicLong();
    private final AtomicLong largestRead = new AtomicLong();
    private final CountDownLatch blockedReadEntered = new CountDownLatch(1);
    private final CountDownLatch blockedReadRelease = new CountDownLatch(1);

    // ---- building the tree ----

    InMemoryFs file(String path, byte[] bytes) {
        return file(path, bytes(bytes));
    }

    InMemoryFs file(String path, PatternContent pattern) {
        return file(path, new Content() {
            @Override
            public long size() {
                return pattern.size();
            }

            @Override
            public void fill(long offset, ByteBuffer dst) {
                pattern.fill(offset, dst);
            }
        });
    }

    InMemoryFs file(String path, Content content) {
        add(path, new File(nextInode.getAndIncrement(), content.size(), () -> content, false, new TreeMap<>()));
        return this;
    }

    /** A control file: stat size 0, direct_io, and each open reads what {@code contentAtOpen} says then. */
    InMemoryFs controlFile(String path, Supplier<byte[]> contentAtOpen) {
        add(path, new File(nextInode.getAndIncrement(), 0, () -> bytes(contentAtOpen.get()), true, new TreeMap<>()));
        return this;
    }

    /** A file whose reads wait until {@link #releaseBlockedReads()}, then fail as interrupted. */
    InMemoryFs blockingFile(String path, long size) {
        return file(path, new Content() {
            @Override
            public long size() {
                return size;
            }

            @Override
            public void fill(long offset, ByteBuffer dst) throws FsException {
                blockedReadEntered.countDown();
                try {
                    if (!blockedReadRelease.await(BLOCKED_READ_LIMIT_SECONDS, TimeUnit.SECONDS)) {
                        throw new FsException(Kind.IO, "blocked read gave up");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                throw new FsException(Kind.INTERRUPTED, "read interrupted by unmount");
            }
        });
    }

    /** A file whose every read fails as the real filesystem fails a read it cannot fetch or verify. */
    InMemoryFs failingFile(String path, long size) {
        return file(path, new Content() {
            @Override
            public long size() {
                return size;
            }

            @Override
            public void fill(long offset, ByteBuffer dst) throws FsException {
                throw new FsException(Kind.IO, "injected: bytes could not be fetched");
            }
        });
    }

    InMemoryFs xattr(String path, String name, String value) {
        if (!(lookupUnchecked(path) instanceof File f)) {
            throw new IllegalArgumentException(path + " is not a file");
        }
        f.xattrs().put(name, value.getBytes(StandardCharsets.UTF_8));
        return this;
    }

    static Content bytes(byte[] bytes) {
        return new Content() {
            @Override
            public long size() {
                return bytes.length;
            }

            @Override
            public void fill(long offset, ByteBuffer dst) {
                dst.put(bytes, (int) offset, dst.remaining());
            }
        };
    }

    private void add(String path, Node node) {
        String[] parts = path.substring(1).split("/");
        Dir dir = root;
        for (int i = 0; i < parts.length - 1; i++) {
            Node next = dir.children().computeIfAbsent(parts[i], k -> new Dir(nextInode.getAndIncrement(), new TreeMap<>()));
            dir = (Dir) next;
        }
        dir.children().put(parts[parts.length - 1], node);
    }

    // ---- what the tests look at ----

    /** Waits until some read is blocked inside {@link #blockingFile}. */
    boolean awaitBlockedRead(long seconds) throws InterruptedException {
        return blockedReadEntered.await(seconds, TimeUnit.SECONDS);
    }

    /** Lets blocked reads go; they fail as INTERRUPTED, as the real filesystem's would at shutdown. */
    void releaseBlockedReads() {
        blockedReadRelease.countDown();
    }

    long inodeOf(String path) {
        return lookupUnchecked(path).inode();
    }

    int openHandles() {
        return handles.size();
    }

    int maxReadsInFlight() {
        return maxReadsInFlight.get();
    }

    long reads() {
        return reads.get();
    }

    long largestRead() {
        return largestRead.get();
    }

    // ---- FsOps ----

    @Override
    public Attr getattr(String path) throws FsException {
        return attr(lookup(path));
    }

    @Override
    public List<DirEntry> readdir(String path) throws FsException {
        if (!(lookup(path) instanceof Dir d)) {
            throw new FsException(Kind.NOT_A_DIRECTORY, path);
        }
        List<DirEntry> out = new ArrayList<>();
        d.children().forEach((name, node) -> out.add(new DirEntry(name, attr(node))));
        return out;
    }

    @Override
    public long open(String path, boolean writable) throws FsException {
        if (writable) {
            throw new FsException(Kind.READ_ONLY, path);
        }
        if (!(lookup(path) instanceof File f)) {
            throw new FsException(Kind.IS_A_DIRECTORY, path);
        }
        long h = nextHandle.getAndIncrement();
        handles.put(h, new Open(f, f.contentAtOpen().get()));
        return h;
    }

    @Override
    public boolean directIo(long handle) {
        Open o = handles.get(handle);
        return o != null && o.file().directIo();
    }

    @Override
    public int read(long handle, ByteBuffer dst, long offset) throws FsException {
        Open o = handles.get(handle);
        if (o == null) {
            throw new FsException(Kind.BAD_HANDLE, "handle " + handle);
        }
        if (offset < 0) {
            throw new FsException(Kind.INVALID, "offset " + offset);
        }
        reads.incrementAndGet();
        largestRead.accumulateAndGet(dst.remaining(), Math::max);
        int inFlight = readsInFlight.incrementAndGet();
        maxReadsInFlight.accumulateAndGet(inFlight, Math::max);
        try {
            long size = o.content().size();
            if (offset >= size) {
                return 0;
            }
            int n = (int) Math.min(dst.remaining(), size - offset);
            ByteBuffer target = dst.slice(dst.position(), n);
            o.content().fill(offset, target);
            dst.position(dst.position() + n);
            return n;
        } finally {
            readsInFlight.decrementAndGet();
        }
    }

    @Override
    public void release(long handle) {
        handles.remove(handle);
    }

    @Override
    public FsStats statfs() {
        long bytes = totalBytes(root);
        return new FsStats(BLOCK_SIZE, (bytes + BLOCK_SIZE - 1) / BLOCK_SIZE, 0, nextInode.get() - 1, 255);
    }

    @Override
    public int getxattr(String path, String name, ByteBuffer dst) throws FsException {
        if (!(lookup(path) instanceof File f) || !f.xattrs().containsKey(name)) {
            throw new FsException(Kind.NO_ATTRIBUTE, name);
        }
        byte[] value = f.xattrs().get(name);
        if (dst.remaining() >= value.length) {
            dst.put(value);
        }
        return value.length;
    }

    // ---- internals ----

    private static Attr attr(Node node) {
        return switch (node) {
            case Dir d -> new Attr(d.inode(), true, 0, MTIME_MILLIS, DIR_MODE, 2);
            case File f -> new Attr(f.inode(), false, f.statSize(), MTIME_MILLIS, FILE_MODE, 1);
        };
    }

    private Node lookup(String path) throws FsException {
        Node n = lookupUnchecked(path);
        if (n == null) {
            throw new FsException(Kind.NOT_FOUND, path);
        }
        return n;
    }

    private Node lookupUnchecked(String path) {
        Node node = root;
        for (String part : path.split("/")) {
            if (part.isEmpty()) {
                continue;
            }
            if (!(node instanceof Dir d)) {
                return null;
            }
            node = d.children().get(part);
            if (node == null) {
                return null;
            }
        }
        return node;
    }

    private static long totalBytes(Node node) {
        return switch (node) {
            case Dir d -> d.children().values().stream().mapToLong(InMemoryFs::totalBytes).sum();
            case File f -> f.statSize();
        };
    }
}
