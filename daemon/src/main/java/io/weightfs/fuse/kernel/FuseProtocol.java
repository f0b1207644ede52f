package io.weightfs.fuse.kernel;

import io.weightfs.fs.Attr;
import io.weightfs.fs.DirEntry;
import io.weightfs.fs.FsException;
import io.weightfs.fs.FsOps;
import io.weightfs.fs.FsStats;
import io.weightfs.fuse.Errnos;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import ru.serce.jnrfuse.ErrorCodes;

/**
 * The FUSE kernel protocol for a read-only {@link FsOps}: {@link #handle} decodes one request,
 * calls {@code FsOps}, encodes the reply and sends it. It holds no filesystem logic; its state is
 * what the protocol itself needs: node IDs and lookup counts ({@link NodeTable}), open directory
 * listings, requests in flight (so that INTERRUPT can stop a waiting read), and passthrough backing
 * files per node.
 *
 * <p>Buffers: a request arrives in a buffer of {@link #BUFFER_SIZE} bytes (position 0, limit the
 * request's length); the reply is built in the same buffer once the request is decoded, so a 1 MiB
 * read reply is filled by {@code FsOps} in place and written with one syscall.
 *
 * <p>Interrupts: every request is registered under its {@code unique} while it runs. An INTERRUPT
 * completes the request's {@link io.weightfs.fs.Interrupt}: a read waiting for bytes or for the
 * fill returns EINTR at once. An INTERRUPT for a request not (yet) registered is answered EAGAIN, so
 * the kernel queues it again (it may have overtaken its request between two reader threads); for a
 * request already answered the kernel drops that reply itself.
 *
 * <p>Passthrough (7.40, {@code FUSE_PASSTHROUGH}): an open of a file whose content is complete and
 * verified ({@link FsOps#backingFile}) is answered {@code FOPEN_PASSTHROUGH} with a backing ID, and
 * the kernel then reads (and maps) the store's file itself. The kernel allows one backing file per
 * inode, and refuses a passthrough open while the inode is open through the page cache (and the
 * other way round), so each node counts its opens of each kind and reuses one backing ID.
 *
 * <p>Thread-safe: many reader threads call {@link #handle} at once.
 */
public final class FuseProtocol {
    private static final Logger LOG = LoggerFactory.getLogger(FuseProtocol.class);

    /** The size of the buffer each reader thread reads requests into. */
    public static final int BUFFER_SIZE = Proto.BUFFER_SIZE;
    /** The largest read request the kernel is allowed to send (max_pages x 4 KiB). */
    public static final int MAX_READ = Proto.MAX_READ;

    private static final int DT_DIR = 4;
    private static final int DT_REG = 8;
    private static final int PERMISSION_BITS = 07777;

    private final FsOps fs;
    private final FuseChannel channel;
    private final Errnos errnos;
    private final int uid;
    private final int gid;
    private final Duration attrTimeout;
    private final Duration entryTimeout;
    private final boolean passthroughWanted;

