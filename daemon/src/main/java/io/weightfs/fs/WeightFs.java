package io.weightfs.fs;

import io.weightfs.fetch.FetchException;
import io.weightfs.fetch.Reader;
import io.weightfs.manifest.ContentHash;
import io.weightfs.manifest.ResolvedEntry;
import io.weightfs.source.RepoFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.ToLongFunction;

/**
 * The weightfs filesystem: the tree of the pinned manifests, open handles with their sequential
 * streams, and the control files {@code /.weightfs/status.json} and {@code /.weightfs/wait}. A read
 * of a repo file is one call to the {@link Reader}; nothing here knows how bytes are fetched.
 *
 * <p><b>Threads.</b> Called on the transport's threads, many at once. It owns no thread;
 * {@link #close()} fails every read that waits.
 */
public final class WeightFs implements FsOps, AutoCloseable {
    private static final int FILE_MODE = 0444;
    private static final int DIR_MODE = 0555;
    private static final String XATTR_HASH = "user.weightfs.hash";
    /**
     * Readahead windows stop growing here: 64 MiB is eight default blocks, several seconds of a
     * 100 MB/s link, which keeps one stream's link busy without crowding out other files' reads.
     */
    static final long MAX_READAHEAD = 64L << 20;

    private final FsTree tree;
    private final Reader reader;
    private final ControlFiles control;
    private final int blockSize;
    private final ConcurrentHashMap<Long, Handle> handles = new ConcurrentHashMap<>();
    private final AtomicLong nextHandle = new AtomicLong(1);
    private final CompletableFuture<Void> closing = new CompletableFuture<>();
    /** The mount paths of each content hash, for dropping the kernel's cache of a discarded blob. */
    private final Map<ContentHash, List<String>> pathsByHash = new HashMap<>();
    private volatile Consumer<String> invalidator = path -> {};

    /** An open file: a repo file (with its streams' readahead), or a control file rendered at open. */
    private record Handle(FsTree.Node node, byte[] rendered, Readahead readahead, Reader.OpenFile open, boolean keepCache) {}

    /**
     * @param mtimes the modification time of an entry's files (stable for a commit)
     * @param control makes the control files' content from the mount's files
     * @param blockSize the store's block size: the unit of the readahead windows
     */
    public WeightFs(List<ResolvedEntry> entries, ToLongFunction<ResolvedEntry> mtimes, Reader reader,
            java.util.function.Function<List<MountedFile>, ControlFiles> control, int blockSize, Clock clock) {
        this(entries, mtimes, reader, control, blockSize, clock, java.util.Optional.empty());
    }

    /**
     * @param hfCache the folder of the mount where the repos also appear in huggingface_hub's cache
     *     layout (validated by the config); empty for none
     */
    public WeightFs(List<ResolvedEntry> entries, ToLongFunction<ResolvedEntry> mtimes, Reader reader,
            java.util.function.Function<List<MountedFile>, ControlFiles> control, int blockSize, Clock clock,
            java.util.Optional<String> hfCache) {
        this.tree = FsTree.build(entries, mtimes, clock.millis(), hfCache);
        this.reader = reader;
        this.blockSize = blockSize;
        for (List<FsTree.FileNode> nodes : List.of(tree.files(), tree.views())) {
            for (FsTree.FileNode f : nodes) {
                pathsByHash.computeIfAbsent(f.file().file().hash(), h -> new ArrayList<>()).add(f.mountPath());
            }
        }
        reader.onDiscard(h -> pathsByHash.getOrDefault(h, List.of()).forEach(p -> invalidator.accept(p)));
        this.control = control.apply(files());
    }

    /** Every file of the mount: its path in the mount and what it is. */
    public List<MountedFile> files() {
        List<MountedFile> out = new ArrayList<>(tree.files().size());
        for (FsTree.FileNode f : tree.files()) {
            out.add(new MountedFile(f.mountPath(), f.file()));
        }
        return out;
    }

    /** A file of the mount, for the control files. */
    public record MountedFile(String mountPath, RepoFile file) {}

    @Override
    public void setInvalidator(Consumer<String> invalidator) {
        this.invalidator = invalidator;
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
            case FsTree.StaticNode s -> new Attr(s.inode(), false, s.content().length, s.mtimeMillis(), FILE_MODE, 1);
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
        Handle handle = switch (n) {
            case FsTree.FileNode f -> new Handle(n, null, new Readahead(blockSize, MAX_READAHEAD), reader.open(f.file()),
                    reader.isVerified(f.file()));
            case FsTree.ControlNode c -> new Handle(n, c.name().equals(FsTree.STATUS_FILE)
                    ? control.statusJson().getBytes(StandardCharsets.UTF_8) : null, null, null, false);
            case FsTree.StaticNode s -> new Handle(n, s.content(), null, null, true);
            case FsTree.Dir d -> throw new FsException(FsException.Kind.IS_A_DIRECTORY, path);
        };
        long h = nextHandle.getAndIncrement();
        handles.put(h, handle);
        return h;
    }

