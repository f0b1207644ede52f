package io.weightfs.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which processes that claim blocks in a node store are alive. Each process holds a lock on a file
 * of its own, {@code owners/<id>}, for as long as it runs; the kernel drops the lock when the
 * process dies, however it dies (kill -9 included), also across containers that share the store.
 * A claim held by an owner whose file can be locked belongs to a dead process and is taken over at
 * once, instead of after the claim's 30 s staleness: a daemon restarted after a crash goes on with
 * the blocks its predecessor was fetching.
 *
 * <p>Thread-safe. Liveness is looked up at most once a second per owner; a dead owner stays dead.
 */
final class Owners implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Owners.class);
    /** How long an "alive" answer is trusted before the owner's file is looked at again. */
    private static final long ALIVE_FOR_NANOS = 1_000_000_000L;

    /** No registry (a staging store): owners are never known dead; claims go stale instead. */
    static final Owners NONE = new Owners(null, null, null);

    private final Path dir;
    private final FileChannel mine;
    private final FileLock lock;
    private final Set<Integer> dead = ConcurrentHashMap.newKeySet();
    private final Map<Integer, Long> aliveAt = new ConcurrentHashMap<>();

    private Owners(Path dir, FileChannel mine, FileLock lock) {
        this.dir = dir;
        this.mine = mine;
        this.lock = lock;
    }

    /** Registers this process ({@link BlobState#OWNER}) in {@code dir}; without it claims only go stale. */
    static Owners register(Path dir) {
        try {
            Files.createDirectories(dir);
            FileChannel ch = FileChannel.open(file(dir, BlobState.OWNER), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock l = ch.tryLock();
            if (l == null) {
                ch.close();
                return NONE;
            }
            return new Owners(dir, ch, l);
        } catch (IOException | OverlappingFileLockException e) {
            LOG.debug("cannot register in {}: {}; other processes take over this one's claims when they go stale", dir, e.toString());
            return NONE;
        }
    }

    private static Path file(Path dir, int owner) {
        return dir.resolve(Integer.toHexString(owner));
    }

    /** Whether the process with this claim id is known to be dead. */
    boolean dead(int owner) {
        if (dir == null) {
            return false;
        }
        if (dead.contains(owner)) {
            return true;
        }
        Long at = aliveAt.get(owner);
        long now = System.nanoTime();
        if (at != null && now - at < ALIVE_FOR_NANOS) {
            return false;
        }
        Path f = file(dir, owner);
        if (!Files.exists(f)) {
            // No file: an owner that never registered (it could not) is judged by staleness alone.
            aliveAt.put(owner, now);
            return false;
        }
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            FileLock l = ch.tryLock();
            if (l == null) {
                aliveAt.put(owner, now);
                return false;
            }
            l.release();
            dead.add(owner);
            Files.deleteIfExists(f);
            LOG.info("process {} that was fetching blocks in this store is gone; taking over its claims", Integer.toHexString(owner));
            return true;
        } catch (IOException | OverlappingFileLockException e) {
            aliveAt.put(owner, now);
            return false;
        }
    }

    @Override
    public void close() {
        if (mine == null) {
            return;
        }
        try {
            lock.release();
            mine.close();
            Files.deleteIfExists(file(dir, BlobState.OWNER));
        } catch (IOException e) {
            LOG.debug("closing the owner file: {}", e.toString());
        }
    }
}
