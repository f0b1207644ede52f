package io.weightfs.fuse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Unmounting through the system's helpers, each bounded in time, so that it works the same for a
 * mount of this process, of a live daemon elsewhere, and of a daemon that died (a stale mount whose
 * every access fails with ENOTCONN, "Transport endpoint is not connected").
 *
 * <p>Helpers, in order: {@code fusermount3 -u} (libfuse3's setuid helper: works for the user who
 * mounted, and for root), {@code fusermount -u} (libfuse2's), {@code umount -l} (root: detaches a
 * busy mount; processes that still have files open keep them until they close them). Success is
 * judged by mountinfo, never by exit codes. Runs on the caller's thread; each helper is killed after
 * {@link #COMMAND_TIMEOUT}.
 */
final class Unmounter {
    private static final Logger LOG = LoggerFactory.getLogger(Unmounter.class);

    /** A helper that has not returned by then is stuck (unmounting never waits on the daemon). */
    static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(5);

    private Unmounter() {}

    /** One helper run: its command line, exit status (-1: could not start, or killed) and output. */
    record Attempt(List<String> command, int exit, String output) {
        @Override
        public String toString() {
            return String.join(" ", command) + " -> " + (output.isBlank() ? "exit " + exit : output.strip());
        }
    }

    /** For {@code weightfs umount}: see the class comment. */
    static void unmount(Path mountpoint) throws IOException {
        Path mp = MountTable.canonical(mountpoint);
        MountTable.Entry entry = MountTable.find(mp).orElseThrow(() -> new IOException(
                "cannot unmount " + mp + ": nothing is mounted there"));
        if (!entry.isFuse()) {
            throw new IOException("cannot unmount " + mp + ": it is not a FUSE mount but " + entry.fsType()
                    + " from " + entry.source() + "; weightfs only unmounts its own FUSE mounts");
        }
        List<Attempt> attempts = new ArrayList<>();
        for (List<String> command : List.of(
                List.of("fusermount3", "-u", mp.toString()),
                List.of("fusermount", "-u", mp.toString()),
                List.of("umount", "-l", mp.toString()))) {
            attempts.add(run(command));
            if (!MountTable.exists(entry.id())) {
                if (command.getFirst().equals("umount")) {
                    LOG.info("{} was busy and is detached; processes with files open there keep them until they"
                            + " close them", mp);
                }
                return;
            }
        }
        throw new IOException("could not unmount " + mp + ": " + attempts
                + "; unmount as the user who mounted it, or as root");
    }

    /**
     * For {@link MountedFs#close()}: a clean unmount, and if something holds the mount busy, abort
     * the FUSE connection (root only: {@code umount -f} makes the kernel fail every request in flight
     * with ENOTCONN, so a reader blocked in a read returns at once instead of waiting on the daemon)
     * and detach it lazily. Returns whether the mount is gone from the mount table.
     */
    static boolean unmountOwn(MountTable.Entry entry, ProcessOwner owner) throws IOException {
        String mp = entry.mountPoint().toString();
        List<Attempt> attempts = new ArrayList<>();
        for (List<String> command : List.of(List.of("fusermount3", "-u", mp), List.of("fusermount", "-u", mp))) {
            attempts.add(run(command));
            if (!MountTable.exists(entry.id())) {
                return true;
            }
        }
        if (owner.isRoot()) {
            // Expected to fail with EBUSY: what matters is that it aborted the connection first.
            attempts.add(run(List.of("umount", "-f", mp)));
            if (!MountTable.exists(entry.id())) {
                return true;
            }
            attempts.add(run(List.of("umount", "-l", mp)));
        } else {
            attempts.add(run(List.of("fusermount3", "-u", "-z", mp)));
            if (MountTable.exists(entry.id())) {
                attempts.add(run(List.of("fusermount", "-u", "-z", mp)));
            }
        }
        boolean gone = !MountTable.exists(entry.id());
        if (gone) {
            LOG.info("{} was busy: detached it; processes with files open there get errors", mp);
        } else {
            LOG.warn("could not unmount {}: {}; run 'weightfs umount {}' as root", mp, attempts, mp);
        }
        return gone;
    }

    static Attempt run(List<String> command) {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        } catch (IOException e) {
            LOG.debug("{}: could not start: {}", command, e.getMessage());
            return new Attempt(command, -1, "could not start: " + e.getMessage());
        }
        try {
            if (!p.waitFor(COMMAND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                LOG.debug("{}: killed after {}", command, COMMAND_TIMEOUT);
                return new Attempt(command, -1, "no answer within " + COMMAND_TIMEOUT.toSeconds() + " s");
            }
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            LOG.debug("{}: exit {} {}", command, p.exitValue(), output.strip());
            return new Attempt(command, p.exitValue(), output);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            return new Attempt(command, -1, "interrupted");
        } catch (IOException e) {
            return new Attempt(command, p.exitValue(), "");
        }
    }
}
