package io.weightfs.fuse;

import io.weightfs.fs.Attr;
import io.weightfs.fs.DirEntry;
import io.weightfs.fs.FsOps;
import io.weightfs.fs.FsStats;
import java.nio.ByteBuffer;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.cryptomator.jfuse.api.DirFiller;
import org.cryptomator.jfuse.api.Errno;
import org.cryptomator.jfuse.api.FileInfo;
import org.cryptomator.jfuse.api.FuseConfig;
import org.cryptomator.jfuse.api.FuseConnInfo;
import org.cryptomator.jfuse.api.FuseOperations;
import org.cryptomator.jfuse.api.Stat;
import org.cryptomator.jfuse.api.Statvfs;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link FsOps} as jfuse's {@link FuseOperations} (libfuse3 high-level API). Each callback decodes,
 * calls {@code FsOps}, encodes, and catches everything: an exception that escaped into libfuse
 * would kill the mount. Operations not listed in {@link #supportedOperations()} answer ENOSYS (from
 * libfuse); write-ish ones answer EROFS (the kernel refuses most of them itself on a read-only mount).
 *
 * <p>Threads: libfuse3's worker pool (up to 10 threads by default) calls in concurrently, also
 * several reads of one file at once; the adapter holds no state besides statistics.
 */
final class JfuseAdapter implements FuseOperations {
    private static final Logger LOG = LoggerFactory.getLogger(JfuseAdapter.class);

    /**
     * Asked of libfuse in init. The kernel takes the minimum of this and the bdi's readahead (128 KiB
     * at mount time), so it is the sysfs write after mounting that lifts requests to 1 MiB; this only
     * makes sure libfuse does not hold them below that.
     */
    static final int MAX_READAHEAD = 1 << 20;

    private static final int PERMISSION_BITS = 07777;
    private static final int DOT_MODE = Stat.S_IFDIR | 0555;

    private static final Set<Operation> SUPPORTED = EnumSet.of(
            Operation.INIT, Operation.DESTROY, Operation.GET_ATTR, Operation.ACCESS, Operation.OPEN_DIR,
            Operation.READ_DIR, Operation.RELEASE_DIR, Operation.OPEN, Operation.READ, Operation.RELEASE,
            Operation.STATFS, Operation.GET_XATTR,
            // write-ish: EROFS rather than ENOSYS, so tools say "Read-only file system"
            Operation.WRITE, Operation.CREATE, Operation.MKDIR, Operation.RMDIR, Operation.UNLINK,
            Operation.RENAME, Operation.SYMLINK, Operation.TRUNCATE, Operation.CHMOD, Operation.CHOWN,
            Operation.UTIMENS, Operation.SET_XATTR, Operation.REMOVE_XATTR);

    private final FsOps fs;
    private final Errno errno;
    private final Errnos errnos;
    private final ProcessOwner owner;
    private final JfuseStructs structs = new JfuseStructs();
    private final ReadSizes readSizes = new ReadSizes();

    JfuseAdapter(FsOps fs, Errno errno, ProcessOwner owner) {
        this.fs = fs;
        this.errno = errno;
        this.errnos = Errnos.of(errno);
        this.owner = owner;
    }

    private volatile JfuseInvalidator invalidator;

    void setInvalidator(JfuseInvalidator inv) {
        this.invalidator = inv;
    }

    ReadSizes readSizes() {
        return readSizes;
    }

    Errnos errnos() {
        return errnos;
    }

    @Override
    public Errno errno() {
        return errno;
    }

    @Override
    public Set<Operation> supportedOperations() {
        return SUPPORTED;
    }

    @Override
    public void init(FuseConnInfo conn, FuseConfig config) {
        try {
            // Async reads let the kernel keep several readahead requests of one file in flight.
            // Splice is left off: jfuse answers reads from a buffer, which libfuse writes with writev;
            // splice only pays where a reply comes from a file descriptor.
            conn.setWant(conn.want() | (conn.capable() & FuseConnInfo.FUSE_CAP_ASYNC_READ));
            conn.setMaxReadahead(MAX_READAHEAD);
            structs.setUseIno(config);
            JfuseInvalidator inv = invalidator;
            if (inv != null) {
                inv.captureContext();
            }
            LOG.debug("FUSE init: protocol {}.{}, capable {}, want {}, max_write {}, max_readahead {};"
                    + " kernel_cache {}, use_ino {}, attr_timeout {}, entry_timeout {}",
                    conn.protoMajor(), conn.protoMinor(), Integer.toHexString(conn.capable()),
                    Integer.toHexString(conn.want()), conn.maxWrite(), conn.maxReadahead(),
                    config.kernelCache(), config.useIno(), config.attrTimeout(), config.entryTimeout());
        } catch (Throwable t) {
            errnos.failure("init", "/", t);
        }
    }

    @Override
    public void destroy() {
        LOG.debug("FUSE destroy");
    }

