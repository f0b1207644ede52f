package io.weightfs.fuse;

import io.weightfs.fs.FsOps;
import io.weightfs.fuse.kernel.DevFuse;
import io.weightfs.fuse.kernel.FuseProtocol;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A mount served by weightfs's own FUSE transport ({@link FuseProtocol} over {@link DevFuse}): the
 * device is opened, mounted with mount(2) ({@code fd=N,rootmode=40000,user_id=..,group_id=..}), and
 * a pool of reader threads serves it.
 *
 * <p>Threads, the way libfuse's multi-threaded loop grows: each reader thread ("weightfs-fuse-N")
 * owns one buffer of {@link FuseProtocol#BUFFER_SIZE} bytes, reads a request, and handles it to the
 * end on the same thread. When the last idle reader takes a request, another one is started (up to
 * {@link #MAX_THREADS}), so that a read waiting for a download never keeps the kernel's next
 * request, above all an INTERRUPT for that very read, from being read; a reader that finds more
 * than {@link #MAX_IDLE} others idle ends. All end when the kernel says ENODEV (the mount is
 * gone), and {@link #loopEnded()} completes when the last one has returned.
 */
final class KernelSession implements FuseSession {
    private static final Logger LOG = LoggerFactory.getLogger(KernelSession.class);

    private static final Path DEV_FUSE = Path.of("/dev/fuse");
    /** Readers at start: enough for a few parallel readahead requests without spawning. */
    static final int INITIAL_THREADS = 4;
    /** Idle readers kept; more end (libfuse's max_idle_threads default is 10). */
    static final int MAX_IDLE = 8;
    /**
     * At most this many readers: each holds 1 MiB of native buffer. Requests blocked in FsOps come
     * from at most the kernel's max_background (12) readahead requests plus one per blocked reader
     * process, so 64 leaves room for INTERRUPTs to be read while many reads wait.
     */
    static final int MAX_THREADS = 64;
    /** Set to 0 (or "false") to mount without FUSE passthrough, for comparison. */
    static final String PASSTHROUGH_ENV = "WEIGHTFS_PASSTHROUGH";
    /** "fusermount3": mount through fusermount3 even as root (how tests cover the unprivileged route). */
    static final String MOUNT_PROPERTY = "weightfs.fuse.mount";

    private final DevFuse dev;
    private final FuseProtocol protocol;
    private final CompletableFuture<Void> loopEnded = new CompletableFuture<>();
    private final AtomicInteger threads = new AtomicInteger();
    private final AtomicInteger idle = new AtomicInteger();
    private final AtomicInteger names = new AtomicInteger();
    private final AtomicBoolean released = new AtomicBoolean();

    private KernelSession(DevFuse dev, FuseProtocol protocol) {
        this.dev = dev;
        this.protocol = protocol;
    }

    static KernelSession start(FsOps fs, Path mountpoint, MountOptions options, ProcessOwner owner) throws IOException {
        boolean viaFusermount = !owner.isRoot() || "fusermount3".equals(System.getProperty(MOUNT_PROPERTY));
        // Passthrough needs CAP_SYS_ADMIN for each backing file: not asked for where it cannot work.
        boolean passthrough = passthroughWanted() && owner.isRoot();
        DevFuse dev;
        if (viaFusermount) {
            dev = mountWithFusermount(mountpoint, options);
        } else {
            dev = DevFuse.open(DEV_FUSE);
            String data = "fd=" + dev.fd() + ",rootmode=40000,user_id=" + owner.uid() + ",group_id=" + owner.gid()
                    + ",default_permissions" + (options.allowOther() ? ",allow_other" : "");
            try {
                DevFuse.mount(options.fsName(), mountpoint, "fuse.weightfs",
                        DevFuse.MS_RDONLY | DevFuse.MS_NOSUID | DevFuse.MS_NODEV, data);
            } catch (IOException e) {
                dev.close();
                throw new IOException("could not mount " + mountpoint + " with --fuse kernel: " + e.getMessage(), e);
            }
        }
        FuseProtocol protocol = new FuseProtocol(fs, dev, Errnos.jnr(), owner.uid(), owner.gid(),
                options.attrTimeout(), options.entryTimeout(), passthrough);
        fs.setInvalidator(protocol::invalidate);
        KernelSession session = new KernelSession(dev, protocol);
        for (int i = 0; i < INITIAL_THREADS; i++) {
            session.spawn();
        }
        return session;
    }

    /**
     * The unprivileged route, as libfuse does it: fusermount3 (setuid root) opens /dev/fuse, mounts
     * it and sends the fd back over a socket named by {@code _FUSE_COMMFD}. The child can only
     * inherit the socket as one of its standard streams (the JDK closes every other fd in the
     * child), so it is put on this process's fd 0 for the moment of the start, then fd 0 is put
     * back; weightfs never reads its standard input.
     */
    private static DevFuse mountWithFusermount(Path mountpoint, MountOptions options) throws IOException {
        String opts = "ro,nosuid,nodev,default_permissions,fsname=" + options.fsName() + ",subtype=weightfs"
                + (options.allowOther() ? ",allow_other" : "");
        int[] sv = DevFuse.socketpair();
        Process p;
        synchronized (KernelSession.class) {
            int savedStdin = DevFuse.dup(0);
            try {
                DevFuse.dup2(sv[1], 0);
                ProcessBuilder pb = new ProcessBuilder("fusermount3", "-o", opts, "--", mountpoint.toString())
                        .redirectInput(ProcessBuilder.Redirect.INHERIT).redirectErrorStream(true);
                pb.environment().put("_FUSE_COMMFD", "0");
                p = pb.start();
            } catch (IOException e) {
                DevFuse.closeFd(sv[0]);
                throw new IOException("could not mount " + mountpoint + " with --fuse kernel: fusermount3 could not"
                        + " start (" + e.getMessage() + "); install it with 'apt-get install -y fuse3'", e);
            } finally {
                DevFuse.dup2(savedStdin, 0);
                DevFuse.closeFd(savedStdin);
                DevFuse.closeFd(sv[1]);
            }
        }
        int fd;
        try {
            fd = DevFuse.receiveFd(sv[0]);
        } finally {
            DevFuse.closeFd(sv[0]);
        }
        String output;
        try {
            p.waitFor(Unmounter.COMMAND_TIMEOUT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            output = new String(p.getInputStream().readNBytes(4096), java.nio.charset.StandardCharsets.UTF_8).strip();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            output = "";
        }
        if (fd < 0) {
            throw new IOException("could not mount " + mountpoint + " with --fuse kernel: fusermount3 -o " + opts
                    + " failed" + (output.isEmpty() ? "" : ": " + output));
        }
        LOG.debug("mounted {} through fusermount3 (fd {})", mountpoint, fd);
        return DevFuse.ofFd(fd);
    }

    private static boolean passthroughWanted() {
        String v = System.getenv(PASSTHROUGH_ENV);
        return v == null || !(v.equals("0") || v.equalsIgnoreCase("false") || v.equalsIgnoreCase("off"));
    }

    private void spawn() {
        threads.incrementAndGet();
        idle.incrementAndGet();
        Thread.ofPlatform().name("weightfs-fuse-" + names.incrementAndGet()).daemon().start(this::serve);
    }

    private void serve() {
        boolean wasIdle = true;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(FuseProtocol.BUFFER_SIZE, 4096);
            ByteBuffer buf = seg.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            while (true) {
                long n = dev.read(seg);
                if (n < 0) {
                    if (DevFuse.retryable(n)) {
                        continue;
                    }
                    if (!DevFuse.gone(n)) {
                        LOG.error("reading /dev/fuse failed: {}; this mount stops serving", DevFuse.strerror((int) -n));
                    }
                    return;
                }
                wasIdle = false;
                if (idle.decrementAndGet() == 0 && threads.get() < MAX_THREADS) {
                    spawn();
                }
                buf.clear().limit((int) n);
                protocol.handle(buf);
                wasIdle = true;
                if (idle.incrementAndGet() > MAX_IDLE) {
                    idle.decrementAndGet();
                    wasIdle = false;
                    return;
                }
            }
        } catch (Throwable t) {
            LOG.error("a FUSE reader thread failed; the mount goes on with the others", t);
        } finally {
            if (wasIdle) {
                idle.decrementAndGet();
            }
            if (threads.decrementAndGet() == 0) {
                loopEnded.complete(null);
            }
        }
    }

    @Override
    public FuseBinding binding() {
        return FuseBinding.KERNEL;
    }

    @Override
    public CompletableFuture<Void> loopEnded() {
        return loopEnded;
    }

    @Override
    public void release() {
        if (!released.compareAndSet(false, true)) {
            return;
        }
        protocol.close();
        dev.close();
        LOG.debug("FUSE transport released: {} passthrough opens, {} interrupts", protocol.passthroughOpens(),
                protocol.interrupts());
    }

    @Override
    public long largestReadRequest() {
        return protocol.largestReadRequest();
    }

    @Override
    public long unexpectedFailures() {
        return protocol.unexpectedFailures();
    }

    @Override
    public String transportNote() {
        return "FUSE passthrough " + protocol.passthroughState();
    }
}
