package io.weightfs.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.weightfs.fs.FsException;
import io.weightfs.fs.FsException.Kind;
import java.util.Map;
import jnr.constants.platform.Errno;
import org.cryptomator.jfuse.api.FuseBuilder;
import org.junit.jupiter.api.Test;

class ErrnosTest {
    private static final Map<Kind, Errno> EXPECTED = Map.of(
            Kind.NOT_FOUND, Errno.ENOENT,
            Kind.NOT_A_DIRECTORY, Errno.ENOTDIR,
            Kind.IS_A_DIRECTORY, Errno.EISDIR,
            Kind.READ_ONLY, Errno.EROFS,
            Kind.BAD_HANDLE, Errno.EBADF,
            Kind.INVALID, Errno.EINVAL,
            Kind.IO, Errno.EIO,
            Kind.INTERRUPTED, Errno.EINTR,
            Kind.NO_ATTRIBUTE, Errno.ENODATA);

    @Test
    void everyKind_mapsToTheSameErrno_inBothBindingsTables() {
        Errnos jfuse = Errnos.of(FuseBuilder.getSupported().errno());
        Errnos jnr = Errnos.jnr();
        for (Kind kind : Kind.values()) {
            int expected = EXPECTED.get(kind).intValue();
            assertEquals(expected, jfuse.of(kind), "jfuse " + kind);
            assertEquals(expected, jnr.of(kind), "jnr " + kind);
        }
    }

    @Test
    void anFsException_isAnsweredWithItsKindsNegativeErrno() {
        Errnos errnos = Errnos.jnr();
        assertEquals(-Errno.ENOENT.intValue(), errnos.failure("getattr", "/x", new FsException(Kind.NOT_FOUND, "/x")));
        assertEquals(-Errno.EIO.intValue(), errnos.failure("read", "/x", new FsException(Kind.IO, "fetch failed")));
        assertEquals(0, errnos.unexpectedFailures());
    }

    @Test
    void anythingElse_isAnsweredWithEio_andCountedAsABug() {
        Errnos errnos = Errnos.jnr();
        assertEquals(-Errno.EIO.intValue(), errnos.failure("read", "/x", new IllegalStateException("bug")));
        assertEquals(-Errno.EIO.intValue(), errnos.failure("read", "/x", new IllegalStateException("bug again")));
        assertEquals(-Errno.EIO.intValue(), errnos.failure("open", "/x", new StackOverflowError()));
        assertEquals(3, errnos.unexpectedFailures());
    }
}
