package io.weightfs.fuse.kernel;

import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * What {@link FuseProtocol} needs of the device: send one message, and register or drop a
 * passthrough backing file. {@link DevFuse} is the real one; unit tests record what is sent.
 */
public interface FuseChannel {
    /**
     * Writes one whole message (a reply or a notification): the bytes from the buffer's position to
     * its limit, in one write. Returns 0, or a negative errno: ENOENT when the kernel no longer
     * waits for that request (it was interrupted, or the connection is going away).
     */
    int send(ByteBuffer message);

    /**
     * Opens {@code file} read-only and registers it with the kernel as a passthrough backing file
     * ({@code FUSE_DEV_IOC_BACKING_OPEN}); the kernel keeps its own reference, the fd is closed.
     *
     * @return the backing ID (positive), or a negative errno (EPERM without CAP_SYS_ADMIN, ENOTTY
     *     or EOPNOTSUPP where the kernel lacks passthrough, ELOOP for a backing filesystem stacked
     *     too deep, ENOENT if the file went)
     */
    int openBacking(Path file);

    /** {@code FUSE_DEV_IOC_BACKING_CLOSE}: the kernel lets go of the backing file once no open uses it. */
    void closeBacking(int backingId);
}
