package io.weightfs.fuse;

import io.weightfs.fs.FsOps;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A jnr-fuse mount: libfuse2's {@code fuse_main} runs on a thread of ours, "weightfs-jnr-loop",
 * and returns once the kernel connection is gone, after unmounting and destroying its own state
 * (our {@code destroy} runs on that thread then). Nothing is left to free afterwards.
 */
final class JnrSession implements FuseSession {
    private static final Logger LOG = LoggerFactory.getLogger(JnrSession.class);

    private final JnrAdapter adapter;
    private final CompletableFuture<Void> loopEnded = new CompletableFuture<>();

    private JnrSession(JnrAdapter adapter) {
        this.adapter = adapter;
    }

    /**
     * Starts the loop and returns at once: the caller waits for the mount to appear (or for
     * {@link #loopEnded()} to fail, which means it never will).
     */
    static JnrSession start(FsOps fs, Path mountpoint, MountOptions options, ProcessOwner owner) throws IOException {
        Path library = NativeLibraries.locate(FuseBinding.JNR);
        JnrAdapter adapter;
        try {
            adapter = new JnrAdapter(fs, owner);
        } catch (Throwable e) { // jnr-ffi reports a missing or broken library as a LinkageError
            throw new IOException("could not load " + library + " for jnr-fuse: " + e
                    + "; reinstall it with '" + FuseBinding.JNR.installHint() + "'", e);
        }
        JnrSession session = new JnrSession(adapter);
        String[] fuseArgs = {"-o", options.fuseOptions()};
        Thread.ofPlatform().name("weightfs-jnr-loop").daemon().start(() -> {
            try {
                // blocking: fuse_main runs here until unmounted; -f (foreground) is jnr-fuse's own.
                adapter.mount(mountpoint, true, options.debug(), fuseArgs);
                session.loopEnded.complete(null);
            } catch (Throwable t) {
                LOG.debug("jnr-fuse loop for {} ended with {}", mountpoint, t.toString());
                session.loopEnded.completeExceptionally(t);
            } finally {
                adapter.loopEnded();
            }
        });
        return session;
    }

    @Override
    public FuseBinding binding() {
        return FuseBinding.JNR;
    }

    @Override
    public CompletableFuture<Void> loopEnded() {
        return loopEnded;
    }

    @Override
    public void release() {
        // libfuse2's fuse_main tore everything down before returning.
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
