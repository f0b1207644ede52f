package io.weightfs.fuse;

import io.weightfs.fs.Attr;
import io.weightfs.fs.DirEntry;
import io.weightfs.fs.FsOps;
import io.weightfs.fs.FsStats;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.List;
import jnr.constants.platform.OpenFlags;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Struct;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import ru.serce.jnrfuse.FuseFillDir;
import ru.serce.jnrfuse.FuseStubFS;
import ru.serce.jnrfuse.struct.FileStat;
import ru.serce.jnrfuse.struct.FuseFileInfo;
import ru.serce.jnrfuse.struct.Statvfs;
import ru.serce.jnrfuse.struct.Timespec;

/**
 * {@link FsOps} as a jnr-fuse filesystem (libfuse2 high-level API). Each callback decodes, calls
 * {@code FsOps}, encodes, and catches everything: an exception that escaped into libfuse would kill
 * the mount. Methods not overridden here are not bound, and libfuse answers ENOSYS; write-ish ones
 * answer EROFS.
 *
 * <p>Threads: libfuse2's loop starts a new thread whenever all are busy and lets idle ones beyond 10
 * exit, so callbacks run on short-lived threads, many at once (PLATFORM.md): nothing thread-local.
 * Constructing one loads libfuse2 (jnr-ffi throws a {@link LinkageError} if it is missing).
 */
final class JnrAdapter extends FuseStubFS {
    private static final Logger LOG = LoggerFactory.getLogger(JnrAdapter.class);

    /**
     * libfuse 2.9 fuse_common.h on LP64: {@code struct fuse_file_info { int flags; unsigned long
     * fh_old; int writepage; unsigned direct_io:1, keep_cache:1, ...; uint64_t fh; ... }}: the
     * bit-field word is at byte 20, direct_io its bit 0, keep_cache its bit 1 (GCC fills bit-fields
     * from the least significant bit). jnr-fuse's own struct names these bytes but cannot set bits.
     */
    static final int FILE_INFO_BITS_OFFSET = 20;
    static final int DIRECT_IO_BIT = 1;
    static final int KEEP_CACHE_BIT = 1 << 1;
    /** Where {@code fh} lies in the same struct: a check that jnr-fuse agrees with the header. */
    private static final long FILE_INFO_FH_OFFSET = 24;

    private static final jnr.ffi.Runtime RUNTIME = jnr.ffi.Runtime.getSystemRuntime();
    private static final int FILE_STAT_SIZE = Struct.size(new FileStat(RUNTIME));
    private static final int PERMISSION_BITS = 07777;
    private static final int BLOCK_UNIT = 512; // st_blocks counts 512-byte units (stat(2))
    private static final long NANOS_PER_MILLI = 1_000_000L;

    private final FsOps fs;
    private final Errnos errnos = Errnos.jnr();
    private final ProcessOwner owner;
    private final ReadSizes readSizes = new ReadSizes();
    private volatile boolean cacheBitsChecked;
    private volatile boolean cacheBitsUsable;

    JnrAdapter(FsOps fs, ProcessOwner owner) {
        this.fs = fs;
        this.owner = owner;
    }

    ReadSizes readSizes() {
        return readSizes;
    }

    Errnos errnos() {
        return errnos;
    }

    /**
     * Called once the loop has returned: libfuse2 has unmounted and destroyed its state by then, so
     * jnr-fuse's shutdown hook must not run {@code fuse_exit} on freed memory or unmount the path,
     * which may be someone else's mount by then.
     */
    void loopEnded() {
        mounted.set(false);
    }

    @Override
    public Pointer init(Pointer conn) {
        LOG.debug("FUSE init (libfuse2): read requests are at most 128 KiB with this binding");
        return null;
    }

    @Override
    public void destroy(Pointer initResult) {
        LOG.debug("FUSE destroy");
    }

    @Override
    public int getattr(String path, FileStat stat) {
        try {
            fill(stat, fs.getattr(path));
            return 0;
        } catch (Throwable t) {
            return errnos.failure("getattr", path, t);
        }
    }