    @Override
    public boolean directIo(long handle) {
        Handle h = handles.get(handle);
        return h != null && h.node() instanceof FsTree.ControlNode;
    }

    @Override
    public boolean keepCache(long handle) {
        Handle h = handles.get(handle);
        return h != null && h.keepCache();
    }

    @Override
    public int read(long handle, ByteBuffer dst, long offset) throws FsException {
        return read(handle, dst, offset, Interrupt.NONE);
    }

    @Override
    public java.util.Optional<java.nio.file.Path> backingFile(long handle) {
        Handle h = handles.get(handle);
        if (h != null && h.node() instanceof FsTree.FileNode f) {
            return reader.verifiedFile(f.file());
        }
        return java.util.Optional.empty();
    }

    @Override
    public int read(long handle, ByteBuffer dst, long offset, Interrupt interrupt) throws FsException {
        Handle h = handles.get(handle);
        if (h == null) {
            throw new FsException(FsException.Kind.BAD_HANDLE, "handle " + handle);
        }
        if (offset < 0) {
            throw new FsException(FsException.Kind.INVALID, "negative offset " + offset);
        }
        return switch (h.node()) {
            case FsTree.FileNode f -> readFile(f, h, dst, offset, interrupt);
            case FsTree.ControlNode c -> readControl(h, dst, offset, interrupt);
            case FsTree.StaticNode s -> readControl(h, dst, offset, interrupt); // rendered at build: never waits
            case FsTree.Dir d -> throw new FsException(FsException.Kind.IS_A_DIRECTORY, "directory");
        };
    }

    private int readFile(FsTree.FileNode f, Handle h, ByteBuffer dst, long offset, Interrupt interrupt) throws FsException {
        long size = f.file().size();
        if (offset >= size || !dst.hasRemaining()) {
            return 0;
        }
        long length = Math.min(dst.remaining(), size - offset);
        long[] ahead = h.readahead().onRead(offset, length, size);
        Reader.Access access = ahead == null ? Reader.Access.RANDOM : new Reader.Access(true, ahead[0], ahead[1]);
        try {
            return reader.read(h.open(), offset, dst, access, interrupt.signalled());
        } catch (FetchException e) {
            FsException.Kind kind = e.kind() == FetchException.Kind.INTERRUPTED ? FsException.Kind.INTERRUPTED : FsException.Kind.IO;
            throw new FsException(kind, f.mountPath() + ": " + e.getMessage(), e);
        }
    }

    private int readControl(Handle h, ByteBuffer dst, long offset, Interrupt interrupt) throws FsException {
        byte[] content = h.rendered();
        if (content == null) {
            CompletableFuture<Void> stop = interrupt == Interrupt.NONE ? closing : CompletableFuture.anyOf(closing, interrupt.signalled())
                    .thenApply(x -> (Void) null);
            try {
                content = control.awaitCompletion(stop).getBytes(StandardCharsets.UTF_8);
            } catch (FsException e) {
                if (interrupt.signalled().isDone()) {
                    throw new FsException(FsException.Kind.INTERRUPTED, "interrupted: the reading process was signalled");
                }
                throw e;
            }
        }
        if (offset >= content.length) {
            return 0;
        }
        int n = (int) Math.min(dst.remaining(), content.length - offset);
        dst.put(content, (int) offset, n);
        return n;
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

    @Override
    public List<String> listxattr(String path) throws FsException {
        return node(path) instanceof FsTree.FileNode ? List.of(XATTR_HASH) : List.of();
    }

    private FsTree.Node node(String path) throws FsException {
        FsTree.Node n = tree.lookup(path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path);
        if (n == null) {
            throw new FsException(FsException.Kind.NOT_FOUND, path);
        }
        return n;
    }

    /** The content hashes of files open now: the store must not evict them. */
    public Set<ContentHash> openHashes() {
        Set<ContentHash> out = new HashSet<>();
        for (Handle h : handles.values()) {
            if (h.node() instanceof FsTree.FileNode f) {
                out.add(f.file().file().hash());
            }
        }
        return out;
    }

    /** Fails every read that is waiting for bytes or for the fill. */
    @Override
    public void close() {
        closing.complete(null);
        reader.close();
    }
}
