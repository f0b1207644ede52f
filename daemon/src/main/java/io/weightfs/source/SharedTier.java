package io.weightfs.source;

import io.weightfs.manifest.ContentHash;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The shared cache tier (b10cache): a content-addressed tree on a filesystem every node of a region
 * mounts (NFS, CephFS, JuiceFS, Lustre, a hostPath). weightfs only keeps a layout on it:
 * <pre>
 *   &lt;root&gt;/&lt;namespace&gt;/blobs/sha256/ab/&lt;hash&gt;          complete, verified, immutable blob
 *   &lt;root&gt;/&lt;namespace&gt;/blobs/sha256/ab/&lt;hash&gt;.blocks   its per-block hash list ({@link BlockList})
 *   &lt;root&gt;/&lt;namespace&gt;/blobs/sha256/ab/&lt;hash&gt;.used     last use (mtime), touched at most hourly per node
 *   &lt;root&gt;/&lt;namespace&gt;/leases/&lt;algo&gt;-&lt;hash&gt;.lease    an upload in progress, with its expiry
 *   &lt;root&gt;/&lt;namespace&gt;/tmp/                             uploads in progress, renamed into place
 *   &lt;root&gt;/&lt;namespace&gt;/quarantine/                      blobs that failed a block check
 *   &lt;root&gt;/&lt;namespace&gt;/manifests/, profiles/            as in the node store
 * </pre>
 * Every write is a temporary file renamed into place, the block list before the blob, so a reader
 * that sees a blob always finds its list, and never a partial blob. One namespace per organisation;
 * nothing is read across namespaces.
 *
 * <p>Thread-safe; no lock is held during I/O.
 */
public final class SharedTier {
    private static final Logger LOG = LoggerFactory.getLogger(SharedTier.class);
    private static final Pattern NAMESPACE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    /** Block size of the per-block hash lists this node writes (readers use whatever a list says). */
    public static final int BLOCK_SIZE = 8 << 20;
    /**
     * An upload holds its lease this long past its last renewal; a crashed uploader's lease runs out
     * after it. Renewed every {@link #LEASE_RENEW}, so a slow filesystem never loses a live lease.
     */
    public static final Duration LEASE_TTL = Duration.ofMinutes(5);
    static final Duration LEASE_RENEW = Duration.ofMinutes(1);
    /** "Touch at most once an hour per node": enough resolution for a 4-day collection age. */
    static final Duration USE_TOUCH_INTERVAL = Duration.ofHours(1);
    private static final int COPY_BUFFER = 1 << 20;

