package io.weightfs.serve;

import io.weightfs.manifest.ContentHash;
import io.weightfs.manifest.ContentHasher;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hashing that skips the holes of sparse files. Tests and benchmarks serve multi-GiB sparse files
 * (a fake model is cheap to make that way), and reading a hole is not free: the kernel allocates and
 * zeroes a page-cache page for every 4 KiB of it, which took 6 s for a fresh 2 GiB file on the
 * project's VMs, against 1.7 s to hash the same zeros from memory. {@code lseek(SEEK_DATA/SEEK_HOLE)}
 * finds the data; holes are fed to the digest as zeros without touching the disk.
 *
 * <p>Linux only (the SEEK_* values differ elsewhere); anywhere else, or if the native calls are not
 * available, every file is simply read. Stateless and thread-safe.
 */
final class SparseFiles {
    private static final Logger LOG = LoggerFactory.getLogger(SparseFiles.class);
    /** From Linux's {@code <unistd.h>}; macOS swaps them, hence Linux only. */
    private static final int SEEK_DATA = 3;
    private static final int SEEK_HOLE = 4;
    /** {@code lseek} past the last data region. */
    private static final int ENXIO = 6;
    private static final int O_RDONLY_CLOEXEC = 0x80000;
    /** Read size for data regions, as for a whole file: large enough that per-call costs vanish. */
    private static final int READ_BUFFER_BYTES = 1 << 20;
    /** Zeros fed per digest update for holes. */
    private static final byte[] ZEROS = new byte[1 << 20];

    private static final Native NATIVE = Native.load();

    private SparseFiles() {}

    /** Hashes a file, skipping its holes where the platform can find them. */
    static ContentHash hash(Path file, ContentHash.Algorithm algorithm) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            List<long[]> data = NATIVE == null ? null : NATIVE.dataRegions(file, size);
            if (data == null || (data.size() == 1 && data.getFirst()[0] == 0 && data.getFirst()[1] >= size)) {
                return ContentHasher.hashFile(file, algorithm);
            }
            ContentHasher hasher = ContentHasher.of(algorithm, size);
            ByteBuffer buf = ByteBuffer.allocateDirect(READ_BUFFER_BYTES);
            long pos = 0;
            for (long[] region : data) {
                long start = Math.min(region[0], size);
                long end = Math.min(region[1], size);
                feedZeros(hasher, start - pos);
                for (pos = start; pos < end; ) {
                    buf.clear().limit((int) Math.min(buf.capacity(), end - pos));
                    int n = ch.read(buf, pos);
                    if (n < 0) {
                        throw new IOException(file + " shrank while being hashed (at byte " + pos + " of " + size + ")");
                    }
                    pos += n;
                    buf.flip();
                    hasher.update(buf);
                }
            }
            feedZeros(hasher, size - pos);
            return hasher.finish();
        }
    }

    private static void feedZeros(ContentHasher hasher, long count) {
        for (long left = count; left > 0; ) {
            int n = (int) Math.min(ZEROS.length, left);
            hasher.update(ZEROS, 0, n);
            left -= n;
        }
    }

    /** The libc calls, bound once. */
    private record Native(MethodHandle open, MethodHandle lseek, MethodHandle close, StructLayout callState,
            VarHandle errno) {
        @SuppressWarnings("restricted") // downcalls to libc; the jar and the tests enable native access
        static Native load() {
            if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
                return null;
            }
            try {
                Linker linker = Linker.nativeLinker();
                var libc = linker.defaultLookup();
                Linker.Option errnoOption = Linker.Option.captureCallState("errno");
                StructLayout state = Linker.Option.captureStateLayout();
                MethodHandle open = linker.downcallHandle(libc.find("open").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
                        Linker.Option.firstVariadicArg(2));
                MethodHandle lseek = linker.downcallHandle(libc.find("lseek").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                                ValueLayout.JAVA_INT), errnoOption);
                MethodHandle close = linker.downcallHandle(libc.find("close").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
                VarHandle errno = state.varHandle(StructLayout.PathElement.groupElement("errno"));
                return new Native(open, lseek, close, state, errno);
            } catch (RuntimeException | LinkageError e) {
                LOG.debug("No SEEK_DATA through java.lang.foreign ({}); sparse files are read in full", e.toString());
                return null;
            }
        }

        /** The file's data regions as [start, end) pairs, or null if they cannot be found. */
        List<long[]> dataRegions(Path file, long size) {
            try (Arena arena = Arena.ofConfined()) {
                int fd = (int) open.invokeExact(arena.allocateFrom(file.toString()), O_RDONLY_CLOEXEC);
                if (fd < 0) {
                    return null;
                }
                try {
                    MemorySegment state = arena.allocate(callState);
                    List<long[]> regions = new ArrayList<>();
                    long pos = 0;
                    while (pos < size) {
                        long data = (long) lseek.invokeExact(state, fd, pos, SEEK_DATA);
                        if (data < 0) {
                            return (int) errno.get(state, 0L) == ENXIO ? regions : null;
                        }
                        long hole = (long) lseek.invokeExact(state, fd, data, SEEK_HOLE);
                        if (hole < 0) {
                            return null;
                        }
                        regions.add(new long[] {data, hole});
                        pos = hole;
                    }
                    return regions;
                } finally {
                    int ignored = (int) close.invokeExact(fd);
                }
            } catch (Throwable e) {
                LOG.debug("SEEK_DATA failed on {} ({}); reading it in full", file, e.toString());
                return null;
            }
        }
    }
}
