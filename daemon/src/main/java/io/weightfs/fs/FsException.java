package io.weightfs.fs;

/**
 * The one exception the filesystem throws to the FUSE adapter. Its {@link Kind} is the whole
 * contract: the adapter maps each kind to an errno in one table, and never sees anything else.
 */
public final class FsException extends Exception {
    /** What went wrong, in filesystem terms. */
    public enum Kind {
        /** ENOENT: no such file or directory. */
        NOT_FOUND,
        /** ENOTDIR: a path component is a file. */
        NOT_A_DIRECTORY,
        /** EISDIR: read of a directory. */
        IS_A_DIRECTORY,
        /** EROFS: any attempt to change the filesystem. */
        READ_ONLY,
        /** EBADF: an unknown or closed handle. */
        BAD_HANDLE,
        /** EINVAL: a negative offset and the like. */
        INVALID,
        /** EIO: bytes could not be fetched or verified; never served wrong. */
        IO,
        /** EINTR: the read was interrupted (unmount, signal). */
        INTERRUPTED,
        /** ENODATA: no such extended attribute. */
        NO_ATTRIBUTE
    }

    private final Kind kind;

    public FsException(Kind kind, String message) {
        super(message, null, false, false);
        this.kind = kind;
    }

    public FsException(Kind kind, String message, Throwable cause) {
        super(message, cause, false, false);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
