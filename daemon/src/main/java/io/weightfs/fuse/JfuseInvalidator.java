package io.weightfs.fuse;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drops the kernel's cached pages of a file through libfuse3's {@code fuse_invalidate_path}
 * (libfuse 3.1+), which jfuse does not expose. The {@code struct fuse *} it needs is read from
 * {@code fuse_get_context()} inside the mount's {@code init} callback, the one place it is known.
 *
 * <p>Thread-safe: libfuse serialises the notification itself; the handle is written once, in init.
 */
final class JfuseInvalidator {
    private static final Logger LOG = LoggerFactory.getLogger(JfuseInvalidator.class);
    private final MethodHandle invalidatePath;
    private final MethodHandle getContext;
    private volatile MemorySegment fuse = MemorySegment.NULL;

    private JfuseInvalidator(MethodHandle invalidatePath, MethodHandle getContext) {
        this.invalidatePath = invalidatePath;
        this.getContext = getContext;
    }

    /** Links the two functions from the libfuse3 at {@code library}; empty (logged) if they are missing. */
    static Optional<JfuseInvalidator> link(Path library) {
        try {
            SymbolLookup lib = SymbolLookup.libraryLookup(library, Arena.global());
            Linker linker = Linker.nativeLinker();
            MethodHandle inval = linker.downcallHandle(lib.find("fuse_invalidate_path").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
            MethodHandle ctx = linker.downcallHandle(lib.find("fuse_get_context").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.ADDRESS));
            return Optional.of(new JfuseInvalidator(inval, ctx));
        } catch (RuntimeException e) {
            LOG.info("libfuse3 at {} has no fuse_invalidate_path ({}): pages of a file whose content was discarded are dropped"
                    + " at its next open only", library, e.toString());
            return Optional.empty();
        }
    }

    /** Called in the init callback: remembers this mount's {@code struct fuse *}. */
    void captureContext() {
        try {
            MemorySegment ctx = ((MemorySegment) getContext.invokeExact()).reinterpret(ValueLayout.ADDRESS.byteSize());
            fuse = ctx.get(ValueLayout.ADDRESS, 0);
        } catch (Throwable t) {
            LOG.warn("cannot read libfuse's context: {}", t.toString());
        }
    }

    /** Drops the kernel's cache (pages and attributes) of the file at {@code path} (mount-relative, absolute). */
    void invalidate(String path) {
        MemorySegment f = fuse;
        if (f.equals(MemorySegment.NULL)) {
            return;
        }
        try (Arena a = Arena.ofConfined()) {
            int rc = (int) invalidatePath.invokeExact(f, a.allocateFrom(path));
            // -ENOENT: the kernel never looked the file up, so it caches nothing of it.
            if (rc != 0 && rc != -2) {
                LOG.debug("fuse_invalidate_path({}) = {}", path, rc);
            } else {
                LOG.debug("dropped the kernel's cache of {}", path);
            }
        } catch (Throwable t) {
            LOG.warn("cannot drop the kernel's cache of {}: {}", path, t.toString());
        }
    }
}
