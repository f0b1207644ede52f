package io.weightfs.fuse.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weightfs.fs.Attr;
import io.weightfs.fs.DirEntry;
import io.weightfs.fs.FsException;
import io.weightfs.fs.FsOps;
import io.weightfs.fs.FsStats;
import io.weightfs.fs.Interrupt;
import io.weightfs.fuse.Errnos;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import ru.serce.jnrfuse.ErrorCodes;

/**
 * {@link FuseProtocol} fed hand-built request bytes (layouts of include/uapi/linux/fuse.h), its
 * replies read back byte by byte from a recording channel. No mount, no device.
 */
class FuseProtocolTest {
    private static final int ROOT_INO = 1;
    private static final byte[] CONTENT = "0123456789abcdef".repeat(100).getBytes(StandardCharsets.US_ASCII);

    /** What the protocol sent, and what passthrough registrations it made. */
    static final class RecordingChannel implements FuseChannel {
        final BlockingQueue<ByteBuffer> sent = new LinkedBlockingQueue<>();
        final List<Path> backingOpened = new ArrayList<>();
        final List<Integer> backingClosed = new ArrayList<>();
        int nextBackingId = 7;
        int backingResult = 0;

        @Override
        public synchronized int send(ByteBuffer message) {
            ByteBuffer copy = ByteBuffer.allocate(message.remaining()).order(ByteOrder.LITTLE_ENDIAN);
            copy.put(message.duplicate()).flip();
            sent.add(copy);
            return 0;
        }

        @Override
        public synchronized int openBacking(Path file) {
            backingOpened.add(file);
            return backingResult != 0 ? backingResult : nextBackingId++;
        }

        @Override
        public synchronized void closeBacking(int backingId) {
            backingClosed.add(backingId);
        }

        ByteBuffer next() throws InterruptedException {
            ByteBuffer b = sent.poll(10, TimeUnit.SECONDS);
            if (b == null) {
                throw new AssertionError("no reply within 10 s");
            }
            return b;
        }
    }

    /** A two-level tree: /a.bin (verified, has a backing file), /dir/b.txt, /.ctl (direct I/O). */
    static final class SmallFs implements FsOps {
        final Map<Long, String> handles = new ConcurrentHashMap<>();
        final AtomicInteger nextHandle = new AtomicInteger(100);
        volatile CountDownLatch readStarted = new CountDownLatch(1);
        volatile boolean blockReads;

        @Override
        public Attr getattr(String path) throws FsException {
            return switch (path) {
                case "/" -> new Attr(ROOT_INO, true, 0, 1_700_000_000_123L, 0555, 3);
                case "/dir" -> new Attr(2, true, 0, 1_700_000_000_000L, 0555, 2);
                case "/a.bin" -> new Attr(3, false, CONTENT.length, 1_700_000_000_000L, 0444, 1);
                case "/dir/b.txt" -> new Attr(4, false, 5, 1_700_000_000_000L, 0444, 1);
                case "/.ctl" -> new Attr(5, false, 0, 1_700_000_000_000L, 0444, 1);
                default -> throw new FsException(FsException.Kind.NOT_FOUND, path);
            };
        }

        @Override
        public List<DirEntry> readdir(String path) throws FsException {
            return switch (path) {
                case "/" -> List.of(new DirEntry("a.bin", getattr("/a.bin")), new DirEntry("dir", getattr("/dir")),
                        new DirEntry(".ctl", getattr("/.ctl")));
                case "/dir" -> List.of(new DirEntry("b.txt", getattr("/dir/b.txt")));
                default -> throw new FsException(FsException.Kind.NOT_A_DIRECTORY, path);
            };
        }

        @Override
        public long open(String path, boolean writable) throws FsException {
            if (getattr(path).directory()) {
                throw new FsException(FsException.Kind.IS_A_DIRECTORY, path);
            }
            if (writable) {
                throw new FsException(FsException.Kind.READ_ONLY, path);
            }
            long h = nextHandle.getAndIncrement();
            handles.put(h, path);
            return h;
        }

        @Override
        public boolean directIo(long handle) {
            return "/.ctl".equals(handles.get(handle));
        }

        @Override
        public Optional<Path> backingFile(long handle) {
            return "/a.bin".equals(handles.get(handle)) ? Optional.of(Path.of("/store/blobs/a")) : Optional.empty();
        }