    private final Path dir;
    private final String namespace;
    private final String nodeId;
    private final Clock clock;
    private final Map<ContentHash, Long> lastTouched = new ConcurrentHashMap<>();
    private final Map<ContentHash, BlockList> lists = new ConcurrentHashMap<>();
    /** Leases this node holds while it fills a blob from the Hub, to publish it afterwards. */
    private final Map<ContentHash, Lease> held = new ConcurrentHashMap<>();
    private final Duration leaseTtl;
    private final Duration leaseRenew;
    private final java.util.concurrent.ScheduledExecutorService renewer = java.util.concurrent.Executors
            .newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon(true).name("weightfs-lease-renew").factory());

    /** What a publish did. */
    public enum Published { PUBLISHED, ALREADY_THERE, LEASED_ELSEWHERE }

    public SharedTier(Path root, String namespace, String nodeId, Clock clock) {
        this(root, namespace, nodeId, clock, LEASE_TTL);
    }

    /** As above, with the lease lifetime given (tests make it seconds; the renewal keeps a third of it). */
    public SharedTier(Path root, String namespace, String nodeId, Clock clock, Duration leaseTtl) {
        if (!NAMESPACE.matcher(namespace).matches()) {
            throw new IllegalArgumentException("namespace '" + namespace + "' must be letters, digits, '.', '_' or '-' (an organisation name)");
        }
        this.dir = root.resolve(namespace);
        this.namespace = namespace;
        this.nodeId = nodeId;
        this.clock = clock;
        this.leaseTtl = leaseTtl;
        this.leaseRenew = Duration.ofMillis(Math.min(LEASE_RENEW.toMillis(), Math.max(1, leaseTtl.toMillis() / 3)));
        renewer.scheduleWithFixedDelay(this::renewHeld, leaseRenew.toMillis(), leaseRenew.toMillis(),
                java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /**
     * Takes the blob's lease for this node before it fills the blob from the Hub, so that nodes
     * starting at the same time wait for this one's upload instead of downloading it too. Held
     * (and renewed) until {@link #publish} or {@link #releaseHeld}.
     *
     * @return false if another node holds a live lease on it
     */
    public boolean tryHold(ContentHash h) throws IOException {
        if (held.containsKey(h)) {
            return true;
        }
        Optional<Lease> l = Lease.acquire(leasePath(h), nodeId, clock, leaseTtl, leaseRenew);
        l.ifPresent(lease -> held.put(h, lease));
        return l.isPresent();
    }

    /** Whether another node holds a live lease on the blob (an upload or a fill in progress). */
    public boolean leasedElsewhere(ContentHash h) {
        return !held.containsKey(h) && Files.exists(leasePath(h)) && Lease.expiry(leasePath(h)) > clock.millis();
    }

    /** Gives up a held lease (the fill failed, or the daemon stops). */
    public void releaseHeld(ContentHash h) {
        Lease l = held.remove(h);
        if (l != null) {
            try {
                l.close();
            } catch (IOException e) {
                LOG.debug("cannot release lease {}: {}", leasePath(h), e.toString());
            }
        }
    }

    /** Releases every held lease and stops renewing (shutdown). */
    public void close() {
        renewer.shutdownNow();
        for (ContentHash h : List.copyOf(held.keySet())) {
            releaseHeld(h);
        }
    }

    private void renewHeld() {
        for (Lease l : held.values()) {
            try {
                l.renewIfDue();
            } catch (IOException e) {
                LOG.warn("cannot renew lease {}: {}", l, e.toString());
            }
        }
    }

    /** This host's name and process id: unique per daemon, readable in a lease file. */
    public static String defaultNodeId() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            host = "unknown-host";
        }
        return host + ":" + ProcessHandle.current().pid();
    }

    public Path dir() {
        return dir;
    }

    public String namespace() {
        return namespace;
    }

    public Path manifestsDir() {
        return dir.resolve("manifests");
    }

    public Path profilesDir() {
        return dir.resolve("profiles");
    }

    Path blobPath(ContentHash h) {
        return dir.resolve("blobs").resolve(h.algorithm().label()).resolve(h.hex().substring(0, 2)).resolve(h.hex());
    }

    Path blocksPath(ContentHash h) {
        return blobPath(h).resolveSibling(h.hex() + ".blocks");
    }

    Path usedPath(ContentHash h) {
        return blobPath(h).resolveSibling(h.hex() + ".used");
    }

    Path leasePath(ContentHash h) {
        return dir.resolve("leases").resolve(h.algorithm().label() + "-" + h.hex() + ".lease");
    }

    /** Whether the tier holds a complete blob (and its block list). */
    public boolean has(ContentHash h) {
        return Files.isRegularFile(blobPath(h)) && Files.isRegularFile(blocksPath(h));
    }

    /** The block list of a blob of {@code size} bytes; cached once read and validated. */
    public BlockList blockList(ContentHash h, long size) throws IOException {
        BlockList cached = lists.get(h);
        if (cached != null) {
            return cached;
        }
        BlockList l = BlockList.decode(Files.readAllBytes(blocksPath(h)), size);
        lists.put(h, l);
        return l;
    }

    FileChannel open(ContentHash h) throws IOException {
        return FileChannel.open(blobPath(h), StandardOpenOption.READ);
    }

    /** Moves a blob whose bytes failed a check out of the way, so no node reads it again. */
    public void quarantine(ContentHash h, String why) {
        lists.remove(h);
        Path q = dir.resolve("quarantine");
        String suffix = "." + clock.millis() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong());
        try {
            Files.createDirectories(q);
            moveIfExists(blocksPath(h), q.resolve(h.hex() + ".blocks" + suffix));
            moveIfExists(blobPath(h), q.resolve(h.hex() + suffix));
            LOG.warn("quarantined shared blob {} in {}: {}", h, q, why);
        } catch (IOException e) {
            LOG.warn("cannot quarantine shared blob {}: {}", h, e.toString());
        }
    }

    private static void moveIfExists(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (NoSuchFileException gone) {
            // someone else moved it already
        }
    }

    /** Records a use of a blob (its {@code .used} mtime), at most once an hour per node. */
    public void touchUsed(ContentHash h) {
        long now = clock.millis();
        Long last = lastTouched.get(h);
        if (last != null && now - last < USE_TOUCH_INTERVAL.toMillis()) {
            return;
        }
        lastTouched.put(h, now);
        Path used = usedPath(h);
        try {
            try {
                Files.createFile(used);
            } catch (FileAlreadyExistsException exists) {
                // just touch it
            }
            Files.setLastModifiedTime(used, FileTime.fromMillis(now));
        } catch (IOException e) {
            LOG.debug("cannot record the use of {}: {}", h, e.toString());
        }
    }

    /**
     * Copies a verified blob from {@code source} into the tier, with its block list, unless it is
     * there already or another node is uploading it now.
     */
    public Published publish(ContentHash h, long size, Path source) throws IOException {
        if (has(h)) {
            touchUsed(h);
            return Published.ALREADY_THERE;
        }
        Lease mine = held.remove(h);
        Optional<Lease> lease = mine != null ? Optional.of(mine) : Lease.acquire(leasePath(h), nodeId, clock, leaseTtl, leaseRenew);
        if (lease.isEmpty()) {
            return Published.LEASED_ELSEWHERE;
        }
        Path tmpDir = dir.resolve("tmp");
        Files.createDirectories(tmpDir);
        String base = h.hex() + "." + nodeId.replaceAll("[^A-Za-z0-9._-]", "_") + "." + Long.toHexString(ThreadLocalRandom.current().nextLong());
        Path tmpBlob = tmpDir.resolve(base + ".part");
        Path tmpBlocks = tmpDir.resolve(base + ".blocks");
        try (Lease l = lease.get()) {
            if (has(h)) {
                return Published.ALREADY_THERE;
            }
            BlockList.Builder list = new BlockList.Builder(BLOCK_SIZE, size);
            try (FileChannel in = FileChannel.open(source, StandardOpenOption.READ);
                    FileChannel out = FileChannel.open(tmpBlob, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer buf = ByteBuffer.allocate(COPY_BUFFER);
                long pos = 0;
                while (pos < size) {
                    buf.clear();
                    buf.limit((int) Math.min(buf.capacity(), size - pos));
                    int n = in.read(buf, pos);
                    if (n < 0) {
                        throw new IOException(source + " is shorter than " + size + " bytes");
                    }
                    buf.flip();
                    list.update(buf);
                    while (buf.hasRemaining()) {
                        out.write(buf);
                    }
                    pos += n;
                    l.renewIfDue();
                }
                out.force(true);
            }
            Files.write(tmpBlocks, list.build().encode(), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, StandardOpenOption.SYNC);
            Files.createDirectories(blobPath(h).getParent());
            // The list first: a reader that finds the blob always finds its list.
            atomicMove(tmpBlocks, blocksPath(h));
            atomicMove(tmpBlob, blobPath(h));
            touchUsed(h);
            LOG.info("published {} ({} bytes) to the shared tier {}", h, size, dir);
            return Published.PUBLISHED;
        } finally {
            Files.deleteIfExists(tmpBlob);
            Files.deleteIfExists(tmpBlocks);
        }
    }

    static void atomicMove(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("the shared tier's filesystem cannot rename atomically (" + from + " -> " + to
                    + "); weightfs needs atomic renames to never expose a partial blob", e);
        }
    }

    /**
     * An exclusive upload lease: a file created with O_EXCL holding the owner and its expiry. An
     * expired lease is taken over by renaming it away (only one renamer can succeed) and creating a
     * fresh one.
     */
    static final class Lease implements AutoCloseable {
        private final Path file;
        private final String owner;
        private final Clock clock;
        private final Duration ttl;
        private final Duration renew;
        private long renewedAt;

        private Lease(Path file, String owner, Clock clock, Duration ttl, Duration renew) {
            this.file = file;
            this.owner = owner;
            this.clock = clock;
            this.ttl = ttl;
            this.renew = renew;
            this.renewedAt = clock.millis();
        }

        static Optional<Lease> acquire(Path file, String owner, Clock clock) throws IOException {
            return acquire(file, owner, clock, LEASE_TTL, LEASE_RENEW);
        }

        static Optional<Lease> acquire(Path file, String owner, Clock clock, Duration ttl, Duration renew) throws IOException {
            Files.createDirectories(file.getParent());
            for (int attempt = 0; attempt < 2; attempt++) {
                try {
                    Files.write(file, content(owner, clock, ttl), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                    return Optional.of(new Lease(file, owner, clock, ttl, renew));
                } catch (FileAlreadyExistsException held) {
                    long expires = expiry(file);
                    if (expires > clock.millis()) {
                        return Optional.empty();
                    }
                    LOG.info("taking over the expired upload lease {}", file);
                    try {
                        Files.move(file, file.resolveSibling(file.getFileName() + ".expired." + Long.toHexString(
                                ThreadLocalRandom.current().nextLong())), StandardCopyOption.ATOMIC_MOVE);
                    } catch (NoSuchFileException raced) {
                        // another node moved it first; try to create ours
                    }
                }
            }
            return Optional.empty();
        }

        private static byte[] content(String owner, Clock clock, Duration ttl) {
            return ("owner=" + owner + "\nexpires=" + (clock.millis() + ttl.toMillis()) + "\n").getBytes(StandardCharsets.UTF_8);
        }

        /** The lease's expiry (epoch millis); an unreadable lease counts as expired at its mtime + TTL. */
        static long expiry(Path file) {
            try {
                for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                    if (line.startsWith("expires=")) {
                        return Long.parseLong(line.substring(8).strip());
                    }
                }
                return Files.getLastModifiedTime(file).toMillis() + LEASE_TTL.toMillis();
            } catch (IOException | NumberFormatException e) {
                return 0;
            }
        }

        @Override
        public String toString() {
            return file.toString();
        }

        synchronized void renewIfDue() throws IOException {
            if (clock.millis() - renewedAt < renew.toMillis()) {
                return;
            }
            Path tmp = file.resolveSibling(file.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()));
            Files.write(tmp, content(owner, clock, ttl));
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            renewedAt = clock.millis();
        }

        @Override
        public void close() throws IOException {
            Files.deleteIfExists(file);
        }
    }
}
