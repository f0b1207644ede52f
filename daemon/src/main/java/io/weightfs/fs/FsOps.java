package io.weightfs.fs;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * The filesystem as the FUSE adapter sees it: paths in, values or {@link FsException} out. The
 * adapter decodes a callback, calls one of these, encodes the result; it holds no logic and no
 * state of its own, so everything here is testable without a mount.
 *
 * <p>Paths are absolute within the mount ({@code /}, {@code /llama/config.json}). Every method
 * may be called from many FUSE threads at once; implementations are thread-safe.
 */
public interface FsOps {
    Attr getattr(String path) throws FsException;

    List<DirEntry> readdir(String path) throws FsException;

    /**
     * Opens a file for reading.
     *
     * @param writable whether the caller asked for write access (always refused: read-only)
     * @return a handle for {@link #read} and {@link #release}
     */
    long open(String path, boolean writable) throws FsException;

    /**
     * Whether reads of this handle must bypass the kernel page cache (control files whose content
     * changes, and whose size {@code stat} cannot know in advance).
     */
    boolean directIo(long handle);

    /**
     * Whether the kernel may keep this file's pages cached across opens ({@code FOPEN_KEEP_CACHE}):
     * for content that is verified and can never change. A file still filling is cached only while
     * it is open, so a page of content later found wrong does not outlive the open that read it.
     */
    default boolean keepCache(long handle) {
        return !directIo(handle);
    }

    /**
     * The transport's way to drop the kernel's cached pages of a file (by its path), called when a
     * blob's content was found wrong after some of it was served. Transports that cannot do it
     * leave the default (nothing is set; the next open drops the pages anyway).
     */
    default void setInvalidator(java.util.function.Consumer<String> invalidator) {}

    /**
     * Reads up to {@code dst.remaining()} bytes at {@code offset} into {@code dst}, waiting for
     * missing blocks. Returns the number of bytes read: fewer only at end of file.
     */
    int read(long handle, ByteBuffer dst, long offset) throws FsException;

    /**
     * {@link #read}, stopping (with {@link FsException.Kind#INTERRUPTED}) if the request is
     * interrupted while it waits. Transports that learn of interrupts call this one.
     */
    default int read(long handle, ByteBuffer dst, long offset, Interrupt interrupt) throws FsException {
        return read(handle, dst, offset);
    }

    /**
     * The local file that holds exactly this open file's content, if it is complete and verified:
     * a transport may hand it to the kernel (FUSE passthrough), after which the file's reads never
     * reach the daemon. Empty while the content is still arriving.
     */
    default java.util.Optional<java.nio.file.Path> backingFile(long handle) {
        return java.util.Optional.empty();
    }

    void release(long handle);

    FsStats statfs();

    /** Reads an extended attribute into {@code dst}; returns its full length (0-length dst = size query). */
    default int getxattr(String path, String name, ByteBuffer dst) throws FsException {
        throw new FsException(FsException.Kind.NO_ATTRIBUTE, name);
    }

    /** The names of the extended attributes {@link #getxattr} answers for this path. */
    default List<String> listxattr(String path) throws FsException {
        getattr(path);
        return List.of();
    }
}