        @Override
        public int read(long handle, ByteBuffer dst, long offset) throws FsException {
            return read(handle, dst, offset, Interrupt.NONE);
        }

        @Override
        public int read(long handle, ByteBuffer dst, long offset, Interrupt interrupt) throws FsException {
            if (blockReads) {
                readStarted.countDown();
                interrupt.signalled().join();
                throw new FsException(FsException.Kind.INTERRUPTED, "signalled");
            }
            int n = (int) Math.max(0, Math.min(dst.remaining(), CONTENT.length - offset));
            dst.put(CONTENT, (int) offset, n);
            return n;
        }

        @Override
        public void release(long handle) {
            handles.remove(handle);
        }

        @Override
        public FsStats statfs() {
            return new FsStats(4096, 10, 0, 5, 255);
        }

        @Override
        public int getxattr(String path, String name, ByteBuffer dst) throws FsException {
            if (!path.equals("/a.bin") || !name.equals("user.hash")) {
                throw new FsException(FsException.Kind.NO_ATTRIBUTE, name);
            }
            byte[] v = "sha256:abc".getBytes(StandardCharsets.US_ASCII);
            if (dst.remaining() >= v.length) {
                dst.put(v);
            }
            return v.length;
        }

        @Override
        public List<String> listxattr(String path) throws FsException {
            getattr(path);
            return path.equals("/a.bin") ? List.of("user.hash") : List.of();
        }
    }

    private final RecordingChannel channel = new RecordingChannel();
    private final SmallFs fs = new SmallFs();
    private final FuseProtocol protocol = new FuseProtocol(fs, channel, Errnos.jnr(), 1000, 1001,
            Duration.ofSeconds(3600), Duration.ofMillis(1500), true);
    private long unique = 2;

