package io.weightfs.fuse;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A live mount, from {@link FuseMounter#mount}. {@link #close()} unmounts it; {@link
 * #awaitUnmounted()} blocks until it is gone, however that happened ({@code weightfs umount} from
 * another process, {@code close()}, an aborted connection), so a foreground daemon can wait on it
 * and then call {@code close()} to free what is left.
 *
 * <p>{@code close()} is bounded: unmount helpers are killed after {@link Unmounter#COMMAND_TIMEOUT},
 * and it waits at most {@link MountOptions#closeTimeout()} for callbacks still inside {@code FsOps}
 * (a read blocked on a download). If some are, it returns anyway and frees the binding's native
 * state when they have returned. Readers blocked on the mount get ENOTCONN at once when it is busy
 * and we are root (the connection is aborted); otherwise when {@code FsOps} lets their reads go.
 * {@code FsOps} is never interrupted by this class: its owner fails in-flight reads at shutdown.
 *
 * <p>A JVM shutdown hook closes the mount if nobody did, so that SIGTERM leaves no stale mount.
 * Thread-safe; {@code close()} is idempotent.
 */
public final class MountedFs implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MountedFs.class);

    private final FuseSession session;
    private final MountTable.Entry entry;
    private final MountOptions options;
    private final ProcessOwner owner;
    private final AtomicBoolean closing = new AtomicBoolean();
    private final Thread shutdownHook;

    MountedFs(FuseSession session, MountTable.Entry entry, MountOptions options, ProcessOwner owner) {
        this.session = session;
        this.entry = entry;
        this.options = options;
        this.owner = owner;
        this.shutdownHook = Thread.ofPlatform().name("weightfs-unmount-" + entry.mountPoint()).unstarted(this::close);
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        session.loopEnded().whenComplete((ok, failure) ->
                LOG.debug("FUSE loop of {} ended{}", entry.mountPoint(), failure == null ? "" : ": " + failure));
    }

    /** Where it is mounted (absolute, symlinks resolved). */
    public Path mountpoint() {
        return entry.mountPoint();
    }

    public FuseBinding binding() {
        return session.binding();
    }

    /** The kernel's device number of the mount ({@code major:minor}): names its bdi and fusectl entry. */
    public String device() {
        return entry.device();
    }

    /** False once the mount is gone and no callback runs any more. */
    public boolean isMounted() {
        return !session.loopEnded().isDone();
    }

    /**
     * Whether the mount is still in the mount table. False as soon as someone unmounted it, even
     * lazily ({@code umount -l}) while a reader still holds a file open: the owner should then
     * fail the reads that wait inside the filesystem, so the kernel can let go of the connection.
     */
    public boolean isAttached() {
        try {
            return MountTable.exists(entry.id());
        } catch (IOException e) {
            return true;
        }
    }

    /** The largest read request the kernel has sent, in bytes (1 MiB once readahead is raised on jfuse). */
    public long largestReadRequest() {
        return session.largestReadRequest();
    }

    /** Callbacks that failed with something other than an {@code FsException} (bugs), answered EIO. */
    public long unexpectedFailures() {
        return session.unexpectedFailures();
    }

    /**
     * What the transport negotiated, for the start's log line: with {@code --fuse kernel} whether
     * FUSE passthrough is on, and why not; empty for the libfuse bindings.
     */
    public String transportNote() {
        return session.transportNote();
    }

    /** Blocks until the mount is gone (unmounted by anyone, or its connection aborted). */
    public void awaitUnmounted() throws InterruptedException {
        try {
            session.loopEnded().get();
        } catch (ExecutionException | CancellationException e) {
            // ended with a failure: ended all the same
        }
    }

    /** Like {@link #awaitUnmounted()}, for at most {@code timeout}; returns whether it is gone. */
    public boolean awaitUnmounted(Duration timeout) throws InterruptedException {
        try {
            session.loopEnded().get(timeout.toNanos(), TimeUnit.NANOSECONDS);
            return true;
        } catch (ExecutionException | CancellationException e) {
            return true;
        } catch (TimeoutException e) {
            return false;
        }
    }

    /** Unmounts (see the class comment for how, and for how long at most) and frees the binding. */
    @Override
    public void close() {
        if (!closing.compareAndSet(false, true)) {
            return;
        }
        removeShutdownHook();
        try {
            if (!session.loopEnded().isDone() && MountTable.exists(entry.id())) {
                Unmounter.unmountOwn(entry, owner);
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("unmounting {} failed: {}; run 'weightfs umount {}'", entry.mountPoint(), e.toString(),
                    entry.mountPoint());
        }
        boolean ended;
        try {
            ended = awaitUnmounted(options.closeTimeout());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ended = false;
        }
        if (ended) {
            session.release();
            LOG.info("unmounted {}", entry.mountPoint());
        } else {
            LOG.warn("{}: FUSE callbacks still inside the filesystem {} ms after unmounting (a read waiting for"
                    + " bytes?); freeing the FUSE binding when they return", entry.mountPoint(),
                    options.closeTimeout().toMillis());
            // Not on the thread that completes loopEnded: for jfuse that is the executor that
            // Fuse.close() waits to terminate.
            session.loopEnded().whenComplete((ok, failure) ->
                    Thread.ofPlatform().name("weightfs-fuse-release").daemon().start(session::release));
        }
    }

    private void removeShutdownHook() {
        if (Thread.currentThread() == shutdownHook) {
            return;
        }
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // the JVM is shutting down: the hook runs, and finds us closing
        }
    }

    @Override
    public String toString() {
        return "MountedFs[" + entry.mountPoint() + ", " + session.binding() + ", device " + entry.device() + "]";
    }
}
