/**
 * The thin FUSE adapter: mounts an {@link io.weightfs.fs.FsOps} with one of two bindings and
 * unmounts it again. Every callback decodes its arguments, calls {@code FsOps}, encodes the result
 * and catches everything at the boundary; {@link io.weightfs.fuse.Errnos} is the one table from
 * {@link io.weightfs.fs.FsException.Kind} to errno. No filesystem logic lives here.
 *
 * <p>Only this package imports jfuse ({@code org.cryptomator.jfuse}, libfuse3, the default) and
 * jnr-fuse ({@code ru.serce.jnrfuse}, libfuse2). The public surface is {@link
 * io.weightfs.fuse.FuseMounter}, {@link io.weightfs.fuse.MountedFs}, {@link
 * io.weightfs.fuse.MountOptions} and {@link io.weightfs.fuse.FuseBinding}; everything else is
 * package-private.
 *
 * <p>Threads: each binding's native loop runs on one thread of its own ({@code jfuse-main-N} or
 * {@code weightfs-jnr-loop}) and calls back on libfuse's worker threads, many at once; this
 * package keeps no state on them beyond a read-size statistic.
 */
package io.weightfs.fuse;