    /** A request: in header (40 bytes) + body; the buffer is as large as a reader thread's. */
    private ByteBuffer request(int opcode, long nodeId, byte[] body) {
        ByteBuffer b = ByteBuffer.allocateDirect(FuseProtocol.BUFFER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        int len = 40 + body.length;
        b.putInt(0, len).putInt(4, opcode).putLong(8, unique += 2).putLong(16, nodeId)
                .putInt(24, 0).putInt(28, 0).putInt(32, 4242).putShort(36, (short) 0).putShort(38, (short) 0);
        b.put(40, body);
        b.limit(len);
        return b;
    }

    private static byte[] body(int size, java.util.function.Consumer<ByteBuffer> fill) {
        ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        fill.accept(b);
        return b.array();
    }

    private static byte[] name(String s) {
        byte[] n = s.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[n.length + 1];
        System.arraycopy(n, 0, out, 0, n.length);
        return out;
    }

    private ByteBuffer call(int opcode, long nodeId, byte[] body) throws InterruptedException {
        ByteBuffer req = request(opcode, nodeId, body);
        long u = req.getLong(8);
        protocol.handle(req);
        ByteBuffer reply = channel.next();
        assertEquals(reply.remaining(), reply.getInt(0), "out header len is the message's length");
        assertEquals(u, reply.getLong(8), "the reply carries the request's unique");
        return reply;
    }

    private void init() throws InterruptedException {
        long flags = Proto.ASYNC_READ | Proto.MAX_PAGES | Proto.INIT_EXT | Proto.PARALLEL_DIROPS | Proto.DO_READDIRPLUS
                | (1L << 16) /* writeback cache: never wanted */ | Proto.PASSTHROUGH;
        ByteBuffer r = call(Proto.INIT, 0, body(64, b -> b.putInt(7).putInt(45).putInt(131072)
                .putInt((int) flags).putInt((int) (flags >>> 32))));
        assertEquals(0, r.getInt(4));
    }

    private long lookup(long parent, String n) throws InterruptedException {
        ByteBuffer r = call(Proto.LOOKUP, parent, name(n));
        assertEquals(0, r.getInt(4), "lookup " + n);
        return r.getLong(16);
    }

    @Test
    void init_answers740_withTheFlagsItWants_maxPagesForOneMebibyteReads_andPassthroughWhenOffered() throws Exception {
        long flags = Proto.ASYNC_READ | Proto.MAX_PAGES | Proto.INIT_EXT | Proto.PARALLEL_DIROPS | (1L << 16)
                | Proto.PASSTHROUGH;
        ByteBuffer r = call(Proto.INIT, 0, body(64, b -> b.putInt(7).putInt(45).putInt(131072)
                .putInt((int) flags).putInt((int) (flags >>> 32))));
        assertEquals(16 + 64, r.remaining());
        assertEquals(0, r.getInt(4));
        assertEquals(7, r.getInt(16));
        assertEquals(40, r.getInt(20));
        long want = (r.getInt(28) & 0xffffffffL) | ((long) r.getInt(48) << 32);
        assertTrue((want & Proto.ASYNC_READ) != 0);
        assertTrue((want & Proto.MAX_PAGES) != 0);
        assertTrue((want & Proto.PASSTHROUGH) != 0);
        assertEquals(0, want & (1L << 16), "never writeback cache (and passthrough excludes it)");
        assertEquals(256, r.getShort(44), "max_pages: 256 x 4 KiB = 1 MiB reads");
        assertEquals(1, r.getInt(52), "max_stack_depth");
        assertEquals(1, r.getInt(40), "time_gran: 1 ns");
        assertTrue(protocol.passthroughActive());
    }

    @Test
    void init_withoutPassthroughOnOffer_saysWhyItIsOff() throws Exception {
        long flags = Proto.ASYNC_READ | Proto.MAX_PAGES;
        ByteBuffer r = call(Proto.INIT, 0, body(64, b -> b.putInt(7).putInt(38).putInt(131072).putInt((int) flags)));
        assertEquals(0, r.getInt(4));
        assertEquals(0, r.getInt(52));
        assertFalse(protocol.passthroughActive());
        assertTrue(protocol.passthroughState().contains("does not offer"), protocol.passthroughState());
    }

    @Test
    void init_fromAKernelTooOld_isRefusedWithEPROTO() throws Exception {
        ByteBuffer r = call(Proto.INIT, 0, body(64, b -> b.putInt(7).putInt(19).putInt(131072).putInt(0)));
        assertEquals(-ErrorCodes.EPROTO(), r.getInt(4));
    }

    @Test
    void lookup_answersTheEntryWithAttributesAndTimeouts_andForgetDropsTheNode() throws Exception {
        init();
        ByteBuffer r = call(Proto.LOOKUP, 1, name("a.bin"));
        assertEquals(16 + 128, r.remaining());
        long id = r.getLong(16);
        assertTrue(id > 1);
        assertEquals(0, r.getLong(24), "generation");
        assertEquals(1, r.getLong(32), "entry_valid seconds");
        assertEquals(3600, r.getLong(40), "attr_valid seconds");
        assertEquals(500_000_000, r.getInt(48), "entry_valid nsec");
        int a = 16 + 40;
        assertEquals(3, r.getLong(a), "ino");
        assertEquals(CONTENT.length, r.getLong(a + 8), "size");
        assertEquals(1_700_000_000L, r.getLong(a + 32), "mtime");
        assertEquals(0100444, r.getInt(a + 60), "mode: regular file, 0444");
        assertEquals(1000, r.getInt(a + 68), "uid");
        assertEquals(1001, r.getInt(a + 72), "gid");

        assertEquals(id, lookup(1, "a.bin"), "the same path keeps its node ID");
        assertEquals(2, protocol.lookups(id));
        protocol.handle(request(Proto.FORGET, id, body(8, b -> b.putLong(1))));
        assertEquals(1, protocol.lookups(id));
        protocol.handle(request(Proto.BATCH_FORGET, 0, body(8 + 16, b -> b.putInt(1).putInt(0).putLong(id).putLong(1))));
        assertEquals(0, protocol.lookups(id));
        assertTrue(channel.sent.isEmpty(), "FORGET and BATCH_FORGET get no reply");
        assertTrue(lookup(1, "a.bin") > id, "a forgotten node's ID is never reused");
    }

    @Test
    void lookup_ofAnUnknownName_isENOENT() throws Exception {
        init();
        assertEquals(-ErrorCodes.ENOENT(), call(Proto.LOOKUP, 1, name("nope")).getInt(4));
        assertEquals(-ErrorCodes.ENOENT(), call(Proto.LOOKUP, 999, name("a.bin")).getInt(4), "unknown parent");
    }

    @Test
    void getattr_ofTheRoot_isADirectory() throws Exception {
        init();
        ByteBuffer r = call(Proto.GETATTR, 1, body(16, b -> {}));
        assertEquals(16 + 104, r.remaining());
        assertEquals(3600, r.getLong(16));
        assertEquals(040555, r.getInt(16 + 16 + 60));
        assertEquals(123_000_000, r.getInt(16 + 16 + 52), "mtime nsec");
    }

    @Test
    void readdirplus_listsDotEntriesWithoutNodes_countsALookupForEveryOtherEntry_andPagesByOffset() throws Exception {
        init();
        ByteBuffer o = call(Proto.OPENDIR, 1, body(8, b -> {}));
        assertEquals(0, o.getInt(4));
        long dh = o.getLong(16);
        ByteBuffer r = call(Proto.READDIRPLUS, 1, body(40, b -> b.putLong(dh).putLong(0).putInt(4096)));
        List<String> names = new ArrayList<>();
        List<Long> ids = new ArrayList<>();
        int pos = 16;
        long lastOff = 0;
        while (pos < r.remaining()) {
            long nodeId = r.getLong(pos);
            int d = pos + 128;
            int nameLen = r.getInt(d + 16);
            byte[] n = new byte[nameLen];
            r.get(d + 24, n);
            names.add(new String(n, StandardCharsets.UTF_8));
            ids.add(nodeId);
            lastOff = r.getLong(d + 8);
            pos = d + ((24 + nameLen + 7) & ~7);
        }
        assertEquals(List.of(".", "..", "a.bin", "dir", ".ctl"), names);
        assertEquals(0L, ids.get(0));
        assertEquals(0L, ids.get(1));
        assertEquals(5, lastOff);
        for (int i = 2; i < ids.size(); i++) {
            assertEquals(1, protocol.lookups(ids.get(i)), names.get(i));
        }
        assertEquals(ids.get(3), lookup(1, "dir"), "readdirplus and lookup agree on node IDs");

        // From offset 3, a small buffer: "dir" only (".ctl" does not fit after it).
        ByteBuffer page = call(Proto.READDIR, 1, body(40, b -> b.putLong(dh).putLong(3).putInt(40)));
        assertEquals(16 + 32, page.remaining());
        assertEquals(2, page.getLong(16), "ino of dir");
        assertEquals(4, page.getLong(24), "next offset");
        assertEquals(4, page.getInt(36), "DT_DIR");
        ByteBuffer end = call(Proto.READDIR, 1, body(40, b -> b.putLong(dh).putLong(5).putInt(4096)));
        assertEquals(16, end.remaining(), "past the end: empty");
        assertEquals(0, call(Proto.RELEASEDIR, 1, body(24, b -> b.putLong(dh))).getInt(4));
        assertEquals(-ErrorCodes.EBADF(), call(Proto.READDIR, 1, body(40, b -> b.putLong(dh).putLong(0).putInt(4096)))
                .getInt(4));
    }

    @Test
    void open_ofAVerifiedFile_isPassthrough_withOneBackingIdPerNode_closedAfterTheLastRelease() throws Exception {
        init();
        long id = lookup(1, "a.bin");
        ByteBuffer o1 = call(Proto.OPEN, id, body(8, b -> b.putInt(0)));
        ByteBuffer o2 = call(Proto.OPEN, id, body(8, b -> b.putInt(0)));
        assertEquals(Proto.FOPEN_PASSTHROUGH, o1.getInt(24));
        assertEquals(7, o1.getInt(28), "backing id");
        assertEquals(7, o2.getInt(28), "the same backing id for a second open of the node");
        assertEquals(List.of(Path.of("/store/blobs/a")), channel.backingOpened);
        call(Proto.RELEASE, id, body(24, b -> b.putLong(o1.getLong(16))));
        assertEquals(List.of(), channel.backingClosed);
        call(Proto.RELEASE, id, body(24, b -> b.putLong(o2.getLong(16))));
        assertEquals(List.of(7), channel.backingClosed);
        assertTrue(fs.handles.isEmpty());
    }

    @Test
    void open_whileTheNodeIsOpenThroughThePageCache_isNotPassthrough() throws Exception {
        init();
        long b = lookup(1, "a.bin");
        fs.nextHandle.set(100);
        // The first open finds no backing file (say, still filling): cached.
        channel.backingResult = -ErrorCodes.ENOENT();
        ByteBuffer cached = call(Proto.OPEN, b, body(8, x -> x.putInt(0)));
        assertEquals(0, cached.getInt(24) & Proto.FOPEN_PASSTHROUGH);
        channel.backingResult = 0;
        ByteBuffer second = call(Proto.OPEN, b, body(8, x -> x.putInt(0)));
        assertEquals(0, second.getInt(24) & Proto.FOPEN_PASSTHROUGH, "the kernel would refuse it (ETXTBSY)");
        assertEquals(1, channel.backingOpened.size(), "no second registration attempt while cached opens exist");
        call(Proto.RELEASE, b, body(24, x -> x.putLong(cached.getLong(16))));
        call(Proto.RELEASE, b, body(24, x -> x.putLong(second.getLong(16))));
        assertEquals(Proto.FOPEN_PASSTHROUGH, call(Proto.OPEN, b, body(8, x -> x.putInt(0))).getInt(24));
    }

    @Test
    void aRefusedBackingFile_turnsPassthroughOff_andTheOpenIsServedByTheDaemon() throws Exception {
        init();
        long b = lookup(1, "a.bin");
        channel.backingResult = -ErrorCodes.EPERM();
        ByteBuffer o = call(Proto.OPEN, b, body(8, x -> x.putInt(0)));
        assertEquals(0, o.getInt(4));
        assertEquals(Proto.FOPEN_KEEP_CACHE, o.getInt(24));
        assertFalse(protocol.passthroughActive());
        assertTrue(protocol.passthroughState().contains("CAP_SYS_ADMIN"), protocol.passthroughState());
    }

    @Test
    void controlFiles_openWithDirectIo_andWritableOpensAreEROFS() throws Exception {
        init();
        long c = lookup(1, ".ctl");
        assertEquals(Proto.FOPEN_DIRECT_IO, call(Proto.OPEN, c, body(8, x -> x.putInt(0))).getInt(24));
        long a = lookup(1, "a.bin");
        assertEquals(-ErrorCodes.EROFS(), call(Proto.OPEN, a, body(8, x -> x.putInt(2 /* O_RDWR */))).getInt(4));
    }

    @Test
    void read_isAnsweredWithTheBytesAtTheOffset_shortAtTheEnd() throws Exception {
        init();
        long a = lookup(1, "a.bin");
        long fh = call(Proto.OPEN, a, body(8, x -> x.putInt(0))).getLong(16);
        ByteBuffer r = call(Proto.READ, a, body(40, x -> x.putLong(fh).putLong(10).putInt(20)));
        assertEquals(16 + 20, r.remaining());
        byte[] got = new byte[20];
        r.get(16, got);
        assertEquals(new String(CONTENT, 10, 20, StandardCharsets.US_ASCII), new String(got, StandardCharsets.US_ASCII));
        ByteBuffer tail = call(Proto.READ, a, body(40, x -> x.putLong(fh).putLong(CONTENT.length - 4).putInt(1 << 20)));
        assertEquals(16 + 4, tail.remaining());
        assertEquals(1 << 20, protocol.largestReadRequest());
    }

    @Test
    void interrupt_ofAReadWaitingInTheFilesystem_answersItEINTR_andTheInterruptItselfGetsNoReply() throws Exception {
        init();
        long a = lookup(1, "a.bin");
        long fh = call(Proto.OPEN, a, body(8, x -> x.putInt(0))).getLong(16);
        fs.blockReads = true;
        ByteBuffer read = request(Proto.READ, a, body(40, x -> x.putLong(fh).putLong(0).putInt(4096)));
        long readUnique = read.getLong(8);
        CompletableFuture<Void> reader = CompletableFuture.runAsync(() -> protocol.handle(read));
        assertTrue(fs.readStarted.await(10, TimeUnit.SECONDS));
        ByteBuffer intr = request(Proto.INTERRUPT, 0, body(8, x -> x.putLong(readUnique)));
        intr.putLong(8, readUnique | Proto.INT_REQ_BIT);
        protocol.handle(intr);
        ByteBuffer r = channel.next();
        assertEquals(readUnique, r.getLong(8), "the answer is to the read");
        assertEquals(-ErrorCodes.EINTR(), r.getInt(4));
        reader.get(10, TimeUnit.SECONDS);
        assertTrue(channel.sent.isEmpty());
        assertEquals(1, protocol.interrupts());
        assertEquals(0, protocol.inflight());
    }

    @Test
    void interrupt_ofARequestNotSeenYet_isAnsweredEAGAIN_soTheKernelQueuesItAgain() throws Exception {
        init();
        ByteBuffer intr = request(Proto.INTERRUPT, 0, body(8, x -> x.putLong(12345)));
        long u = 12345 | Proto.INT_REQ_BIT;
        intr.putLong(8, u);
        protocol.handle(intr);
        ByteBuffer r = channel.next();
        assertEquals(u, r.getLong(8));
        assertEquals(-ErrorCodes.EAGAIN(), r.getInt(4));
        assertEquals(16, r.remaining());
    }

    @Test
    void changes_areEROFS_andUnknownOperationsENOSYS() throws Exception {
        init();
        for (int op : new int[] {Proto.SETATTR, Proto.MKDIR, Proto.UNLINK, Proto.RMDIR, Proto.RENAME, Proto.WRITE,
                Proto.CREATE, Proto.SETXATTR, Proto.REMOVEXATTR, Proto.SYMLINK, Proto.LINK, Proto.MKNOD}) {
            assertEquals(-ErrorCodes.EROFS(), call(op, 1, new byte[64]).getInt(4), Proto.opName(op));
        }
        assertEquals(-ErrorCodes.ENOSYS(), call(39 /* IOCTL */, 1, new byte[32]).getInt(4));
        assertEquals(-ErrorCodes.ENOSYS(), call(Proto.FSYNC, 1, new byte[16]).getInt(4));
        assertEquals(0, call(Proto.FLUSH, 1, new byte[24]).getInt(4));
    }

    @Test
    void xattrs_answerSizeQueries_theValue_ERANGEWhenTooSmall_andTheList() throws Exception {
        init();
        long a = lookup(1, "a.bin");
        byte[] n = name("user.hash");
        ByteBuffer q = call(Proto.GETXATTR, a, concat(body(8, x -> x.putInt(0)), n));
        assertEquals(16 + 8, q.remaining());
        assertEquals(10, q.getInt(16));
        ByteBuffer v = call(Proto.GETXATTR, a, concat(body(8, x -> x.putInt(64)), n));
        byte[] got = new byte[v.remaining() - 16];
        v.get(16, got);
        assertEquals("sha256:abc", new String(got, StandardCharsets.US_ASCII));
        assertEquals(-ErrorCodes.ERANGE(), call(Proto.GETXATTR, a, concat(body(8, x -> x.putInt(4)), n)).getInt(4));
        assertEquals(-ErrorCodes.ENODATA(), call(Proto.GETXATTR, a, concat(body(8, x -> x.putInt(64)),
                name("user.other"))).getInt(4));
        ByteBuffer l = call(Proto.LISTXATTR, a, body(8, x -> x.putInt(64)));
        byte[] list = new byte[l.remaining() - 16];
        l.get(16, list);
        assertEquals("user.hash\0", new String(list, StandardCharsets.US_ASCII));
    }

    @Test
    void statfs_reportsTheFilesystemsCounts() throws Exception {
        init();
        ByteBuffer r = call(Proto.STATFS, 1, new byte[0]);
        assertEquals(16 + 80, r.remaining());
        assertEquals(10, r.getLong(16));
        assertEquals(5, r.getLong(16 + 24));
        assertEquals(4096, r.getInt(16 + 40));
        assertEquals(255, r.getInt(16 + 44));
    }

    @Test
    void invalidate_ofAKnownFile_sendsNotifyInvalInode_withUniqueZero() throws Exception {
        init();
        long a = lookup(1, "a.bin");
        protocol.invalidate("/a.bin");
        ByteBuffer m = channel.next();
        assertEquals(16 + 24, m.remaining());
        assertEquals(Proto.NOTIFY_INVAL_INODE, m.getInt(4));
        assertEquals(0, m.getLong(8));
        assertEquals(a, m.getLong(16));
        protocol.invalidate("/dir/b.txt"); // never looked up: nothing to drop, nothing sent
        assertTrue(channel.sent.poll(200, TimeUnit.MILLISECONDS) == null);
        protocol.close();
        protocol.invalidate("/a.bin"); // after unmount: nothing to drop, and no failure for the caller
        assertTrue(channel.sent.poll(200, TimeUnit.MILLISECONDS) == null);
    }

    @Test
    void aTruncatedRequest_isDropped_notAnsweredWithGarbage() {
        ByteBuffer b = request(Proto.GETATTR, 1, new byte[0]);
        b.putInt(0, 999);
        protocol.handle(b);
        assertTrue(channel.sent.isEmpty());
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