    private final NodeTable nodes = new NodeTable();
    private final ConcurrentHashMap<Long, DirListing> dirs = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, OpenFile> opens = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, CompletableFuture<Void>> inflight = new ConcurrentHashMap<>();
    private final AtomicLong nextDirHandle = new AtomicLong(1);
    private final AtomicLong largestRead = new AtomicLong();
    private final AtomicLong passthroughOpensTotal = new AtomicLong();
    private final AtomicLong interruptsTotal = new AtomicLong();
    private final AtomicBoolean initialized = new AtomicBoolean();
    private final CompletableFuture<Void> destroyed = new CompletableFuture<>();
    /** Set in INIT; cleared for good on the first backing file the kernel refuses. */
    private volatile boolean passthrough;
    private volatile String passthroughState = "not negotiated yet";
    /**
     * Notifications go out on a thread of their own: the kernel handles one by dropping pages, and a
     * page may be locked by a read that waits for our reply, which could be the caller's own.
     */
    private final ExecutorService notifier = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().name("weightfs-fuse-notify").daemon().factory());

    /** A directory's entries as OPENDIR saw them: "." and ".." first, offsets are indexes + 1. */
    private record DirListing(String path, List<String> names, List<Attr> attrs) {}

    /** How the kernel reads an open file, which decides the per-node count it is in. */
    private enum OpenKind { DIRECT_IO, CACHED, PASSTHROUGH }

    /** An open file: which node, and how the kernel reads it. */
    private record OpenFile(NodeTable.Node node, OpenKind kind) {}

    /**
     * @param uid owner reported for every file
     * @param gid group reported for every file
     * @param passthroughWanted negotiate FUSE_PASSTHROUGH where the kernel offers it (needs
     *     CAP_SYS_ADMIN when a backing file is registered)
     */
    public FuseProtocol(FsOps fs, FuseChannel channel, Errnos errnos, int uid, int gid, Duration attrTimeout,
            Duration entryTimeout, boolean passthroughWanted) {
        this.fs = fs;
        this.channel = channel;
        this.errnos = errnos;
        this.uid = uid;
        this.gid = gid;
        this.attrTimeout = attrTimeout;
        this.entryTimeout = entryTimeout;
        this.passthroughWanted = passthroughWanted;
    }

    /** Whether passthrough is in use, and why not if not: for the log and status. */
    public String passthroughState() {
        return passthroughState;
    }

    public boolean passthroughActive() {
        return passthrough;
    }

    public long largestReadRequest() {
        return largestRead.get();
    }

    public long passthroughOpens() {
        return passthroughOpensTotal.get();
    }

    public long interrupts() {
        return interruptsTotal.get();
    }

    public long unexpectedFailures() {
        return errnos.unexpectedFailures();
    }

    /** Completes when the kernel sent DESTROY (fuseblk mounts only; plain FUSE mounts just go away). */
    public CompletableFuture<Void> destroyed() {
        return destroyed;
    }

    int knownNodes() {
        return nodes.size();
    }

    long lookups(long nodeId) {
        return nodes.lookups(nodeId);
    }

    /** Requests in flight now (a test looks for a read it blocked). */
    int inflight() {
        return inflight.size();
    }

    /**
     * Drops the kernel's cached pages and attributes of the file at {@code path}, if the kernel
     * knows it ({@code FUSE_NOTIFY_INVAL_INODE}); asynchronous, see {@link #notifier}.
     */
    public void invalidate(String path) {
        Optional<NodeTable.Node> node = nodes.find(path);
        if (node.isEmpty()) {
            LOG.debug("not invalidating {}: the kernel has not looked it up", path);
            return;
        }
        long id = node.get().id;
        try {
            notifier.execute(() -> notifyInvalInode(id, path));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            LOG.debug("not invalidating {}: unmounted, the kernel's cache went with the mount", path);
        }
    }

    private void notifyInvalInode(long id, String path) {
        ByteBuffer m = ByteBuffer.allocateDirect(Proto.OUT_HEADER + Proto.NOTIFY_INVAL_INODE_OUT)
                .order(ByteOrder.LITTLE_ENDIAN);
        m.putInt(0, m.capacity()).putInt(4, Proto.NOTIFY_INVAL_INODE).putLong(8, 0);
        m.putLong(16, id).putLong(24, 0).putLong(32, 0); // offset 0, length 0: all pages
        int rc = channel.send(m);
        if (rc != 0 && rc != -ErrorCodes.ENOENT()) {
            LOG.debug("notify_inval_inode {} ({}) = {}", id, path, rc);
        } else {
            LOG.debug("dropped the kernel's cache of {}", path);
        }
    }

    /** Stops the notification thread; after the loop ended. */
    public void close() {
        notifier.shutdownNow();
    }

    /**
     * Handles one request: {@code buf} holds it from 0 to its limit (little-endian is set here),
     * and is overwritten with the reply. Never throws: a failure is answered with an errno.
     */
    public void handle(ByteBuffer buf) {
        buf.order(ByteOrder.LITTLE_ENDIAN);
        int length = buf.limit();
        if (length < Proto.IN_HEADER || buf.getInt(Proto.H_LEN) != length) {
            LOG.warn("dropped a malformed FUSE request of {} bytes (header says {})", length,
                    length >= 4 ? buf.getInt(Proto.H_LEN) : -1);
            return;
        }
        int opcode = buf.getInt(Proto.H_OPCODE);
        long unique = buf.getLong(Proto.H_UNIQUE);
        long nodeId = buf.getLong(Proto.H_NODEID);
        switch (opcode) {
            case Proto.FORGET -> {
                nodes.forget(nodeId, buf.getLong(Proto.IN_HEADER));
                return;
            }
            case Proto.BATCH_FORGET -> {
                batchForget(buf, length);
                return;
            }
            case Proto.INTERRUPT -> {
                interrupt(buf, unique);
                return;
            }
            default -> {}
        }
        CompletableFuture<Void> interrupt = new CompletableFuture<>();
        inflight.put(unique, interrupt);
        try {
            dispatch(buf, opcode, unique, nodeId, length, interrupt);
        } catch (Throwable t) {
            // A bug in the decoding (say, a request shorter than its struct): EIO, logged once.
            replyError(buf, unique, -errnos.failure(Proto.opName(opcode), "node " + nodeId, t));
        } finally {
            inflight.remove(unique);
        }
    }

    private void dispatch(ByteBuffer buf, int opcode, long unique, long nodeId, int length,
            CompletableFuture<Void> interrupt) {
        switch (opcode) {
            case Proto.INIT -> init(buf, unique);
            case Proto.LOOKUP -> lookup(buf, unique, nodeId, length);
            case Proto.GETATTR -> getattr(buf, unique, nodeId);
            case Proto.ACCESS -> access(buf, unique, nodeId);
            case Proto.OPEN -> open(buf, unique, nodeId);
            case Proto.READ -> read(buf, unique, nodeId, interrupt);
            case Proto.RELEASE -> release(buf, unique);
            case Proto.FLUSH -> replyEmpty(buf, unique);
            case Proto.OPENDIR -> opendir(buf, unique, nodeId);
            case Proto.READDIR -> readdir(buf, unique, false);
            case Proto.READDIRPLUS -> readdir(buf, unique, true);
            case Proto.RELEASEDIR -> {
                dirs.remove(buf.getLong(Proto.IN_HEADER));
                replyEmpty(buf, unique);
            }
            case Proto.STATFS -> statfs(buf, unique);
            case Proto.GETXATTR -> getxattr(buf, unique, nodeId, length);
            case Proto.LISTXATTR -> listxattr(buf, unique, nodeId);
            case Proto.DESTROY -> {
                replyEmpty(buf, unique);
                destroyed.complete(null);
            }
            // Anything that would change the filesystem: "Read-only file system", as the other
            // bindings answer (the kernel refuses most of these itself on a read-only mount).
            case Proto.SETATTR, Proto.SYMLINK, Proto.MKNOD, Proto.MKDIR, Proto.UNLINK, Proto.RMDIR, Proto.RENAME,
                    Proto.LINK, Proto.WRITE, Proto.SETXATTR, Proto.REMOVEXATTR, Proto.CREATE, Proto.FALLOCATE,
                    Proto.RENAME2, Proto.COPY_FILE_RANGE, Proto.TMPFILE -> replyError(buf, unique, errnos.erofs());
            // The kernel remembers ENOSYS per operation and stops asking (fsync then succeeds locally).
            default -> replyError(buf, unique, errnos.enosys());
        }
    }

    // ---- INIT -------------------------------------------------------------------------------

    private void init(ByteBuffer buf, long unique) {
        int major = buf.getInt(Proto.IN_HEADER);
        int minor = buf.getInt(Proto.IN_HEADER + 4);
        int maxReadahead = buf.getInt(Proto.IN_HEADER + 8);
        long flags = buf.getInt(Proto.IN_HEADER + 12) & 0xffffffffL;
        if ((flags & Proto.INIT_EXT) != 0) {
            flags |= (buf.getInt(Proto.IN_HEADER + 16) & 0xffffffffL) << 32;
        }
        if (major > Proto.KERNEL_VERSION) {
            // The kernel sends INIT again with our major version (fuse.h: version negotiation).
            buf.clear();
            buf.putInt(Proto.OUT_HEADER, Proto.KERNEL_VERSION).putInt(Proto.OUT_HEADER + 4, Proto.KERNEL_MINOR_VERSION);
            reply(buf, unique, 8);
            return;
        }
        if (major < Proto.KERNEL_VERSION || minor < Proto.OLDEST_MINOR) {
            LOG.error("the kernel speaks FUSE {}.{}; this transport needs 7.{} or later: mount with --fuse jfuse",
                    major, minor, Proto.OLDEST_MINOR);
            replyError(buf, unique, ErrorCodes.EPROTO());
            return;
        }
        long want = flags & (Proto.ASYNC_READ | Proto.MAX_PAGES | Proto.PARALLEL_DIROPS | Proto.DO_READDIRPLUS
                | Proto.READDIRPLUS_AUTO | Proto.INIT_EXT);
        boolean offered = minor >= Proto.KERNEL_MINOR_VERSION && (flags & Proto.PASSTHROUGH) != 0;
        if (passthroughWanted && offered) {
            want |= Proto.PASSTHROUGH;
            passthrough = true;
            passthroughState = "on";
        } else {
            passthroughState = !passthroughWanted ? "off (not asked for)"
                    : "off (the kernel, FUSE " + major + "." + minor + ", does not offer it: Linux 6.9+ with"
                            + " CONFIG_FUSE_PASSTHROUGH has it)";
        }
        buf.clear();
        for (int i = 0; i < Proto.INIT_OUT; i += 8) {
            buf.putLong(Proto.OUT_HEADER + i, 0);
        }
        int o = Proto.OUT_HEADER;
        buf.putInt(o, Proto.KERNEL_VERSION);
        buf.putInt(o + 4, Proto.KERNEL_MINOR_VERSION);
        // The kernel takes the smaller of this and the bdi's window (128 KiB at mount time); the
        // mounter raises read_ahead_kb in sysfs afterwards, which is what yields 1 MiB requests.
        buf.putInt(o + 8, Math.max(maxReadahead, Proto.MAX_READ));
        buf.putInt(o + 12, (int) want);
        buf.putShort(o + 16, (short) 0); // max_background: the kernel's default (12)
        buf.putShort(o + 18, (short) 0); // congestion_threshold: default
        buf.putInt(o + 20, Proto.MAX_WRITE);
        buf.putInt(o + 24, 1); // time_gran: nanoseconds
        buf.putShort(o + 28, (short) Proto.MAX_PAGES_COUNT);
        buf.putShort(o + 30, (short) 0); // map_alignment (DAX only)
        buf.putInt(o + 32, (int) (want >>> 32));
        // max_stack_depth: a backing file on a plain filesystem (ext4, xfs) is depth 0; 1 keeps the
        // mount itself usable as an overlayfs lower layer.
        buf.putInt(o + 36, (want & Proto.PASSTHROUGH) != 0 ? 1 : 0);
        reply(buf, unique, Proto.INIT_OUT);
        initialized.set(true);
        LOG.info("FUSE {}.{} (kernel {}.{}), flags {}, readahead {} KiB, passthrough {}", Proto.KERNEL_VERSION,
                Proto.KERNEL_MINOR_VERSION, major, minor, Long.toHexString(want), maxReadahead / 1024, passthroughState);
    }

    // ---- names and attributes ------------------------------------------------------------------

    private void lookup(ByteBuffer buf, long unique, long parentId, int length) {
        String name = cString(buf, Proto.IN_HEADER, length);
        NodeTable.Node parent = nodes.get(parentId);
        if (parent == null) {
            replyError(buf, unique, ErrorCodes.ENOENT());
            return;
        }
        String path = NodeTable.child(parent.path, name);
        Attr attr;
        try {
            if (name.isEmpty() || name.equals(".") || name.equals("..") || name.indexOf('/') >= 0) {
                throw new FsException(FsException.Kind.NOT_FOUND, path);
            }
            attr = fs.getattr(path);
        } catch (Throwable t) {
            replyError(buf, unique, -errnos.failure("lookup", path, t));
            return;
        }
        NodeTable.Node node = nodes.lookup(path);
        buf.clear();
        putEntry(buf, Proto.OUT_HEADER, node.id, attr);
        if (reply(buf, unique, Proto.ENTRY_OUT) != 0) {
            nodes.forget(node.id, 1); // the kernel never saw it
        }
    }

    private void getattr(ByteBuffer buf, long unique, long nodeId) {
        NodeTable.Node node = nodes.get(nodeId);
        if (node == null) {
            replyError(buf, unique, ErrorCodes.ENOENT());
            return;
        }
        Attr attr;
        try {
            attr = fs.getattr(node.path);
        } catch (Throwable t) {
            replyError(buf, unique, -errnos.failure("getattr", node.path, t));
            return;
        }
        buf.clear();
        int o = Proto.OUT_HEADER;
        buf.putLong(o, attrTimeout.getSeconds());
        buf.putInt(o + 8, attrTimeout.getNano());
        buf.putInt(o + 12, 0);
        putAttr(buf, o + 16, attr);
        reply(buf, unique, Proto.ATTR_OUT);
    }

    private void access(ByteBuffer buf, long unique, long nodeId) {
        NodeTable.Node node = nodes.get(nodeId);
        if (node == null) {
            replyError(buf, unique, ErrorCodes.ENOENT());
            return;
        }
        try {
            // Existence only: with default_permissions the kernel checks modes itself.
            fs.getattr(node.path);
        } catch (Throwable t) {
            replyError(buf, unique, -errnos.failure("access", node.path, t));
            return;
        }
        replyEmpty(buf, unique);
    }

    private void statfs(ByteBuffer buf, long unique) {
        FsStats s;
        try {
            s = fs.statfs();
        } catch (Throwable t) {
            replyError(buf, unique, -errnos.failure("statfs", "/", t));
            return;
        }
        buf.clear();
        int o = Proto.OUT_HEADER;
        for (int i = 0; i < Proto.STATFS_OUT; i += 8) {
            buf.putLong(o + i, 0);
        }
        buf.putLong(o, s.totalBlocks());
        buf.putLong(o + 8, s.freeBlocks());
        buf.putLong(o + 16, s.freeBlocks());
        buf.putLong(o + 24, s.files());
        buf.putLong(o + 32, 0); // ffree
        buf.putInt(o + 40, (int) s.blockSize());
        buf.putInt(o + 44, (int) s.nameMax());
        buf.putInt(o + 48, (int) s.blockSize()); // frsize
        reply(buf, unique, Proto.STATFS_OUT);
    }

    private void getxattr(ByteBuffer buf, long unique, long nodeId, int length) {
        int size = buf.getInt(Proto.IN_HEADER);
        String name = cString(buf, Proto.IN_HEADER + 8, length);
        NodeTable.Node node = nodes.get(nodeId);
        if (node == null) {
            replyError(buf, unique, ErrorCodes.ENOENT());
            return;
        }
        int valueLength;
        ByteBuffer dst = size == 0 ? ByteBuffer.allocate(0)
                : buf.duplicate().clear().position(Proto.OUT_HEADER)
                        .limit(Proto.OUT_HEADER + Math.min(size, buf.capacity() - Proto.OUT_HEADER)).slice();
        try {
            valueLength = fs.getxattr(node.path, name, dst);
        } catch (Throwable t) {
            replyError(buf, unique, -errnos.failure("getxattr", node.path, t));
            return;
        }
        buf.clear();
        if (size == 0) {
            buf.putInt(Proto.OUT_HEADER, valueLength).putInt(Proto.OUT_HEADER + 4, 0);
            reply(buf, unique, Proto.GETXATTR_OUT);
        } else if (valueLength > size) {
            replyError(buf, unique, errnos.erange());
        } else {
            reply(buf, unique, valueLength);
        }
    }

    private void listxattr(ByteBuffer buf, long unique, long nodeId) {
        int size = buf.getInt(Proto.IN_HEADER);
        NodeTable.Node node = nodes.get(nodeId);
        if (node == null) {
            replyError(buf, unique, ErrorCodes.ENOENT());
            return;
        }
        List<String> names;
        try {
            names = fs.listxattr(node.path);
        } catch (Throwable t) {
            replyError(buf, unique, -errnos.failure("listxattr", node.path, t));
            return;
        }
        ByteBuffer list = ByteBuffer.allocate(names.stream().mapToInt(n -> n.length() * 3 + 1).sum());
        for (String n : names) {
            list.put(n.getBytes(StandardCharsets.UTF_8)).put((byte) 0);
        }
        list.flip();
        buf.clear();
        if (size == 0) {
            buf.putInt(Proto.OUT_HEADER, list.remaining()).putInt(Proto.OUT_HEADER + 4, 0);
            reply(buf, unique, Proto.GETXATTR_OUT);
        } else if (list.remaining() > size) {
            replyError(buf, unique, errnos.erange());
        } else {
            int n = list.remaining();
            buf.put(Proto.OUT_HEADER, list, 0, n);
            reply(buf, unique, n);
        }
    }

    // ---- files -----------------------------------------------------------------------------------

    private void open(ByteBuffer buf, long unique, long nodeId) {
        int flags = buf.getInt(Proto.IN_HEADER);
        NodeTable.Node node = nodes.get(nodeId);
        if (node == null) {
            replyError(buf, unique, ErrorCodes.ENOENT());
            return;
        }
        long fh;
        try {
            fh = fs.open(node.path, (flags & Proto.O_ACCMODE) != 0);
        } catch (Throwable t) {
            replyError(buf, unique, -errnos.failure("open", node.path, t));
            return;
        }
        int openFlags = 0;
        int backingId = 0;
        try {
            if (fs.directIo(fh)) {
                openFlags = Proto.FOPEN_DIRECT_IO;
                opens.put(fh, new OpenFile(node, OpenKind.DIRECT_IO)); // the kernel puts direct I/O in no mode
            } else {
                backingId = passthrough ? passthroughOpen(node, fh) : 0;
                if (backingId > 0) {
                    openFlags = Proto.FOPEN_PASSTHROUGH;
                    opens.put(fh, new OpenFile(node, OpenKind.PASSTHROUGH));
                } else {
                    openFlags = fs.keepCache(fh) ? Proto.FOPEN_KEEP_CACHE : 0;
                    synchronized (node) {
                        node.cachedOpens++;
                    }
                    opens.put(fh, new OpenFile(node, OpenKind.CACHED));
                }
            }
        } catch (Throwable t) {
            forgetOpen(fh);
            fs.release(fh);
            replyError(buf, unique, -errnos.failure("open", node.path, t));
            return;
        }
        buf.clear();
        buf.putLong(Proto.OUT_HEADER, fh);
        buf.putInt(Proto.OUT_HEADER + 8, openFlags);
        buf.putInt(Proto.OUT_HEADER + 12, backingId);
        if (reply(buf, unique, Proto.OPEN_OUT) != 0) {
            // The opener was interrupted and gone: the kernel will never release this handle.
            forgetOpen(fh);
            fs.release(fh);
        }
    }

    /**
     * The backing ID to answer this open with, or 0 to serve it through the page cache: when the
     * content is not verified yet, when the node is open through the page cache already, or when
     * the kernel refused the backing file (then passthrough is off for the rest of this mount).
     * Under the node's lock: a second open of the same node waits for the first one's registration
     * (one ioctl), so that both use one backing ID.
     */
    private int passthroughOpen(NodeTable.Node node, long fh) {
        Optional<Path> file = fs.backingFile(fh);
        if (file.isEmpty()) {
            return 0;
        }
        synchronized (node) {
            if (node.cachedOpens > 0) {
                return 0;
            }
            if (node.passthroughOpens == 0) {
                int id = channel.openBacking(file.get());
                if (id <= 0) {
                    if (id == -ErrorCodes.ENOENT()) {
                        return 0; // the store's file went (evicted); this open is served as before
                    }
                    passthrough = false;
                    passthroughState = "off (the kernel refused a backing file: errno " + (-id)
                            + (id == -ErrorCodes.EPERM() ? ", not privileged: passthrough needs CAP_SYS_ADMIN" : "")
                            + ")";
                    LOG.warn("FUSE passthrough {}; files are served by the daemon", passthroughState);
                    return 0;
                }
                node.backingId = id;
            }
            node.passthroughOpens++;
            if (passthroughOpensTotal.incrementAndGet() == 1) {
                LOG.info("FUSE passthrough: {} is read by the kernel from {} (the first such open of this mount;"
                        + " verified files are served this way from now on)", node.path, file.get());
            }
            return node.backingId;
        }
    }

    private void forgetOpen(long fh) {
        OpenFile of = opens.remove(fh);
        if (of == null) {
            return;
        }
        NodeTable.Node node = of.node();
        int closeId = 0;
        synchronized (node) {
            switch (of.kind()) {
                case PASSTHROUGH -> {
                    if (--node.passthroughOpens == 0) {
                        closeId = node.backingId;
                        node.backingId = 0;
                    }
                }
                case CACHED -> node.cachedOpens--;
                case DIRECT_IO -> {}
            }
        }
        if (closeId > 0) {
            channel.closeBacking(closeId);
        }
    }

    private void read(ByteBuffer buf, long unique, long nodeId, CompletableFuture<Void> interrupt) {
        long fh = buf.getLong(Proto.IN_HEADER);
        long offset = buf.getLong(Proto.IN_HEADER + 8);
        int size = buf.getInt(Proto.IN_HEADER + 16);
        observeRead(size);
        int want = Math.min(Math.max(size, 0), buf.capacity() - Proto.OUT_HEADER);
        ByteBuffer dst = buf.duplicate().clear().position(Proto.OUT_HEADER).limit(Proto.OUT_HEADER + want).slice();
        int n;
        try {
            n = fs.read(fh, dst, offset, () -> interrupt);
        } catch (Throwable t) {
            NodeTable.Node node = nodes.get(nodeId);
            replyError(buf, unique, -errnos.failure("read", node == null ? "node " + nodeId : node.path, t));
            return;
        }
        buf.clear();
        reply(buf, unique, n);
    }

    private void release(ByteBuffer buf, long unique) {
        long fh = buf.getLong(Proto.IN_HEADER);
        try {
            forgetOpen(fh);
            fs.release(fh);
        } catch (Throwable t) {
            replyError(buf, unique, -errnos.failure("release", "handle " + fh, t));
            return;
        }
        replyEmpty(buf, unique);
    }

    // ---- directories -----------------------------------------------------------------------------

    private void opendir(ByteBuffer buf, long unique, long nodeId) {
        NodeTable.Node node = nodes.get(nodeId);
        if (node == null) {
            replyError(buf, unique, ErrorCodes.ENOENT());
            return;
        }
        DirListing listing;
        try {
            Attr self = fs.getattr(node.path);
            if (!self.directory()) {
                throw new FsException(FsException.Kind.NOT_A_DIRECTORY, node.path);
            }
            Attr parent = node.path.equals("/") ? self : fs.getattr(parentOf(node.path));
            List<DirEntry> entries = fs.readdir(node.path);
            List<String> names = new ArrayList<>(entries.size() + 2);
            List<Attr> attrs = new ArrayList<>(entries.size() + 2);
            names.add(".");
            attrs.add(self);
            names.add("..");
            attrs.add(parent);
            for (DirEntry e : entries) {
                names.add(e.name());
                attrs.add(e.attr());
            }
            listing = new DirListing(node.path, names, attrs);
        } catch (Throwable t) {
            replyError(buf, unique, -errnos.failure("opendir", node.path, t));
            return;
        }
        long dh = nextDirHandle.getAndIncrement();
        dirs.put(dh, listing);
        buf.clear();
        buf.putLong(Proto.OUT_HEADER, dh);
        buf.putInt(Proto.OUT_HEADER + 8, 0);
        buf.putInt(Proto.OUT_HEADER + 12, 0);
        if (reply(buf, unique, Proto.OPEN_OUT) != 0) {
            dirs.remove(dh);
        }
    }

    /**
     * READDIR and READDIRPLUS: entries from the request's offset (an index into the listing) while
     * they fit in {@code size}. With "plus" each entry carries a full lookup reply; the kernel counts
     * a lookup for each one with a node ID, so those are counted here too ("." and ".." go without).
     */
    private void readdir(ByteBuffer buf, long unique, boolean plus) {
        long dh = buf.getLong(Proto.IN_HEADER);
        long offset = buf.getLong(Proto.IN_HEADER + 8);
        int size = buf.getInt(Proto.IN_HEADER + 16);
        DirListing d = dirs.get(dh);
        if (d == null) {
            replyError(buf, unique, ErrorCodes.EBADF());
            return;
        }
        buf.clear();
        int limit = Proto.OUT_HEADER + Math.min(size, buf.capacity() - Proto.OUT_HEADER);
        int pos = Proto.OUT_HEADER;
        List<Long> counted = plus ? new ArrayList<>() : List.of();
        for (int i = (int) Math.max(0, Math.min(offset, Integer.MAX_VALUE)); i < d.names().size(); i++) {
            byte[] name = d.names().get(i).getBytes(StandardCharsets.UTF_8);
            int direntLen = align8(Proto.DIRENT_NAME_OFFSET + name.length);
            int recLen = (plus ? Proto.ENTRY_OUT : 0) + direntLen;
            if (pos + recLen > limit) {
                break;
            }
            Attr attr = d.attrs().get(i);
            if (plus) {
                long id = 0;
                if (i >= 2) {
                    id = nodes.lookup(NodeTable.child(d.path(), d.names().get(i))).id;
                    counted.add(id);
                }
                if (id == 0) {
                    for (int z = 0; z < Proto.ENTRY_OUT; z += 8) {
                        buf.putLong(pos + z, 0);
                    }
                } else {
                    putEntry(buf, pos, id, attr);
                }
                pos += Proto.ENTRY_OUT;
            }
            buf.putLong(pos, attr.inode());
            buf.putLong(pos + 8, i + 1L);
            buf.putInt(pos + 16, name.length);
            buf.putInt(pos + 20, attr.directory() ? DT_DIR : DT_REG);
            buf.put(pos + Proto.DIRENT_NAME_OFFSET, name);
            for (int z = pos + Proto.DIRENT_NAME_OFFSET + name.length; z < pos + direntLen; z++) {
                buf.put(z, (byte) 0);
            }
            pos += direntLen;
        }
        if (reply(buf, unique, pos - Proto.OUT_HEADER) != 0) {
            for (long id : counted) {
                nodes.forget(id, 1);
            }
        }
    }

    // ---- FORGET and INTERRUPT --------------------------------------------------------------------

    private void batchForget(ByteBuffer buf, int length) {
        int count = buf.getInt(Proto.IN_HEADER);
        int pos = Proto.IN_HEADER + 8;
        for (int i = 0; i < count && pos + 16 <= length; i++, pos += 16) {
            nodes.forget(buf.getLong(pos), buf.getLong(pos + 8));
        }
    }

    private void interrupt(ByteBuffer buf, long unique) {
        long target = buf.getLong(Proto.IN_HEADER);
        CompletableFuture<Void> f = inflight.get(target);
        if (f != null) {
            interruptsTotal.incrementAndGet();
            LOG.debug("request {} interrupted", target);
            f.complete(null);
            return; // no reply to an INTERRUPT itself: the interrupted request answers EINTR
        }
        // Not registered yet (another reader thread holds it) or already answered: EAGAIN makes
        // the kernel queue the interrupt again, and drops it if the request is gone.
        buf.clear();
        replyError(buf, unique, ErrorCodes.EAGAIN());
    }

    // ---- encoding --------------------------------------------------------------------------------

    private void putEntry(ByteBuffer buf, int o, long nodeId, Attr attr) {
        buf.putLong(o, nodeId);
        buf.putLong(o + 8, 0); // generation: IDs are never reused
        buf.putLong(o + 16, entryTimeout.getSeconds());
        buf.putLong(o + 24, attrTimeout.getSeconds());
        buf.putInt(o + 32, entryTimeout.getNano());
        buf.putInt(o + 36, attrTimeout.getNano());
        putAttr(buf, o + 40, attr);
    }

    private void putAttr(ByteBuffer buf, int o, Attr a) {
        long sec = Math.floorDiv(a.mtimeMillis(), 1000);
        int nsec = (int) Math.floorMod(a.mtimeMillis(), 1000) * 1_000_000;
        buf.putLong(o, a.inode());
        buf.putLong(o + 8, a.size());
        buf.putLong(o + 16, (a.size() + 511) / 512);
        buf.putLong(o + 24, sec);
        buf.putLong(o + 32, sec);
        buf.putLong(o + 40, sec);
        buf.putInt(o + 48, nsec);
        buf.putInt(o + 52, nsec);
        buf.putInt(o + 56, nsec);
        buf.putInt(o + 60, (a.directory() ? Proto.S_IFDIR : Proto.S_IFREG) | (a.mode() & PERMISSION_BITS));
        buf.putInt(o + 64, a.links());
        buf.putInt(o + 68, uid);
        buf.putInt(o + 72, gid);
        buf.putInt(o + 76, 0); // rdev
        buf.putInt(o + 80, 0); // blksize: the kernel's default
        buf.putInt(o + 84, 0); // flags
    }

    /** Sends the out header and {@code payload} bytes after it; returns what the channel said. */
    private int reply(ByteBuffer buf, long unique, int payload) {
        int len = Proto.OUT_HEADER + payload;
        buf.putInt(0, len).putInt(4, 0).putLong(8, unique);
        return send(buf, len);
    }

    private void replyEmpty(ByteBuffer buf, long unique) {
        buf.clear();
        reply(buf, unique, 0);
    }

    /** An error reply: the out header alone, with {@code -errno}. */
    private void replyError(ByteBuffer buf, long unique, int errno) {
        buf.clear();
        buf.putInt(0, Proto.OUT_HEADER).putInt(4, -Math.abs(errno)).putLong(8, unique);
        send(buf, Proto.OUT_HEADER);
    }

    private int send(ByteBuffer buf, int len) {
        ByteBuffer m = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN).clear().limit(len);
        int rc = channel.send(m);
        if (rc != 0 && LOG.isDebugEnabled()) {
            LOG.debug("reply to {} not taken: errno {}", buf.getLong(8), -rc);
        }
        return rc;
    }

    private void observeRead(long size) {
        long current = largestRead.get();
        while (size > current && !largestRead.compareAndSet(current, size)) {
            current = largestRead.get();
        }
    }

    private static String cString(ByteBuffer buf, int from, int end) {
        int i = from;
        while (i < end && buf.get(i) != 0) {
            i++;
        }
        byte[] b = new byte[i - from];
        buf.get(from, b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private static String parentOf(String path) {
        int slash = path.lastIndexOf('/');
        return slash <= 0 ? "/" : path.substring(0, slash);
    }

    private static int align8(int n) {
        return (n + 7) & ~7;
    }
}