    @Override
    public int getattr(String path, Stat stat, FileInfo fi) {
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
            // Existence only: the kernel answers W_OK on a read-only mount with EROFS itself, and
            // default_permissions has it check modes.
            fs.getattr(path);
            return 0;
        } catch (Throwable t) {
            return errnos.failure("access", path, t);
        }
    }

    @Override
    public int opendir(String path, FileInfo fi) {
        try {
            return fs.getattr(path).directory() ? 0 : -errnos.enotdir();
        } catch (Throwable t) {
            return errnos.failure("opendir", path, t);
        }
    }

    @Override
    public int readdir(String path, DirFiller filler, long offset, FileInfo fi, int flags) {
        try {
            List<DirEntry> entries = fs.readdir(path);
            // Offset 0 for every entry: libfuse collects the whole listing and pages it to the
            // kernel itself. With readdirplus the attributes travel along, saving a lookup per name.
            int plus = (flags & FuseOperations.FUSE_READDIR_PLUS) != 0 ? DirFiller.FUSE_FILL_DIR_PLUS : 0;
            if (filler.fill(".", st -> st.setMode(DOT_MODE), 0, 0) != 0
                    || filler.fill("..", st -> st.setMode(DOT_MODE), 0, 0) != 0) {
                return 0;
            }
            for (DirEntry e : entries) {
                Attr attr = e.attr();
                if (filler.fill(e.name(), st -> fill(st, attr), 0, plus) != 0) {
                    break; // libfuse's buffer could not grow; it reports that itself
                }
            }
            return 0;
        } catch (Throwable t) {
            return errnos.failure("readdir", path, t);
        }
    }

    @Override
    public int releasedir(String path, FileInfo fi) {
        return 0;
    }

    @Override
    public int open(String path, FileInfo fi) {
        long handle;
        try {
            Set<StandardOpenOption> flags = fi.getOpenFlags();
            handle = fs.open(path, flags.contains(StandardOpenOption.WRITE) || flags.contains(StandardOpenOption.APPEND));
        } catch (Throwable t) {
            return errnos.failure("open", path, t);
        }
        try {
            fi.setFh(handle);
            structs.setCaching(fi, fs.directIo(handle), fs.keepCache(handle));
            return 0;
        } catch (Throwable t) {
            releaseQuietly(path, handle); // the kernel never learns of a handle whose open failed
            return errnos.failure("open", path, t);
        }
    }

    @Override
    public int read(String path, ByteBuffer buf, long size, long offset, FileInfo fi) {
        try {
            readSizes.observe(size);
            // buf is libfuse's own reply buffer (position 0, limit size): FsOps fills it in place.
            int n = fs.read(fi.getFh(), buf, offset);
            if (LOG.isTraceEnabled()) {
                LOG.trace("read {} fh {} @{} +{} -> {}", path, fi.getFh(), offset, size, n);
            }
            return n;
        } catch (Throwable t) {
            return errnos.failure("read", path, t);
        }
    }

    @Override
    public int release(String path, FileInfo fi) {
        try {
            fs.release(fi.getFh());
            return 0;
        } catch (Throwable t) {
            return errnos.failure("release", path, t);
        }
    }

    @Override
    public int statfs(String path, Statvfs statvfs) {
        try {
            FsStats s = fs.statfs();
            statvfs.setBsize(s.blockSize());
            statvfs.setFrsize(s.blockSize());
            statvfs.setBlocks(s.totalBlocks());
            statvfs.setBfree(s.freeBlocks());
            statvfs.setBavail(s.freeBlocks());
            statvfs.setNameMax(s.nameMax());
            return 0;
        } catch (Throwable t) {
            return errnos.failure("statfs", path, t);
        }
    }

    @Override
    public int getxattr(String path, String name, ByteBuffer value) {
        try {
            int length = fs.getxattr(path, name, value);
            return value.capacity() > 0 && length > value.capacity() ? -errnos.erange() : length;
        } catch (Throwable t) {
            return errnos.failure("getxattr", path, t);
        }
    }

    @Override
    public int write(String path, ByteBuffer buf, long size, long offset, FileInfo fi) {
        return -errnos.erofs();
    }

    @Override
    public int create(String path, int mode, FileInfo fi) {
        return -errnos.erofs();
    }

    @Override
    public int mkdir(String path, int mode) {
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
    public int rename(String oldPath, String newPath, int flags) {
        return -errnos.erofs();
    }

    @Override
    public int symlink(String target, String linkName) {
        return -errnos.erofs();
    }

    @Override
    public int truncate(String path, long size, FileInfo fi) {
        return -errnos.erofs();
    }

    @Override
    public int chmod(String path, int mode, FileInfo fi) {
        return -errnos.erofs();
    }

    @Override
    public int chown(String path, int uid, int gid, FileInfo fi) {
        return -errnos.erofs();
    }

    @Override
    public int utimens(String path, org.cryptomator.jfuse.api.TimeSpec atime,
            org.cryptomator.jfuse.api.TimeSpec mtime, FileInfo fi) {
        return -errnos.erofs();
    }

    @Override
    public int setxattr(String path, String name, ByteBuffer value, int flags) {
        return -errnos.erofs();
    }

    @Override
    public int removexattr(String path, String name) {
        return -errnos.erofs();
    }

    private void releaseQuietly(String path, long handle) {
        try {
            fs.release(handle);
        } catch (Throwable t) {
            errnos.failure("release", path, t);
        }
    }

    private void fill(Stat stat, Attr a) {
        stat.setMode((a.directory() ? Stat.S_IFDIR : Stat.S_IFREG) | (a.mode() & PERMISSION_BITS));
        stat.setSize(a.size());
        stat.setNLink((short) a.links());
        stat.setUid(owner.uid());
        stat.setGid(owner.gid());
        Instant t = Instant.ofEpochMilli(a.mtimeMillis());
        stat.mTime().set(t);
        stat.cTime().set(t);
        stat.aTime().set(t);
        structs.setInode(stat, a.inode());
    }
}