    @Override
    public int access(String path, int mask) {
        try {
            fs.getattr(path); // existence only; see JfuseAdapter.access
            return 0;
        } catch (Throwable t) {
            return errnos.failure("access", path, t);
        }
    }

    @Override
    public int opendir(String path, FuseFileInfo fi) {
        try {
            return fs.getattr(path).directory() ? 0 : -errnos.enotdir();
        } catch (Throwable t) {
            return errnos.failure("opendir", path, t);
        }
    }

    @Override
    public int readdir(String path, Pointer buf, FuseFillDir filler, long offset, FuseFileInfo fi) {
        try {
            List<DirEntry> entries = fs.readdir(path);
            // Offset 0 everywhere: libfuse2 collects the whole listing and pages it itself. The stat
            // gives each entry its d_ino (use_ino) and d_type; libfuse2 copies it before returning,
            // so one struct serves all entries.
            if (filler.apply(buf, ".", null, 0) != 0 || filler.apply(buf, "..", null, 0) != 0) {
                return 0;
            }
            FileStat stat = FileStat.of(Memory.allocateDirect(RUNTIME, FILE_STAT_SIZE));
            for (DirEntry e : entries) {
                fill(stat, e.attr());
                if (filler.apply(buf, e.name(), stat, 0) != 0) {
                    break;
                }
            }
            return 0;
        } catch (Throwable t) {
            return errnos.failure("readdir", path, t);
        }
    }

    @Override
    public int releasedir(String path, FuseFileInfo fi) {
        return 0;
    }

    @Override
    public int open(String path, FuseFileInfo fi) {
        long handle;
        try {
            int accessMode = fi.flags.intValue() & OpenFlags.O_ACCMODE.intValue();
            handle = fs.open(path, accessMode != OpenFlags.O_RDONLY.intValue());
        } catch (Throwable t) {
            return errnos.failure("open", path, t);
        }
        try {
            fi.fh.set(handle);
            setCaching(fi, fs.directIo(handle), fs.keepCache(handle));
            return 0;
        } catch (Throwable t) {
            releaseQuietly(path, handle);
            return errnos.failure("open", path, t);
        }
    }

    @Override
    @SuppressWarnings("restricted") // reinterpret: libfuse's buffer of exactly size bytes, valid for this call
    public int read(String path, Pointer buf, long size, long offset, FuseFileInfo fi) {
        try {
            readSizes.observe(size);
            // A ByteBuffer over libfuse's own buffer: FsOps writes into it, no byte[] in between
            // (through a byte[] this binding drops to 330 MB/s, PLATFORM.md).
            ByteBuffer dst = MemorySegment.ofAddress(buf.address()).reinterpret(size).asByteBuffer();
            int n = fs.read(fi.fh.get(), dst, offset);
            if (LOG.isTraceEnabled()) {
                LOG.trace("read {} fh {} @{} +{} -> {}", path, fi.fh.get(), offset, size, n);
            }
            return n;
        } catch (Throwable t) {
            return errnos.failure("read", path, t);
        }
    }

    @Override
    public int release(String path, FuseFileInfo fi) {
        try {
            fs.release(fi.fh.get());
            return 0;
        } catch (Throwable t) {
            return errnos.failure("release", path, t);
        }
    }

    @Override
    public int statfs(String path, Statvfs stbuf) {
        try {
            FsStats s = fs.statfs();
            stbuf.f_bsize.set(s.blockSize());
            stbuf.f_frsize.set(s.blockSize());
            stbuf.f_blocks.set(s.totalBlocks());
            stbuf.f_bfree.set(s.freeBlocks());
            stbuf.f_bavail.set(s.freeBlocks());
            stbuf.f_files.set(s.files());
            stbuf.f_namemax.set(s.nameMax());
            return 0;
        } catch (Throwable t) {
            return errnos.failure("statfs", path, t);
        }
    }

    @Override
    @SuppressWarnings("restricted") // as in read
    public int getxattr(String path, String name, Pointer value, long size) {
        try {
            ByteBuffer dst = size == 0 || value == null
                    ? ByteBuffer.allocate(0)
                    : MemorySegment.ofAddress(value.address()).reinterpret(size).asByteBuffer();
            int length = fs.getxattr(path, name, dst);
            return size > 0 && length > size ? -errnos.erange() : length;
        } catch (Throwable t) {
            return errnos.failure("getxattr", path, t);
        }
    }

