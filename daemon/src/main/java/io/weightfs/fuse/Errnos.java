package io.weightfs.fuse;

import io.weightfs.fs.FsException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import ru.serce.jnrfuse.ErrorCodes;

/**
 * The one table from what a callback threw to the errno it returns, and the one place that logs it.
 * Values come from each binding's platform constants, never from literals; on Linux both tables
 * hold the same numbers (a unit test checks that).
 *
 * <p>Logging: expected outcomes (no such file, no such attribute) at TRACE, other {@link
 * FsException}s at DEBUG ({@code fs} logs user-visible failures once, with what to do); anything
 * else is a bug in {@code fs}, answered with EIO and logged at WARN the first time per operation and
 * exception class, at DEBUG after that. Thread-safe: callbacks run on many threads.
 */
public final class Errnos {
    private static final Logger LOG = LoggerFactory.getLogger(Errnos.class);

    private final int enoent;
    private final int enotdir;
    private final int eisdir;
    private final int erofs;
    private final int ebadf;
    private final int einval;
    private final int eio;
    private final int eintr;
    private final int enodata;
    private final int erange;
    private final int enosys;

    /** (operation, exception class) pairs already logged at WARN; bounded by ops x classes. */
    private final Set<String> warned = ConcurrentHashMap.newKeySet();
    private final AtomicLong unexpected = new AtomicLong();

    private Errnos(int enoent, int enotdir, int eisdir, int erofs, int ebadf, int einval, int eio,
            int eintr, int enodata, int erange, int enosys) {
        this.enoent = enoent;
        this.enotdir = enotdir;
        this.eisdir = eisdir;
        this.erofs = erofs;
        this.ebadf = ebadf;
        this.einval = einval;
        this.eio = eio;
        this.eintr = eintr;
        this.enodata = enodata;
        this.erange = erange;
        this.enosys = enosys;
    }

    /** jfuse's constants; its {@code Errno} has no EINTR, which comes from jnr-constants instead. */
    static Errnos of(org.cryptomator.jfuse.api.Errno e) {
        return new Errnos(e.enoent(), e.enotdir(), e.eisdir(), e.erofs(), e.ebadf(), e.einval(), e.eio(),
                ErrorCodes.EINTR(), e.enodata(), e.erange(), e.enosys());
    }

    /** jnr-fuse's constants (jnr-constants' platform {@code Errno}). */
    public static Errnos jnr() {
        return new Errnos(ErrorCodes.ENOENT(), ErrorCodes.ENOTDIR(), ErrorCodes.EISDIR(), ErrorCodes.EROFS(),
                ErrorCodes.EBADF(), ErrorCodes.EINVAL(), ErrorCodes.EIO(), ErrorCodes.EINTR(),
                ErrorCodes.ENODATA(), ErrorCodes.ERANGE(), ErrorCodes.ENOSYS());
    }

    /** The table: positive errno for each kind. */
    public int of(FsException.Kind kind) {
        return switch (kind) {
            case NOT_FOUND -> enoent;
            case NOT_A_DIRECTORY -> enotdir;
            case IS_A_DIRECTORY -> eisdir;
            case READ_ONLY -> erofs;
            case BAD_HANDLE -> ebadf;
            case INVALID -> einval;
            case IO -> eio;
            case INTERRUPTED -> eintr;
            case NO_ATTRIBUTE -> enodata;
        };
    }

    public int erofs() {
        return erofs;
    }

    public int enotdir() {
        return enotdir;
    }

    public int erange() {
        return erange;
    }

    public int enosys() {
        return enosys;
    }

    /**
     * What a callback returns after {@code t} escaped {@code FsOps}: the negative errno, logged as
     * described on the class.
     */
    public int failure(String op, String path, Throwable t) {
        if (t instanceof FsException e) {
            FsException.Kind kind = e.kind();
            if (kind == FsException.Kind.NOT_FOUND || kind == FsException.Kind.NO_ATTRIBUTE) {
                LOG.trace("{} {}: {}", op, path, e.getMessage());
            } else {
                LOG.debug("{} {}: {} ({})", op, path, kind, e.getMessage());
            }
            return -of(kind);
        }
        long count = unexpected.incrementAndGet();
        if (warned.add(op + ' ' + t.getClass().getName())) {
            LOG.warn("{} {} failed unexpectedly; answered EIO. This is a bug in the filesystem layer: "
                    + "please report it with this trace ({} unexpected failures so far)", op, path, count, t);
        } else {
            LOG.debug("{} {} failed unexpectedly again; answered EIO: {}", op, path, t.toString());
        }
        return -eio;
    }

    /** How many callbacks failed with something other than {@link FsException}. */
    public long unexpectedFailures() {
        return unexpected.get();
    }
}
