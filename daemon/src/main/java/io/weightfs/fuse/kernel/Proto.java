package io.weightfs.fuse.kernel;

/**
 * Numbers of the FUSE kernel protocol, from the Linux uapi header {@code include/uapi/linux/fuse.h}
 * (protocol 7.40). Struct sizes and field offsets are given where a struct is read or written;
 * everything is little-endian on the machines this runs on (x86-64, aarch64).
 */
final class Proto {
    private Proto() {}

    static final int KERNEL_VERSION = 7;
    /** 7.40 brought FUSE_PASSTHROUGH (backing IDs in fuse_open_out, max_stack_depth in init). */
    static final int KERNEL_MINOR_VERSION = 40;
    /** Older kernels lack what this transport relies on (7.23: time_gran, 7.28: max_pages). */
    static final int OLDEST_MINOR = 28;
    static final long ROOT_ID = 1;

    // Opcodes (enum fuse_opcode).
    static final int LOOKUP = 1;
    static final int FORGET = 2;
    static final int GETATTR = 3;
    static final int SETATTR = 4;
    static final int READLINK = 5;
    static final int SYMLINK = 6;
    static final int MKNOD = 8;
    static final int MKDIR = 9;
    static final int UNLINK = 10;
    static final int RMDIR = 11;
    static final int RENAME = 12;
    static final int LINK = 13;
    static final int OPEN = 14;
    static final int READ = 15;
    static final int WRITE = 16;
    static final int STATFS = 17;
    static final int RELEASE = 18;
    static final int FSYNC = 20;
    static final int SETXATTR = 21;
    static final int GETXATTR = 22;
    static final int LISTXATTR = 23;
    static final int REMOVEXATTR = 24;
    static final int FLUSH = 25;
    static final int INIT = 26;
    static final int OPENDIR = 27;
    static final int READDIR = 28;
    static final int RELEASEDIR = 29;
    static final int FSYNCDIR = 30;
    static final int ACCESS = 34;
    static final int CREATE = 35;
    static final int INTERRUPT = 36;
    static final int DESTROY = 38;
    static final int BATCH_FORGET = 42;
    static final int FALLOCATE = 43;
    static final int READDIRPLUS = 44;
    static final int RENAME2 = 45;
    static final int COPY_FILE_RANGE = 47;
    static final int TMPFILE = 51;

    // INIT flags (fuse_init_in/out.flags; bits 32..63 travel in flags2 with INIT_EXT).
    static final long ASYNC_READ = 1L << 0;
    static final long DO_READDIRPLUS = 1L << 13;
    static final long READDIRPLUS_AUTO = 1L << 14;
    static final long PARALLEL_DIROPS = 1L << 18;
    static final long MAX_PAGES = 1L << 22;
    static final long INIT_EXT = 1L << 30;
    static final long PASSTHROUGH = 1L << 37;

    // fuse_open_out.open_flags.
    static final int FOPEN_DIRECT_IO = 1 << 0;
    static final int FOPEN_KEEP_CACHE = 1 << 1;
    static final int FOPEN_PASSTHROUGH = 1 << 7;

    /** fuse_notify_code: the out header's error field of a notification (unique 0). */
    static final int NOTIFY_INVAL_INODE = 2;

    /** Set in the unique of an INTERRUPT request; a reply to it (EAGAIN) carries it too. */
    static final long INT_REQ_BIT = 1L;

    // Sizes.
    static final int IN_HEADER = 40;
    static final int OUT_HEADER = 16;
    static final int ATTR = 88;
    static final int ENTRY_OUT = 40 + ATTR;
    static final int ATTR_OUT = 16 + ATTR;
    static final int OPEN_OUT = 16;
    static final int INIT_OUT = 64;
    static final int STATFS_OUT = 80;
    static final int GETXATTR_OUT = 8;
    static final int DIRENT_NAME_OFFSET = 24;
    static final int NOTIFY_INVAL_INODE_OUT = 24;

    // in header offsets.
    static final int H_LEN = 0;
    static final int H_OPCODE = 4;
    static final int H_UNIQUE = 8;
    static final int H_NODEID = 16;
    static final int H_UID = 24;
    static final int H_GID = 28;
    static final int H_PID = 32;

    /** File type bits of st_mode. */
    static final int S_IFDIR = 0040000;
    static final int S_IFREG = 0100000;
    static final int O_ACCMODE = 3;

    /** Largest reply payload: max_pages (256) x 4 KiB, the kernel's per-request cap (max_pages_limit). */
    static final int MAX_PAGES_COUNT = 256;
    static final int MAX_READ = MAX_PAGES_COUNT * 4096;
    /**
     * What init says of writes: nothing is written on a read-only mount, but the kernel sizes the
     * read buffers it accepts by it (at least header + write_in + max_write).
     */
    static final int MAX_WRITE = 128 * 1024;
    /** One request or one reply, whichever is larger: a 1 MiB read reply plus headers, with room. */
    static final int BUFFER_SIZE = MAX_READ + 4096;

    static String opName(int opcode) {
        return switch (opcode) {
            case LOOKUP -> "lookup";
            case FORGET -> "forget";
            case GETATTR -> "getattr";
            case OPEN -> "open";
            case READ -> "read";
            case STATFS -> "statfs";
            case RELEASE -> "release";
            case GETXATTR -> "getxattr";
            case LISTXATTR -> "listxattr";
            case FLUSH -> "flush";
            case INIT -> "init";
            case OPENDIR -> "opendir";
            case READDIR -> "readdir";
            case RELEASEDIR -> "releasedir";
            case ACCESS -> "access";
            case INTERRUPT -> "interrupt";
            case DESTROY -> "destroy";
            case BATCH_FORGET -> "batch_forget";
            case READDIRPLUS -> "readdirplus";
            default -> "op" + opcode;
        };
    }
}