    @Override
    public int write(String path, Pointer buf, long size, long offset, FuseFileInfo fi) {
        return -errnos.erofs();
    }

    @Override
    public int create(String path, long mode, FuseFileInfo fi) {
        return -errnos.erofs();
    }

    @Override
    public int mknod(String path, long mode, long rdev) {
        return -errnos.erofs();
    }

    @Override
    public int mkdir(String path, long mode) {
        return -errnos.erofs();
    }

    @Override
    public int rmdir(String path) {
        return -errnos.erofs();
    }

    @Override
    public int unlink(String path) {
        return -errnos.erofs();
    }

    @Override
    public int rename(String oldPath, String newPath) {
        return -errnos.erofs();
    }

    @Override
    public int symlink(String oldPath, String newPath) {
        return -errnos.erofs();
    }

    @Override
    public int link(String oldPath, String newPath) {
        return -errnos.erofs();
    }

    @Override
    public int truncate(String path, long size) {
        return -errnos.erofs();
    }

    @Override
    public int ftruncate(String path, long size, FuseFileInfo fi) {
        return -errnos.erofs();
    }

    @Override
    public int chmod(String path, long mode) {
        return -errnos.erofs();
    }

    @Override
    public int chown(String path, long uid, long gid) {
        return -errnos.erofs();
    }

    @Override
    public int utimens(String path, Timespec[] timespec) {
        return -errnos.erofs();
    }

    @Override
    public int setxattr(String path, String name, Pointer value, long size, int flags) {
        return -errnos.erofs();
    }

    @Override
    public int removexattr(String path, String name) {
        return -errnos.erofs();
    }

    @Override
    public int fallocate(String path, int mode, long off, long length, FuseFileInfo fi) {
        return -errnos.erofs();
    }

    private void setCaching(FuseFileInfo fi, boolean directIo, boolean keepCache) {
        if (!cacheBitsChecked) {
            cacheBitsUsable = fi.fh.offset() == FILE_INFO_FH_OFFSET;
            cacheBitsChecked = true;
            if (!cacheBitsUsable) {
                LOG.warn("jnr-fuse's fuse_file_info has fh at byte {}, not {}: not setting direct_io/keep_cache;"
                        + " control files are read through the page cache", fi.fh.offset(), FILE_INFO_FH_OFFSET);
            }
        }
        if (!cacheBitsUsable) {
            return;
        }
        Pointer mem = Struct.getMemory(fi);
        int bits = mem.getInt(FILE_INFO_BITS_OFFSET);
        bits = directIo ? (bits | DIRECT_IO_BIT) & ~KEEP_CACHE_BIT : keepCache ? bits | KEEP_CACHE_BIT : bits & ~KEEP_CACHE_BIT;
        mem.putInt(FILE_INFO_BITS_OFFSET, bits);
    }

    private void releaseQuietly(String path, long handle) {
        try {
            fs.release(handle);
        } catch (Throwable t) {
            errnos.failure("release", path, t);
        }
    }

    private void fill(FileStat stat, Attr a) {
        stat.st_mode.set((a.directory() ? FileStat.S_IFDIR : FileStat.S_IFREG) | (a.mode() & PERMISSION_BITS));
        stat.st_size.set(a.size());
        stat.st_blocks.set((a.size() + BLOCK_UNIT - 1) / BLOCK_UNIT);
        stat.st_nlink.set(a.links());
        stat.st_ino.set(a.inode());
        stat.st_uid.set(owner.uid());
        stat.st_gid.set(owner.gid());
        long seconds = Math.floorDiv(a.mtimeMillis(), 1000L);
        long nanos = Math.floorMod(a.mtimeMillis(), 1000L) * NANOS_PER_MILLI;
        for (Timespec t : new Timespec[] {stat.st_mtim, stat.st_ctim, stat.st_atim}) {
            t.tv_sec.set(seconds);
            t.tv_nsec.set(nanos);
        }
    }
}
