package io.weightfs.fuse.kernel;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import ru.serce.jnrfuse.ErrorCodes;

/**
 * {@code /dev/fuse} and the syscalls around it, through {@code java.lang.foreign}: NIO cannot pass
 * the device's fd number to {@code mount(2)}, issue its ioctls, or read one whole request per
 * call. Every call captures errno; failures come back as negative errnos (the hot path) or as an
 * {@link IOException} naming the call and the errno's text (setup).
 *
 * <p>Thread-safe: the fd is shared by every reader thread (the kernel hands each request to exactly
 * one {@code read}); each thread has its own errno capture segment.
 */
public final class DevFuse implements FuseChannel, AutoCloseable {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option ERRNO_OPTION = Linker.Option.captureCallState("errno");

    private static final MethodHandle OPEN = downcall("open",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT),
            ERRNO_OPTION, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle CLOSE = downcall("close",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), ERRNO_OPTION);
    private static final MethodHandle READ = downcall("read",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG),
            ERRNO_OPTION);
    private static final MethodHandle WRITE = downcall("write",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG),
            ERRNO_OPTION);
    private static final MethodHandle IOCTL = downcall("ioctl",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
            ERRNO_OPTION, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle MOUNT = downcall("mount",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG, ValueLayout.ADDRESS), ERRNO_OPTION);
    private static final MethodHandle UMOUNT2 = downcall("umount2",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT), ERRNO_OPTION);
    private static final MethodHandle SOCKETPAIR = downcall("socketpair",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS), ERRNO_OPTION);
    private static final MethodHandle DUP = downcall("dup",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), ERRNO_OPTION);
    private static final MethodHandle DUP2 = downcall("dup2",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), ERRNO_OPTION);
    private static final MethodHandle RECVMSG = downcall("recvmsg",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
            ERRNO_OPTION);
    private static final MethodHandle STRERROR = downcall("strerror",
            FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT));

    private static final int O_RDONLY = 0;
    private static final int O_RDWR = 2;
    private static final int O_CLOEXEC = 02000000;
    /** mount(2) flags: read-only, and nothing on it runs setuid or opens devices. */
    public static final long MS_RDONLY = 1;
    public static final long MS_NOSUID = 2;
    public static final long MS_NODEV = 4;
    /** umount2(2): abort the FUSE connection first (fails waiting requests with ENOTCONN). */
    public static final int MNT_FORCE = 1;
    public static final int MNT_DETACH = 2;

    /** _IOW(229, 1, struct fuse_backing_map): {int32 fd; uint32 flags; uint64 padding}. */
    static final long FUSE_DEV_IOC_BACKING_OPEN = ioc(1, 229, 1, 16);
    /** _IOW(229, 2, uint32_t). */
    static final long FUSE_DEV_IOC_BACKING_CLOSE = ioc(1, 229, 2, 4);

    private static final ThreadLocal<MemorySegment> CAPTURE_SEGMENT =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE));

    private final int fd;
    private final AtomicBoolean closed = new AtomicBoolean();

    private DevFuse(int fd) {
        this.fd = fd;
    }

    /** Opens {@code /dev/fuse} read-write (close-on-exec: no helper process inherits it). */
    public static DevFuse open(Path device) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = a.allocate(CAPTURE);
            int fd = (int) OPEN.invokeExact(cs, a.allocateFrom(device.toString()), O_RDWR | O_CLOEXEC, 0);
            if (fd < 0) {
                throw failure("open " + device, errno(cs));
            }
            return new DevFuse(fd);
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
        }
    }

    public int fd() {
        return fd;
    }

    /** Takes over an fd of /dev/fuse that fusermount3 opened and mounted. */
    public static DevFuse ofFd(int fd) {
        return new DevFuse(fd);
    }

    /** socketpair(AF_UNIX, SOCK_STREAM): the channel fusermount3 sends the mounted fd back on. */
    public static int[] socketpair() throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = a.allocate(CAPTURE);
            MemorySegment sv = a.allocate(ValueLayout.JAVA_INT, 2);
            int rc = (int) SOCKETPAIR.invokeExact(cs, 1 /* AF_UNIX */, 1 /* SOCK_STREAM */, 0, sv);
            if (rc != 0) {
                throw failure("socketpair", errno(cs));
            }
            return new int[] {sv.getAtIndex(ValueLayout.JAVA_INT, 0), sv.getAtIndex(ValueLayout.JAVA_INT, 1)};
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
        }
    }

    /** dup(2); throws on failure. */
    public static int dup(int fd) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = a.allocate(CAPTURE);
            int rc = (int) DUP.invokeExact(cs, fd);
            if (rc < 0) {
                throw failure("dup", errno(cs));
            }
            return rc;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
        }
    }

    /** dup2(2); throws on failure. */
    public static void dup2(int from, int to) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = a.allocate(CAPTURE);
            int rc = (int) DUP2.invokeExact(cs, from, to);
            if (rc < 0) {
                throw failure("dup2", errno(cs));
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
        }
    }

    /** close(2) of a plain fd; errors ignored. */
    public static void closeFd(int fd) {
        try (Arena a = Arena.ofConfined()) {
            int ignored = (int) CLOSE.invokeExact(a.allocate(CAPTURE), fd);
        } catch (Throwable t) {
            throw new IllegalStateException("close", t);
        }
    }

    /**
     * Receives one fd sent with SCM_RIGHTS on {@code socket} (fusermount3's _FUSE_COMMFD protocol:
     * one byte of data, the fd in the control message). Blocks; returns -1 when the sender closed
     * the socket without sending one (fusermount3 failed).
     */
    public static int receiveFd(int socket) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = a.allocate(CAPTURE);
            MemorySegment data = a.allocate(1);
            MemorySegment iov = a.allocate(16, 8); // struct iovec { void *base; size_t len; }
            iov.set(ValueLayout.ADDRESS, 0, data);
            iov.set(ValueLayout.JAVA_LONG, 8, 1);
            // CMSG_SPACE(sizeof(int)) on LP64: a 16-byte cmsghdr, the int, padding to 8.
            MemorySegment control = a.allocate(24, 8);
            MemorySegment msg = a.allocate(56, 8); // struct msghdr on LP64
            msg.set(ValueLayout.ADDRESS, 16, iov);
            msg.set(ValueLayout.JAVA_LONG, 24, 1);
            msg.set(ValueLayout.ADDRESS, 32, control);
            msg.set(ValueLayout.JAVA_LONG, 40, control.byteSize());
            long n;
            do {
                n = (long) RECVMSG.invokeExact(cs, socket, msg, 0);
            } while (n < 0 && errno(cs) == ErrorCodes.EINTR());
            if (n < 0) {
                throw failure("recvmsg", errno(cs));
            }
            long controlLen = msg.get(ValueLayout.JAVA_LONG, 40);
            if (n == 0 || controlLen < 20 || control.get(ValueLayout.JAVA_INT, 8) != 1 /* SOL_SOCKET */
                    || control.get(ValueLayout.JAVA_INT, 12) != 1 /* SCM_RIGHTS */) {
                return -1;
            }
            return control.get(ValueLayout.JAVA_INT, 16);
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
        }
    }

    /** mount(2). */
    public static void mount(String source, Path target, String fsType, long flags, String data) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = a.allocate(CAPTURE);
            int rc = (int) MOUNT.invokeExact(cs, a.allocateFrom(source), a.allocateFrom(target.toString()),
                    a.allocateFrom(fsType), flags, a.allocateFrom(data));
            if (rc != 0) {
                throw failure("mount(2) of " + target, errno(cs));
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
        }
    }

    /** umount2(2); returns 0 or the errno. */
    public static int umount2(Path target, int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = a.allocate(CAPTURE);
            int rc = (int) UMOUNT2.invokeExact(cs, a.allocateFrom(target.toString()), flags);
            return rc == 0 ? 0 : errno(cs);
        } catch (Throwable t) {
            throw new IllegalStateException("umount2", t);
        }
    }

    /**
     * Reads one request into {@code buf} (which must be at least {@link FuseProtocol#BUFFER_SIZE}).
     * Returns its length, or a negative errno: ENODEV once the mount is gone; EINTR, EAGAIN and
     * ENOENT mean "read again".
     */
    public long read(MemorySegment buf) {
        MemorySegment cs = CAPTURE_SEGMENT.get();
        try {
            long n = (long) READ.invokeExact(cs, fd, buf, buf.byteSize());
            return n >= 0 ? n : -errno(cs);
        } catch (Throwable t) {
            throw new IllegalStateException("read(/dev/fuse)", t);
        }
    }

    @Override
    public int send(ByteBuffer message) {
        MemorySegment cs = CAPTURE_SEGMENT.get();
        MemorySegment m = MemorySegment.ofBuffer(message);
        if (!m.isNative()) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment copy = a.allocate(m.byteSize());
                copy.copyFrom(m);
                return write(cs, copy);
            }
        }
        return write(cs, m);
    }

    private int write(MemorySegment cs, MemorySegment m) {
        try {
            long n = (long) WRITE.invokeExact(cs, fd, m, m.byteSize());
            return n >= 0 ? 0 : -errno(cs);
        } catch (Throwable t) {
            throw new IllegalStateException("write(/dev/fuse)", t);
        }
    }

    @Override
    public int openBacking(Path file) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = a.allocate(CAPTURE);
            int backingFd = (int) OPEN.invokeExact(cs, a.allocateFrom(file.toString()), O_RDONLY | O_CLOEXEC, 0);
            if (backingFd < 0) {
                return -errno(cs);
            }
            try {
                MemorySegment map = a.allocate(16, 8);
                map.set(ValueLayout.JAVA_INT, 0, backingFd);
                int id = (int) IOCTL.invokeExact(cs, fd, FUSE_DEV_IOC_BACKING_OPEN, map);
                return id > 0 ? id : -errno(cs);
            } finally {
                int ignored = (int) CLOSE.invokeExact(cs, backingFd); // the kernel holds its own reference
            }
        } catch (Throwable t) {
            throw new IllegalStateException("FUSE_DEV_IOC_BACKING_OPEN", t);
        }
    }

    @Override
    public void closeBacking(int backingId) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cs = a.allocate(CAPTURE);
            MemorySegment id = a.allocate(ValueLayout.JAVA_INT);
            id.set(ValueLayout.JAVA_INT, 0, backingId);
            int ignored = (int) IOCTL.invokeExact(cs, fd, FUSE_DEV_IOC_BACKING_CLOSE, id);
        } catch (Throwable t) {
            throw new IllegalStateException("FUSE_DEV_IOC_BACKING_CLOSE", t);
        }
    }

    /** Closes the fd; the kernel then aborts the connection if it is still mounted. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try (Arena a = Arena.ofConfined()) {
            int ignored = (int) CLOSE.invokeExact(a.allocate(CAPTURE), fd);
        } catch (Throwable t) {
            throw new IllegalStateException("close(/dev/fuse)", t);
        }
    }

    /** The C library's text for an errno ("Operation not permitted"). */
    @SuppressWarnings("restricted")
    public static String strerror(int errno) {
        try {
            MemorySegment s = (MemorySegment) STRERROR.invokeExact(errno);
            return s.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }

    public static boolean retryable(long negErrno) {
        int e = (int) -negErrno;
        return e == ErrorCodes.EINTR() || e == ErrorCodes.EAGAIN() || e == ErrorCodes.ENOENT();
    }

    public static boolean gone(long negErrno) {
        return (int) -negErrno == ErrorCodes.ENODEV();
    }

    private static IOException failure(String what, int errno) {
        return new IOException(what + " failed: " + strerror(errno) + " (errno " + errno + ")");
    }

    private static int errno(MemorySegment cs) {
        return (int) ERRNO.get(cs, 0L);
    }

    /** Linux's _IOC(dir, type, nr, size) on x86-64 and aarch64: dir 1 write, 2 read. */
    private static long ioc(int dir, int type, int nr, int size) {
        return ((long) dir << 30) | ((long) size << 16) | ((long) type << 8) | nr;
    }

    @SuppressWarnings("restricted")
    private static MethodHandle downcall(String name, FunctionDescriptor fd, Linker.Option... options) {
        return LINKER.downcallHandle(LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name)),
                fd, options);
    }
}
