package io.weightfs.fuse;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.reflect.Method;
import java.util.concurrent.atomic.AtomicBoolean;
import org.cryptomator.jfuse.api.FileInfo;
import org.cryptomator.jfuse.api.FuseConfig;
import org.cryptomator.jfuse.api.Stat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the fields jfuse's API has no setter for, straight into libfuse3's structs: the per-open
 * {@code direct_io}/{@code keep_cache} bits of {@code struct fuse_file_info}, {@code st_ino} of
 * {@code struct stat}, and {@code use_ino} of {@code struct fuse_config}.
 *
 * <p>Why reflection: jfuse's Linux implementations ({@code FileInfoImpl}, {@code StatImpl},
 * {@code FuseConfigImpl}) are package-private records over the native struct, with a public
 * {@code segment()} accessor. We call it through {@code setAccessible} (jfuse sits on the class
 * path, so its packages are open to us) and write at offsets taken from libfuse 3.14's and glibc's
 * headers. If jfuse ever changes that shape, we log once and go on without: control files are then
 * read through the page cache (cut at the size stat reported, 0, and stale), and inode numbers are
 * libfuse's own.
 *
 * <p>Thread-safe: the method handles are resolved once per class, lazily.
 */
final class JfuseStructs {
    private static final Logger LOG = LoggerFactory.getLogger(JfuseStructs.class);

    /**
     * libfuse 3.14 fuse_common.h: {@code struct fuse_file_info { int32_t flags; uint32_t writepage:1,
     * direct_io:1, keep_cache:1, flush:1, ...; ... }}. GCC allocates bit-fields from the least
     * significant bit on x86-64 and aarch64, so the bit-field word sits at byte 4, direct_io is its
     * bit 1 and keep_cache its bit 2. (jfuse's jextract'd layout skips bit-fields: flags at 0, fh at 16.)
     */
    static final long FILE_INFO_BITS_OFFSET = 4;
    static final int DIRECT_IO_BIT = 1 << 1;
    static final int KEEP_CACHE_BIT = 1 << 2;
    /**
     * libfuse 3.14 fuse.h: {@code struct fuse_config { int set_gid; unsigned gid; int set_uid;
     * unsigned uid; int set_mode; unsigned umask; double entry_timeout, negative_timeout,
     * attr_timeout; int intr, intr_signal, remember, hard_remove, use_ino; ...}}: byte 64
     * (jfuse's own layout agrees). libfuse3 dropped {@code -o use_ino}; init is the only way.
     */
    static final long CONFIG_USE_INO_OFFSET = 64;
    /** glibc x86-64 and aarch64 {@code struct stat}: {@code dev_t st_dev} (8 bytes), then {@code ino_t st_ino}. */
    static final long STAT_INO_OFFSET = 8;

    private static final ClassValue<MethodHandle> SEGMENT_ACCESSOR = new ClassValue<>() {
        @Override
        protected MethodHandle computeValue(Class<?> type) {
            try {
                Method m = type.getMethod("segment");
                m.setAccessible(true);
                return MethodHandles.lookup().unreflect(m);
            } catch (ReflectiveOperationException | RuntimeException e) {
                return null;
            }
        }
    };

    private final AtomicBoolean fileInfoBroken = new AtomicBoolean();
    private final AtomicBoolean statBroken = new AtomicBoolean();

    /** Marks this open direct_io (bypass the page cache) or keep_cache (keep it across opens). */
    void setCaching(FileInfo fi, boolean directIo, boolean keepCache) {
        if (fileInfoBroken.get()) {
            return;
        }
        MemorySegment s = segment(fi, Integer.BYTES * 2);
        if (s == null) {
            if (fileInfoBroken.compareAndSet(false, true)) {
                LOG.warn("cannot set direct_io/keep_cache through jfuse's {}: control files are read through the"
                        + " page cache and may look stale; mount with --fuse jnr if that matters",
                        fi.getClass().getName());
            }
            return;
        }
        int bits = s.get(ValueLayout.JAVA_INT_UNALIGNED, FILE_INFO_BITS_OFFSET);
        bits = directIo ? (bits | DIRECT_IO_BIT) & ~KEEP_CACHE_BIT : keepCache ? bits | KEEP_CACHE_BIT : bits & ~KEEP_CACHE_BIT;
        s.set(ValueLayout.JAVA_INT_UNALIGNED, FILE_INFO_BITS_OFFSET, bits);
    }

    void setInode(Stat stat, long inode) {
        if (statBroken.get()) {
            return;
        }
        MemorySegment s = segment(stat, STAT_INO_OFFSET + Long.BYTES);
        if (s == null) {
            if (statBroken.compareAndSet(false, true)) {
                LOG.warn("cannot set st_ino through jfuse {}: inode numbers are libfuse's own, stable only while"
                        + " mounted", stat.getClass().getName());
            }
            return;
        }
        s.set(ValueLayout.JAVA_LONG_UNALIGNED, STAT_INO_OFFSET, inode);
    }

    /** Makes libfuse report our inode numbers (Attr.inode) instead of its own node IDs. */
    void setUseIno(FuseConfig config) {
        MemorySegment s = segment(config, CONFIG_USE_INO_OFFSET + Integer.BYTES);
        if (s == null) {
            LOG.warn("cannot set use_ino through jfuse {}: inode numbers are libfuse's own, stable only while"
                    + " mounted", config.getClass().getName());
            return;
        }
        s.set(ValueLayout.JAVA_INT_UNALIGNED, CONFIG_USE_INO_OFFSET, 1);
    }

    /** The native struct behind a jfuse record, at least {@code minBytes} long, or null. */
    @SuppressWarnings("restricted") // reinterpret: the struct is libfuse's, valid for this callback
    private static MemorySegment segment(Object jfuseRecord, long minBytes) {
        MethodHandle accessor = SEGMENT_ACCESSOR.get(jfuseRecord.getClass());
        if (accessor == null) {
            return null;
        }
        try {
            MemorySegment s = (MemorySegment) accessor.invoke(jfuseRecord);
            // An upcall's pointer argument may arrive as a zero-length segment.
            return s.byteSize() >= minBytes ? s : s.reinterpret(minBytes);
        } catch (Throwable t) {
            return null;
        }
    }
}
