package io.weightfs.fuse;

import io.weightfs.fs.FsOps;
import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.cryptomator.jfuse.api.Fuse;
import org.cryptomator.jfuse.api.FuseBuilder;
import org.cryptomator.jfuse.api.FuseMountFailedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A jfuse mount. jfuse runs libfuse3's multi-threaded loop as the only task of a single-thread
 * executor ({@code jfuse-main-N}); {@link Fuse#mount} returns once the kernel answered a probe
 * ({@code getattr("/jfuse_mount_probe")}, which reaches {@code FsOps} and must be NOT_FOUND).
 *
 * <p>Why we watch the loop: {@link Fuse#close()} waits only 10 s for the loop and then closes the
 * arena holding the upcall stubs, even if a worker thread is still inside a callback (a read blocked
 * in {@code FsOps}): that thread would return into freed code. So {@link #release()} is called only
 * after {@link #loopEnded()}, which completes when a marker task, queued on jfuse's executor behind
 * the loop, runs. jfuse keeps the executor in a private field: if that ever changes we fall back to
 * watching the mount table (and log it), which tells when the mount went, not when callbacks ended.
 */
final class JfuseSession implements FuseSession {
    private static final Logger LOG = LoggerFactory.getLogger(JfuseSession.class);

    /** Shows as argv[0] in libfuse's messages. */
    private static final String PROGRAM_NAME = "weightfs";
    /** Only for the fallback: how often to look for the mount's disappearance. */
    private static final long FALLBACK_POLL_MILLIS = 100;

    private final Fuse fuse;
    private final JfuseAdapter adapter;
    private final CompletableFuture<Void> loopEnded;
    private final AtomicBoolean released = new AtomicBoolean();

    private JfuseSession(Fuse fuse, JfuseAdapter adapter, CompletableFuture<Void> loopEnded) {
        this.fuse = fuse;
        this.adapter = adapter;
        this.loopEnded = loopEnded;
    }

    /** Mounts and returns once the kernel answers. */
    static JfuseSession start(FsOps fs, Path mountpoint, MountOptions options, ProcessOwner owner) throws IOException {
        Path library = NativeLibraries.locate(FuseBinding.JFUSE);
        FuseBuilder builder;
        try {
            builder = FuseBuilder.getSupported();
        } catch (UnsupportedOperationException e) {
            throw new IOException("jfuse does not support " + System.getProperty("os.name") + " on "
                    + System.getProperty("os.arch") + "; weightfs mounts on Linux only", e);
        }
        builder.setLibraryPath(library.toString());
        JfuseAdapter adapter = new JfuseAdapter(fs, builder.errno(), owner);
        JfuseInvalidator.link(library).ifPresent(inv -> {
            adapter.setInvalidator(inv);
            fs.setInvalidator(inv::invalidate);
        });
        Fuse fuse;
        try {
            fuse = builder.build(adapter);
        } catch (LinkageError | IllegalCallerException e) {
            throw new IOException("could not load " + library + " for jfuse: " + e
                    + "; reinstall it with '" + FuseBinding.JFUSE.installHint()
                    + "' and start Java with --enable-native-access=ALL-UNNAMED", e);
        }
        List<String> flags = new ArrayList<>(List.of("-o", options.fuseOptions()));
        if (options.debug()) {
            flags.add("-d");
        }
        try {
            fuse.mount(PROGRAM_NAME, mountpoint, flags.toArray(String[]::new));
        } catch (FuseMountFailedException | RuntimeException e) {
            closeAfterFailedMount(fuse);
            throw new IOException("could not mount " + mountpoint + " with jfuse (libfuse3): " + e.getMessage()
                    + " (libfuse prints its reason on stderr)", e);
        }
        return new JfuseSession(fuse, adapter, watchLoop(fuse, mountpoint));
    }

    private static CompletableFuture<Void> watchLoop(Fuse fuse, Path mountpoint) {
        CompletableFuture<Void> ended = new CompletableFuture<>();
        try {
            Field field = Fuse.class.getDeclaredField("executor");
            field.setAccessible(true);
            ExecutorService executor = (ExecutorService) field.get(fuse);
            executor.execute(() -> ended.complete(null)); // runs when the loop task has returned
            return ended;
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.info("cannot watch jfuse's loop ({}); watching the mount table instead", e.toString());
        }
        Thread.ofPlatform().name("weightfs-jfuse-watch").daemon().start(() -> {
            try {
                while (MountTable.find(mountpoint).filter(MountTable.Entry::isFuse).isPresent()) {
                    Thread.sleep(FALLBACK_POLL_MILLIS);
                }
            } catch (IOException | InterruptedException e) {
                LOG.debug("mount table watch for {} stopped: {}", mountpoint, e.toString());
            }
            ended.complete(null);
        });
        return ended;
    }

    private static void closeAfterFailedMount(Fuse fuse) {
        try {
            fuse.close();
        } catch (TimeoutException | RuntimeException e) {
            LOG.debug("closing jfuse after a failed mount: {}", e.toString());
        }
    }

    @Override
    public FuseBinding binding() {
        return FuseBinding.JFUSE;
    }

    @Override
    public CompletableFuture<Void> loopEnded() {
        return loopEnded;
    }

    /**
     * {@link Fuse#close()}: {@code fuse_exit} and {@code fuse_unmount} (no-ops: the connection is
     * gone), {@code fuse_destroy} (calls our {@code destroy} on this thread), frees the arena.
     */
    @Override
    public void release() {
        if (!released.compareAndSet(false, true)) {
            return;
        }
        try {
            fuse.close();
        } catch (TimeoutException | RuntimeException e) {
            LOG.warn("releasing jfuse's native state failed: {}", e.toString());
        }
    }

    @Override
    public long largestReadRequest() {
        return adapter.readSizes().largest();
    }

    @Override
    public long unexpectedFailures() {
        return adapter.errnos().unexpectedFailures();
    }
}
