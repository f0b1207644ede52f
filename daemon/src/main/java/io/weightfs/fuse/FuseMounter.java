package io.weightfs.fuse;

import io.weightfs.fs.FsOps;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Mounts an {@link FsOps} with FUSE, and unmounts any FUSE mount by its path. The entry point of
 * this package; everything a user can get wrong before a mount (a missing or non-empty directory, no
 * /dev/fuse, no libfuse, a stale mount in the way) is checked here and reported with what to do.
 */
public final class FuseMounter {
    private static final Logger LOG = LoggerFactory.getLogger(FuseMounter.class);

    private static final Path DEV_FUSE = Path.of("/dev/fuse");
    /**
     * How long a new mount may take to show in the mount table and answer a stat. libfuse mounts in
     * milliseconds; one that is not there by then is not coming.
     */
    static final Duration MOUNT_TIMEOUT = Duration.ofSeconds(30);
    /** {@link #MOUNT_TIMEOUT} for callers outside the package, in seconds. */
    public static final long MOUNT_TIMEOUT_SECONDS = 30;
    /** Between looks at the mount table while waiting for the mount; the wait ends early if the loop dies. */
    private static final long MOUNT_POLL_MILLIS = 5;
    /** How long a FUSE mount already at the mountpoint may take to answer a listing. */
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(5);
    /** How long cleaning up after a failed mount may wait for the binding's loop. */
    private static final Duration ABANDON_TIMEOUT = Duration.ofSeconds(5);

    private FuseMounter() {}

    /**
     * Mounts {@code fs} at {@code mountpoint} and returns once the kernel answers there.
     *
     * @throws IOException naming the mountpoint and the cause: the directory is missing or not
     *     empty, a FUSE mount (perhaps a stale one) is already there, /dev/fuse is absent, the
     *     binding's libfuse is not installed (with the package to install), or libfuse refused
     */
    public static MountedFs mount(FsOps fs, Path mountpoint, MountOptions options) throws IOException {
        Objects.requireNonNull(fs, "fs");
        Objects.requireNonNull(mountpoint, "mountpoint");
        Objects.requireNonNull(options, "options");
        Path mp = checkMountpoint(mountpoint);
        checkDevice(mp);
        ProcessOwner owner = ProcessOwner.current();
        FuseSession session = switch (options.binding()) {
            case JFUSE -> JfuseSession.start(fs, mp, options, owner);
            case JNR -> JnrSession.start(fs, mp, options, owner);
            case KERNEL -> KernelSession.start(fs, mp, options, owner);
        };
        MountTable.Entry entry;
        try {
            entry = awaitMounted(mp, session);
        } catch (IOException | RuntimeException e) {
            abandon(session, mp, owner);
            throw e;
        }
        raiseReadAhead(entry, options.readAheadKb(), owner);
        MountedFs mounted = new MountedFs(session, entry, options, owner);
        LOG.info("mounted {} with {} ({}), device {}", mp, options.binding().name().toLowerCase(Locale.ROOT),
                options.binding().library(), entry.device());
        return mounted;
    }

    /**
     * Unmounts the FUSE mount at {@code mountpoint}, whoever made it: a live daemon's, or a stale one
     * whose daemon died ("Transport endpoint is not connected"). Tries {@code fusermount3 -u}, then
     * {@code fusermount -u}, then {@code umount -l}, each bounded in time.
     *
     * @throws IOException if nothing is mounted there, if it is not a FUSE mount (then nothing is
     *     tried), or if every helper failed (with what each said)
     */
    public static void unmount(Path mountpoint) throws IOException {
        Unmounter.unmount(mountpoint);
    }

    /**
     * Unmounts a stale FUSE mount at {@code mountpoint}, one whose daemon died (a listing fails with
     * "Transport endpoint is not connected"), so that a restarted daemon (a sidecar container that
     * was killed) can mount there again. A mount that answers, or one whose daemon hangs, is left
     * alone, as is anything that is not a FUSE mount.
     *
     * @return true if a stale mount was there and is gone now
     * @throws IOException if a stale mount was there and could not be unmounted
     */
    public static boolean unmountIfStale(Path mountpoint) throws IOException {
        Path abs = mountpoint.toAbsolutePath().normalize();
        Optional<MountTable.Entry> existing = MountTable.find(MountTable.canonical(abs)).filter(MountTable.Entry::isFuse);
        if (existing.isEmpty()) {
            return false;
        }
        try {
            answerWithin(PROBE_TIMEOUT, () -> {
                Files.newDirectoryStream(abs).close();
                return null;
            });
            return false;
        } catch (TimeoutException e) {
            return false;
        } catch (FileSystemException e) {
            LOG.info("{} holds a stale FUSE mount ({}: {}); unmounting it", abs, existing.get().source(), e.getReason());
            Unmounter.unmount(abs);
            return true;
        }
    }

