package io.weightfs.store;

import io.weightfs.manifest.ContentHash;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import net.openhft.chronicle.map.ChronicleMap;
import net.openhft.chronicle.map.ChronicleMapBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The index persisted as a Chronicle Map file, shared by every process on the node that uses the
 * same store.
 *
 * <p><b>Layout.</b> Keys are 37 bytes: the hash algorithm (1 byte), the hash (32 bytes, a sha1
 * zero-padded), the block number (4 bytes, big-endian; -1 for the blob's own record). Values are 8
 * bytes: the block's CRC32C and a flags word ({@link #PRESENT}, {@link #VERIFIED}). The map's header
 * (Chronicle's own) carries its format and is validated by Chronicle on open.
 *
 * <p><b>Opening and recovery.</b> Chronicle Map keeps its segment locks in the mapped file, so a
 * process killed inside a write can leave a segment locked. Recovery is safe only when no other
 * process has the map open, so opening follows a small protocol with two lock files: hold
 * {@code open.lock} exclusively while opening; if {@code users.lock} can be taken exclusively, no one
 * else uses the map and it is opened with recovery; either way, finish holding {@code users.lock}
 * shared until close. The OS drops both locks when a process dies.
 */
final class ChronicleBlockIndex implements BlockIndex {
    private static final Logger LOG = LoggerFactory.getLogger(ChronicleBlockIndex.class);
    private static final int KEY_BYTES = 37;
    private static final int VALUE_BYTES = 8;
    private static final int PRESENT = 1;
    private static final int VERIFIED = 2;
    private static final int BLOB_RECORD = -1;

    private static final int CLAIM_BYTES = 16;

    private final ChronicleMap<byte[], byte[]> map;
    /**
     * In-flight fetches of every process on the node: (owner, last refresh). Kept apart from the
     * block map, which holds only durable facts; a claim is only ever a hint that expires.
     */
    private final ChronicleMap<byte[], byte[]> claims;
    private final FileChannel usersChannel;
    private final FileLock usersLock;

    private ChronicleBlockIndex(ChronicleMap<byte[], byte[]> map, ChronicleMap<byte[], byte[]> claims, FileChannel usersChannel,
            FileLock usersLock) {
        this.map = map;
        this.claims = claims;
        this.usersChannel = usersChannel;
        this.usersLock = usersLock;
    }

    /** Opens (creating or recovering as needed) the index in {@code dir}. Takes about a second. */
    static ChronicleBlockIndex open(Path dir, long entries) throws IOException {
        Files.createDirectories(dir);
        Path file = dir.resolve("blocks.cmap");
        ChronicleMapBuilder<byte[], byte[]> builder = ChronicleMapBuilder.of(byte[].class, byte[].class)
                .name("weightfs-block-index")
                .entries(entries)
                .constantKeySizeBySample(new byte[KEY_BYTES])
                .constantValueSizeBySample(new byte[VALUE_BYTES]);
        // Claims are few at a time (blocks in flight on the node): a small map.
        ChronicleMapBuilder<byte[], byte[]> claimsBuilder = ChronicleMapBuilder.of(byte[].class, byte[].class)
                .name("weightfs-fetch-claims")
                .entries(100_000)
                .constantKeySizeBySample(new byte[KEY_BYTES])
                .constantValueSizeBySample(new byte[CLAIM_BYTES]);
        Path claimsFile = dir.resolve("claims.cmap");
        try (FileChannel openChannel = FileChannel.open(dir.resolve("open.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock ignored = openChannel.lock()) {
            FileChannel users = FileChannel.open(dir.resolve("users.lock"), StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            try {
                FileLock exclusive = users.tryLock();
                boolean alone = exclusive != null;
                ChronicleMap<byte[], byte[]> map;
                ChronicleMap<byte[], byte[]> claims;
                if (alone && Files.exists(file)) {
                    // Nobody else has it open: repair whatever a killed process left behind.
                    map = builder.recoverPersistedTo(file.toFile(), true,
                            c -> LOG.warn("index recovery in {}: {}", file, c.message()));
                } else {
                    map = builder.createPersistedTo(file.toFile());
                }
                if (alone) {
                    // No other process: every claim in there is a dead one's. Start afresh.
                    Files.deleteIfExists(claimsFile);
                }
                claims = claimsBuilder.createPersistedTo(claimsFile.toFile());
                if (exclusive != null) {
                    exclusive.release();
                }
                FileLock shared = users.lock(0, Long.MAX_VALUE, true);
                return new ChronicleBlockIndex(map, claims, users, shared);
            } catch (IOException | RuntimeException e) {
                users.close();
                throw e;
            }
        }
    }

    static byte[] key(ContentHash hash, int block) {
        ByteBuffer b = ByteBuffer.allocate(KEY_BYTES);
        b.put((byte) hash.algorithm().ordinal());
        byte[] h = java.util.HexFormat.of().parseHex(hash.hex());
        b.put(h);
        b.position(33);
        b.putInt(block);
        return b.array();
    }

    private static byte[] value(int crc, int flags) {
        return ByteBuffer.allocate(VALUE_BYTES).putInt(crc).putInt(flags).array();
    }

    @Override
    public Map<Integer, Integer> presentBlocks(ContentHash blob, int blockCount) {
        Map<Integer, Integer> out = new HashMap<>();
        for (int b = 0; b < blockCount; b++) {
            byte[] v = map.get(key(blob, b));
            if (v != null) {
                ByteBuffer bb = ByteBuffer.wrap(v);
                int crc = bb.getInt();
                if ((bb.getInt() & PRESENT) != 0) {
                    out.put(b, crc);
                }
            }
        }
        return out;
    }

    @Override
    public void putBlocks(ContentHash blob, Map<Integer, Integer> crcs) {
        crcs.forEach((b, crc) -> map.put(key(blob, b), value(crc, PRESENT)));
    }

    @Override
    public void removeBlock(ContentHash blob, int block) {
        map.remove(key(blob, block));
    }

    @Override
    public void removeBlob(ContentHash blob, int blockCount) {
        map.remove(key(blob, BLOB_RECORD));
        for (int b = 0; b < blockCount; b++) {
            map.remove(key(blob, b));
        }
    }

    @Override
    public java.util.OptionalInt presentBlock(ContentHash blob, int block) {
        byte[] v = map.get(key(blob, block));
        if (v == null) {
            return java.util.OptionalInt.empty();
        }
        ByteBuffer bb = ByteBuffer.wrap(v);
        int crc = bb.getInt();
        return (bb.getInt() & PRESENT) != 0 ? java.util.OptionalInt.of(crc) : java.util.OptionalInt.empty();
    }

    private static byte[] claimValue(long owner, long now) {
        return ByteBuffer.allocate(CLAIM_BYTES).putLong(owner).putLong(now).array();
    }

    @Override
    public boolean claim(ContentHash blob, int block, long owner, long now, long staleAfterMillis) {
        byte[] k = key(blob, block);
        byte[] mine = claimValue(owner, now);
        byte[] old = claims.putIfAbsent(k, mine);
        if (old == null) {
            return true;
        }
        ByteBuffer o = ByteBuffer.wrap(old);
        long holder = o.getLong();
        long refreshed = o.getLong();
        if (holder == owner || now - refreshed > staleAfterMillis) {
            // replace() compares values: only one process can take over a given stale claim.
            return claims.replace(k, old, mine);
        }
        return false;
    }

    @Override
    public void refreshClaim(ContentHash blob, int block, long owner, long now) {
        byte[] k = key(blob, block);
        byte[] old = claims.get(k);
        if (old != null && ByteBuffer.wrap(old).getLong() == owner) {
            claims.replace(k, old, claimValue(owner, now));
        }
    }

    @Override
    public void releaseClaim(ContentHash blob, int block, long owner) {
        byte[] k = key(blob, block);
        byte[] old = claims.get(k);
        if (old != null && ByteBuffer.wrap(old).getLong() == owner) {
            claims.remove(k, old);
        }
    }

    @Override
    public boolean isVerified(ContentHash blob) {
        byte[] v = map.get(key(blob, BLOB_RECORD));
        return v != null && (ByteBuffer.wrap(v).getInt(4) & VERIFIED) != 0;
    }

    @Override
    public void markVerified(ContentHash blob) {
        map.put(key(blob, BLOB_RECORD), value(0, VERIFIED));
    }

    @Override
    public void close() {
        map.close();
        claims.close();
        try {
            usersLock.release();
            usersChannel.close();
        } catch (IOException e) {
            LOG.debug("closing users.lock: {}", e.toString());
        }
    }
}
