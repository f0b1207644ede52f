package io.weightfs.store;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The durable facts of one blob, in a small memory-mapped file beside its data file
 * ({@code <hash>.state}), shared by every process on the node that maps it: which bytes of each
 * block are durable (with their CRC32C), whether the whole blob is verified, and who is fetching
 * which block right now.
 *
 * <p><b>Format</b> (little-endian, validated on open, never guessed at). A 64-byte header: magic
 * {@code "WFSSTAT1"} (8), version (int), block size (int), blob size (long), block count (int),
 * flags (int: {@link #VERIFIED}, {@link #RETIRED}), reserved. Then one 16-byte
 * record per block: <em>progress</em> (long: durable bytes from the block's start in the high 32 bits,
 * the CRC32C of exactly those bytes in the low 32) and <em>claim</em> (long: the fetching process's
 * id in the high 32 bits, the epoch second of its last refresh in the low 32; 0 when free). Every
 * field that changes is one aligned 8- or 4-byte word, read and written atomically (compare-and-set
 * for the claim and the flags), so processes need no lock to share it.
 *
 * <p><b>Durability.</b> A block's progress is raised only after its bytes were forced to disk
 * (see {@link Syncer}); the file's pages reach the disk whenever the kernel writes them back, which
 * can only be later. After {@code kill -9} (the mapping's pages survive in the page cache) or a
 * power cut, the progress of a block therefore never claims more than is on disk; the CRC catches
 * the rest on first use. A file is created whole under a temporary name and linked into place, so
 * no process ever maps a half-written header.
 *
 * <p>Why not an index shared by every blob (the store used Chronicle Map until 0.2): opening it
 * took 1-2 s and several CPU-seconds of run-time code generation per mount, and needed
 * {@code jdk.compiler} at run time. A state file per blob opens in microseconds, is only opened
 * for blobs a mount touches, and a deleted blob takes its state with it.
 *
 * <p>Thread-safe and process-safe. The mapping is released when the object is collected.
 */
final class BlobState {
    static final long MAGIC = 0x3154415453534657L; // "WFSSTAT1", little-endian
    static final int VERSION = 1;
    static final int HEADER_BYTES = 64;
    static final int RECORD_BYTES = 16;
    /** The whole content hashed right and every block was durable at that moment. */
    static final int VERIFIED = 1;
    /**
     * The blob was evicted, or its content discarded: its files are (being) removed, and processes
     * that still map this file must open the blob again (which makes fresh files).
     */
    static final int RETIRED = 2;

    private static final long OFF_MAGIC = 0;
    private static final long OFF_VERSION = 8;
    private static final long OFF_BLOCK_SIZE = 12;
    private static final long OFF_SIZE = 16;
    private static final long OFF_BLOCKS = 24;
    private static final long OFF_FLAGS = 28;

    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG_VH = LONG.varHandle();
    private static final VarHandle INT_VH = INT.varHandle();

    /** This process's id in claims: random, because pids repeat across containers. Never 0. */
    static final int OWNER = ThreadLocalRandom.current().nextInt(1, Integer.MAX_VALUE);

    private final Path file;
    private final MemorySegment map;
    private final int blockSize;
    private final long size;
    private final int blockCount;

    private BlobState(Path file, MemorySegment map, int blockSize, long size, int blockCount) {
        this.file = file;
        this.map = map;
        this.blockSize = blockSize;
        this.size = size;
        this.blockCount = blockCount;
    }

    /** Thrown when a state file exists but belongs to another blob shape (or is not a state file). */
    static final class MismatchException extends IOException {
        MismatchException(String message) {
            super(message);
        }
    }

    static int blockCount(long size, int blockSize) {
        return (int) ((size + blockSize - 1) / blockSize);
    }

    static long fileBytes(int blockCount) {
        return HEADER_BYTES + (long) RECORD_BYTES * blockCount;
    }

    /**
     * Maps the state file, creating it (whole, atomically) if it does not exist.
     *
     * @return the state, and whether this call created it
     * @throws MismatchException if the file is not a state file of a blob of this size and block size
     */
    static BlobState openOrCreate(Path file, long size, int blockSize) throws IOException {
        int blocks = blockCount(size, blockSize);
        if (!Files.exists(file)) {
            create(file, size, blockSize, blocks);
        }
        return map(file, size, blockSize, blocks);
    }

    /** Replaces whatever is at {@code file} with a fresh state (nothing present). */
    static BlobState replace(Path file, long size, int blockSize) throws IOException {
        int blocks = blockCount(size, blockSize);
        Path tmp = tmpSibling(file);
        try {
            writeFresh(tmp, size, blockSize, blocks);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return map(file, size, blockSize, blocks);
    }

    private static void create(Path file, long size, int blockSize, int blocks) throws IOException {
        Path tmp = tmpSibling(file);
        try {
            writeFresh(tmp, size, blockSize, blocks);
            // A hard link is create-if-absent with the whole content: two processes creating the
            // same blob at once end up with one file, and neither sees a half-written header.
            Files.createLink(file, tmp);
        } catch (FileAlreadyExistsException someoneElse) {
            // theirs is as good as ours
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static Path tmpSibling(Path file) {
        return file.resolveSibling(file.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
    }

    private static void writeFresh(Path tmp, long size, int blockSize, int blocks) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        header.putLong((int) OFF_MAGIC, MAGIC);
        header.putInt((int) OFF_VERSION, VERSION);
        header.putInt((int) OFF_BLOCK_SIZE, blockSize);
        header.putLong((int) OFF_SIZE, size);
        header.putInt((int) OFF_BLOCKS, blocks);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            // Every page written out, not left a hole: a write through the mapping into a hole of a
            // full filesystem would be a SIGBUS, where a write here is an IOException.
            ByteBuffer all = ByteBuffer.allocate((int) fileBytes(blocks));
            all.put(header.array());
            all.clear();
            while (all.hasRemaining()) {
                ch.write(all, all.position());
            }
            ch.force(true);
        }
    }

    private static BlobState map(Path file, long size, int blockSize, int blocks) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long length = ch.size();
            if (length != fileBytes(blocks)) {
                throw new MismatchException(file + " is " + length + " bytes, not the " + fileBytes(blocks)
                        + " of a state file of " + blocks + " blocks");
            }
            MemorySegment m = ch.map(FileChannel.MapMode.READ_WRITE, 0, length, Arena.ofAuto());
            long magic = (long) LONG_VH.getVolatile(m, OFF_MAGIC);
            int version = (int) INT_VH.getVolatile(m, OFF_VERSION);
            int bs = (int) INT_VH.getVolatile(m, OFF_BLOCK_SIZE);
            long sz = (long) LONG_VH.getVolatile(m, OFF_SIZE);
            int count = (int) INT_VH.getVolatile(m, OFF_BLOCKS);
            if (magic != MAGIC || version != VERSION) {
                throw new MismatchException(file + " is not a weightfs state file of version " + VERSION);
            }
            if (bs != blockSize || sz != size || count != blocks) {
                throw new MismatchException(file + " describes a blob of " + sz + " bytes in blocks of " + bs
                        + ", not " + size + " in blocks of " + blockSize);
            }
            return new BlobState(file, m, blockSize, size, blocks);
        }
    }

    /** Whether the state file at {@code file} says its blob is verified (false if absent or not a state file). */
    static boolean peekVerified(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(h, 0);
            return h.position() == HEADER_BYTES && h.getLong((int) OFF_MAGIC) == MAGIC
                    && (h.getInt((int) OFF_FLAGS) & VERIFIED) != 0 && (h.getInt((int) OFF_FLAGS) & RETIRED) == 0;
        } catch (IOException e) {
            return false;
        }
    }

    /** Marks the state file at {@code file} retired, for every process that maps it (absent: nothing to do). */
    static void retireFile(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            if (ch.size() < HEADER_BYTES) {
                return;
            }
            MemorySegment m = ch.map(FileChannel.MapMode.READ_WRITE, 0, HEADER_BYTES, Arena.ofAuto());
            int f;
            do {
                f = (int) INT_VH.getVolatile(m, OFF_FLAGS);
            } while (!INT_VH.compareAndSet(m, OFF_FLAGS, f, f | RETIRED));
        } catch (java.nio.file.NoSuchFileException gone) {
            // nothing maps what does not exist
        }
    }

    Path file() {
        return file;
    }

    int blockCount() {
        return blockCount;
    }

    int blockSize() {
        return blockSize;
    }

    long size() {
        return size;
    }

    // --- flags and generation ------------------------------------------------------------------

    int flags() {
        return (int) INT_VH.getVolatile(map, OFF_FLAGS);
    }

    boolean verified() {
        return (flags() & VERIFIED) != 0;
    }

    boolean retired() {
        return (flags() & RETIRED) != 0;
    }

    void setFlag(int flag) {
        int f;
        do {
            f = flags();
            if ((f & flag) == flag) {
                return;
            }
        } while (!INT_VH.compareAndSet(map, OFF_FLAGS, f, f | flag));
    }

    void clearFlag(int flag) {
        int f;
        do {
            f = flags();
            if ((f & flag) == 0) {
                return;
            }
        } while (!INT_VH.compareAndSet(map, OFF_FLAGS, f, f & ~flag));
    }

    // --- per-block progress --------------------------------------------------------------------

    private static long progressOffset(int block) {
        return HEADER_BYTES + (long) RECORD_BYTES * block;
    }

    private static long claimOffset(int block) {
        return progressOffset(block) + 8;
    }

    /** Durable bytes of a block, from its start. */
    int durableBytes(int block) {
        return (int) (progressWord(block) >>> 32);
    }

    /** The raw progress word: durable bytes (high 32 bits) and their CRC32C (low 32). */
    long progressWord(int block) {
        checkBlock(block);
        return (long) LONG_VH.getVolatile(map, progressOffset(block));
    }

    static int bytesOf(long word) {
        return (int) (word >>> 32);
    }

    static int crcOf(long word) {
        return (int) word;
    }

    /** Records that the first {@code bytes} of a block are durable, with their CRC32C. */
    void setProgress(int block, int bytes, int crc) {
        checkBlock(block);
        LONG_VH.setVolatile(map, progressOffset(block), ((long) bytes << 32) | (crc & 0xFFFF_FFFFL));
    }

    /** Forgets every block's progress (the blob's content was wrong, or its file was lost). */
    void clearProgress() {
        for (int b = 0; b < blockCount; b++) {
            LONG_VH.setVolatile(map, progressOffset(b), 0L);
        }
    }

    // --- cross-process fetch claims ------------------------------------------------------------

    /**
     * Claims the fetching of a block for this process. Succeeds if nobody holds it, if we already
     * do, if the holder has not refreshed it for {@code staleSeconds} (it hangs), or if the holder
     * is known to be dead ({@code ownerDead}: a killed process is taken over at once, not after the
     * staleness period).
     */
    boolean claim(int block, long nowSeconds, long staleSeconds, java.util.function.IntPredicate ownerDead) {
        long off = claimOffset(block);
        checkBlock(block);
        long mine = claimWord(nowSeconds);
        while (true) {
            long cur = (long) LONG_VH.getVolatile(map, off);
            if (cur != 0 && ownerOf(cur) != OWNER && nowSeconds - secondsOf(cur) < staleSeconds && !ownerDead.test(ownerOf(cur))) {
                return false;
            }
            if (LONG_VH.compareAndSet(map, off, cur, mine)) {
                return true;
            }
        }
    }

    /** Keeps this process's claim alive while its download makes progress. */
    void refreshClaim(int block, long nowSeconds) {
        long off = claimOffset(block);
        checkBlock(block);
        long cur = (long) LONG_VH.getVolatile(map, off);
        if (ownerOf(cur) == OWNER) {
            LONG_VH.compareAndSet(map, off, cur, claimWord(nowSeconds));
        }
    }

    /** Drops this process's claim (the block is durable, or its download failed). */
    void releaseClaim(int block) {
        long off = claimOffset(block);
        checkBlock(block);
        long cur = (long) LONG_VH.getVolatile(map, off);
        if (cur != 0 && ownerOf(cur) == OWNER) {
            LONG_VH.compareAndSet(map, off, cur, 0L);
        }
    }

    /** Whether some live process other than this one holds the block's claim. */
    boolean claimedByOther(int block, long nowSeconds, long staleSeconds) {
        long cur = (long) LONG_VH.getVolatile(map, claimOffset(block));
        return cur != 0 && ownerOf(cur) != OWNER && nowSeconds - secondsOf(cur) < staleSeconds;
    }

    private static long claimWord(long nowSeconds) {
        return ((long) OWNER << 32) | (nowSeconds & 0xFFFF_FFFFL);
    }

    private static int ownerOf(long word) {
        return (int) (word >>> 32);
    }

    private static long secondsOf(long word) {
        return word & 0xFFFF_FFFFL;
    }

    private void checkBlock(int block) {
        if (block < 0 || block >= blockCount) {
            throw new IllegalArgumentException("block " + block + " outside a blob of " + blockCount + " blocks (" + file + ")");
        }
    }

    @Override
    public String toString() {
        return file.toString();
    }
}