    private static Path checkMountpoint(Path mountpoint) throws IOException {
        Path abs = mountpoint.toAbsolutePath().normalize();
        // The mount table first: a stale mount cannot be stat'ed, and would look like a missing directory.
        Optional<MountTable.Entry> existing = MountTable.find(MountTable.canonical(abs)).filter(MountTable.Entry::isFuse);
        if (existing.isPresent()) {
            String state;
            // A listing reaches the daemon (a stat may be answered from the kernel's attribute cache).
            try {
                answerWithin(PROBE_TIMEOUT, () -> {
                    Files.newDirectoryStream(abs).close();
                    return null;
                });
                state = "is already a FUSE mount (" + existing.get().source() + ")";
            } catch (FileSystemException e) {
                state = "holds a stale FUSE mount whose daemon died (" + e.getReason() + ")";
            } catch (TimeoutException e) {
                state = "holds a FUSE mount whose daemon does not answer";
            }
            throw new IOException("cannot mount at " + abs + ": it " + state + "; run 'weightfs umount " + abs
                    + "' first");
        }
        if (!Files.exists(abs)) {
            throw new IOException("cannot mount at " + abs + ": no such directory; create it first (mkdir -p " + abs + ")");
        }
        if (!Files.isDirectory(abs)) {
            throw new IOException("cannot mount at " + abs + ": it is not a directory");
        }
        Path real = abs.toRealPath();
        try (DirectoryStream<Path> children = Files.newDirectoryStream(real)) {
            if (children.iterator().hasNext()) {
                throw new IOException("cannot mount at " + real + ": the directory is not empty, and the mount would"
                        + " hide what is in it; use an empty directory");
            }
        }
        return real;
    }

    private static void checkDevice(Path mp) throws IOException {
        if (!Files.exists(DEV_FUSE)) {
            throw new IOException("cannot mount at " + mp + ": " + DEV_FUSE + " is absent; load the fuse kernel module"
                    + " (modprobe fuse), and in a container pass the device (--device /dev/fuse, or run privileged)");
        }
        if (!Files.isReadable(DEV_FUSE) || !Files.isWritable(DEV_FUSE)) {
            throw new IOException("cannot mount at " + mp + ": no permission to open " + DEV_FUSE
                    + "; run as root or as a user allowed to use FUSE");
        }
    }

    /** Polls the mount table until the mount shows, then checks that a stat of it gets an answer. */
    private static MountTable.Entry awaitMounted(Path mp, FuseSession session) throws IOException {
        long deadline = System.nanoTime() + MOUNT_TIMEOUT.toNanos();
        String binding = session.binding().name().toLowerCase(Locale.ROOT);
        while (true) {
            Optional<MountTable.Entry> entry = MountTable.find(mp).filter(MountTable.Entry::isFuse);
            if (entry.isPresent()) {
                awaitAnswer(mp, deadline);
                return entry.get();
            }
            if (session.loopEnded().isDone()) {
                throw new IOException("could not mount " + mp + " with " + binding + " (" + session.binding().library()
                        + "): " + loopFailure(session) + " (libfuse prints its reason on stderr)");
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IOException("could not mount " + mp + " with " + binding + ": the kernel did not list the"
                        + " mount within " + MOUNT_TIMEOUT.toSeconds() + " s");
            }
            try {
                session.loopEnded().get(MOUNT_POLL_MILLIS, TimeUnit.MILLISECONDS);
            } catch (TimeoutException | ExecutionException e) {
                // still starting, or ended: the next round tells
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while mounting " + mp, e);
            }
        }
    }

    private static String loopFailure(FuseSession session) {
        try {
            session.loopEnded().getNow(null);
            return "its loop ended at once";
        } catch (RuntimeException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            while (cause.getCause() != null) {
                cause = cause.getCause();
            }
            return cause.getMessage() != null ? cause.getMessage() : cause.toString();
        }
    }

    /** A stat goes through FUSE (getattr "/"), so an answer means the daemon serves. */
    private static void awaitAnswer(Path mp, long deadline) throws IOException {
        try {
            answerWithin(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())),
                    () -> Files.readAttributes(mp, BasicFileAttributes.class));
        } catch (TimeoutException e) {
            throw new IOException("mounted " + mp + ", but it does not answer a stat within "
                    + MOUNT_TIMEOUT.toSeconds() + " s", e);
        } catch (IOException e) {
            throw new IOException("mounted " + mp + ", but a stat of it fails: " + e, e);
        }
    }

    @FunctionalInterface
    private interface FileAccess<T> {
        T run() throws IOException;
    }

    /**
     * Runs a file access that goes through some FUSE daemon on a thread of its own, because a daemon
     * that never answers would block the caller for good; gives up after {@code timeout}.
     */
    private static <T> T answerWithin(Duration timeout, FileAccess<T> access) throws IOException, TimeoutException {
        CompletableFuture<T> answer = new CompletableFuture<>();
        Thread.ofPlatform().name("weightfs-mount-probe").daemon().start(() -> {
            try {
                answer.complete(access.run());
            } catch (Throwable t) {
                answer.completeExceptionally(t);
            }
        });
        try {
            return answer.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IOException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    private static void abandon(FuseSession session, Path mp, ProcessOwner owner) {
        try {
            Optional<MountTable.Entry> entry = MountTable.find(mp).filter(MountTable.Entry::isFuse);
            if (entry.isPresent()) {
                Unmounter.unmountOwn(entry.get(), owner);
            }
            session.loopEnded().get(ABANDON_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (IOException | TimeoutException | RuntimeException e) {
            LOG.warn("cleaning up after the failed mount of {}: {}", mp, e.toString());
            return;
        } catch (ExecutionException e) {
            // the loop ended with the failure already reported
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        session.release();
    }

    /** Root only; failures do not matter enough to fail the mount (reads are then 128 KiB). */
    private static void raiseReadAhead(MountTable.Entry entry, int readAheadKb, ProcessOwner owner) {
        if (readAheadKb == 0) {
            return;
        }
        Path knob = Path.of("/sys/class/bdi", entry.device(), "read_ahead_kb");
        if (!owner.isRoot()) {
            LOG.debug("not root: leaving {} at the kernel's default", knob);
            return;
        }
        try {
            Files.writeString(knob, Integer.toString(readAheadKb));
            LOG.debug("{} = {}", knob, readAheadKb);
        } catch (IOException | RuntimeException e) {
            LOG.debug("could not write {}: {}", knob, e.toString());
        }
    }
}
