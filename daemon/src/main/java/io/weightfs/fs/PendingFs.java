package io.weightfs.fs;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * A filesystem that is mounted before it exists: the FUSE mount (a few hundred milliseconds of
 * libfuse and kernel work) is set up while the manifests are resolved (network), instead of after.
 * Until {@link #ready} hands over the real filesystem, a stat of the root answers at once (so the
 * mount can be seen to answer) and every other call waits for it, at most {@link #WAIT}; if the
 * start fails ({@link #failed}), they fail with its reason.
 *
 * <p>Thread-safe: one future, completed once.
 */
public final class PendingFs implements FsOps {
    /** As long as resolving a manifest may take, retries included. */
    static final Duration WAIT = Duration.ofMinutes(5);

    private final CompletableFuture<FsOps> real = new CompletableFuture<>();
    private final Attr root;
    private volatile Consumer<String> invalidator;

    public PendingFs(long mtimeMillis) {
        this.root = new Attr(1, true, 0, mtimeMillis, 0555, 2);
    }

    /** The filesystem is built: every call goes to it from now on. */
    public void ready(FsOps fs) {
        Consumer<String> inv = invalidator;
        if (inv != null) {
            fs.setInvalidator(inv);
        }
        real.complete(fs);
    }

    /** The start failed: waiting and later calls fail with this reason. */
    public void failed(Throwable why) {
        real.completeExceptionally(why);
    }

    private FsOps fs() throws FsException {
        try {
            return real.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FsException(FsException.Kind.INTERRUPTED, "interrupted while weightfs was starting");
        } catch (ExecutionException e) {
            throw new FsException(FsException.Kind.IO, "weightfs could not start: " + e.getCause().getMessage());
        } catch (TimeoutException e) {
            throw new FsException(FsException.Kind.IO, "weightfs is still resolving its manifests after " + WAIT.toMinutes() + " minutes");
        }
    }

    @Override
    public Attr getattr(String path) throws FsException {
        // The root answers while the tree is built, and after a failed start too: the mount then
        // completes normally and is taken down, rather than failing half-way.
        if (path.equals("/") && (!real.isDone() || real.isCompletedExceptionally())) {
            return root;
        }
        return fs().getattr(path);
    }

    @Override
    public List<DirEntry> readdir(String path) throws FsException {
        return fs().readdir(path);
    }

    @Override
    public long open(String path, boolean writable) throws FsException {
        return fs().open(path, writable);
    }

    @Override
    public boolean directIo(long handle) {
        FsOps f = real.getNow(null);
        return f != null && f.directIo(handle);
    }

    @Override
    public boolean keepCache(long handle) {
        FsOps f = real.getNow(null);
        return f != null && f.keepCache(handle);
    }

    @Override
    public int read(long handle, ByteBuffer dst, long offset) throws FsException {
        return fs().read(handle, dst, offset);
    }

    @Override
    public int read(long handle, ByteBuffer dst, long offset, Interrupt interrupt) throws FsException {
        return fs().read(handle, dst, offset, interrupt);
    }

    @Override
    public java.util.Optional<java.nio.file.Path> backingFile(long handle) {
        FsOps f = real.getNow(null);
        return f != null ? f.backingFile(handle) : java.util.Optional.empty();
    }

    @Override
    public List<String> listxattr(String path) throws FsException {
        return fs().listxattr(path);
    }

    @Override
    public void release(long handle) {
        FsOps f = real.getNow(null);
        if (f != null) {
            f.release(handle);
        }
    }

    @Override
    public FsStats statfs() {
        FsOps f = real.getNow(null);
        return f != null ? f.statfs() : new FsStats(4096, 0, 0, 1, 255);
    }

    @Override
    public int getxattr(String path, String name, ByteBuffer dst) throws FsException {
        return fs().getxattr(path, name, dst);
    }

    @Override
    public void setInvalidator(Consumer<String> invalidator) {
        this.invalidator = invalidator;
        FsOps f = real.getNow(null);
        if (f != null) {
            f.setInvalidator(invalidator);
        }
    }
}
