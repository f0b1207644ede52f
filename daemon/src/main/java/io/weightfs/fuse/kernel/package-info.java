/**
 * A FUSE transport of our own: the kernel protocol spoken over {@code /dev/fuse} directly, with no
 * libfuse in the loop (as go-fuse, Rust's fuser and bazil's fuse do). Two layers:
 *
 * <ul>
 *   <li>{@link io.weightfs.fuse.kernel.FuseProtocol}: pure Java over byte buffers. It decodes one
 *       request (layouts from the Linux uapi header {@code include/uapi/linux/fuse.h}, protocol
 *       7.40), calls {@link io.weightfs.fs.FsOps}, encodes the reply and hands it to a {@link
 *       io.weightfs.fuse.kernel.FuseChannel}. It owns the node table (node ID to path, lookup
 *       counts), the in-flight requests that an INTERRUPT can stop, and the passthrough backing
 *       files. Unit tests feed it hand-built request bytes.
 *   <li>{@link io.weightfs.fuse.kernel.DevFuse}: the few syscalls NIO cannot do ({@code open},
 *       {@code read}, {@code write}, {@code ioctl}, {@code mount}, {@code umount2}) through {@code
 *       java.lang.foreign}, with errno captured.
 * </ul>
 *
 * <p>Threads: {@code io.weightfs.fuse.KernelSession} runs a pool of reader threads on one device
 * fd; each reads a request into its own buffer and handles it to the end on that thread. The
 * protocol is thread-safe; its tables are concurrent maps, and the node table's counts change under
 * one lock that never covers I/O.
 */
package io.weightfs.fuse.kernel;
