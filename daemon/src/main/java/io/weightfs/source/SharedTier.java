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
 * <p><b>On a distributed filesystem with default settings</b> (GlusterFS, NFS: shared/PLATFORM.md),
 * another node's writes can be seen late: a reader racing a rename gets ESTALE or ENOENT, a small
 * file's content can be served stale from a client cache for about a second, a file another node
 * has just created can read as empty. So every read of the tier here retries ESTALE (and ENOENT of
 * what must exist) with a short backoff ({@link #STALE_ATTEMPTS}); content that fails its check
 * (a block list that does not decode, a block short or off its hash) is read again from a fresh
 * open after {@link #RE_READ_PAUSE}, {@link #RE_READS} times, before it is called corrupt; and a
 * lease counts as expired only {@link #leaseGrace} after its expiry, is never taken over when it
 * cannot be read, and is renewed only by its owner. Sources call {@link #blockList} and
 * {@link #readVerifiedBlock} for all of it.
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
    /** Tries of one read that fails with ESTALE (or ENOENT of a file that must exist), 20 ms apart, doubling. */
    static final int STALE_ATTEMPTS = 6;
    private static final long STALE_BACKOFF_MILLIS = 20;
    /** Fresh reads of content that failed its check, before it is called corrupt (and quarantined). */
    static final int RE_READS = 2;
    /**
     * Pause before such a re-read: longer than the client caches that serve stale content on a
     * default GlusterFS volume (md-cache and quick-read keep entries for 1 s).
     */
    static final Duration RE_READ_PAUSE = Duration.ofMillis(1100);

    /** The file operations reads of the tier go through; tests inject ESTALE and short reads here. */
    interface Io {
        Io FILES = new Io() {};

        default FileChannel open(Path p) throws IOException {
            return FileChannel.open(p, StandardOpenOption.READ);
        }

        default byte[] readAll(Path p) throws IOException {
            return Files.readAllBytes(p);
        }
    }

    /** How this tier waits before a retry or a re-read; tests make it instant. */
    interface Pause {
        Pause REAL = d -> Thread.sleep(d);

        void sleep(Duration d) throws InterruptedException;
    }

    private final Io io;
    private final Pause pause;
    private final java.util.concurrent.atomic.AtomicLong reReads = new java.util.concurrent.atomic.AtomicLong();

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
        this(root, namespace, nodeId, clock, leaseTtl, Io.FILES, Pause.REAL);
    }

    SharedTier(Path root, String namespace, String nodeId, Clock clock, Duration leaseTtl, Io io, Pause pause) {
        this.io = io;
        this.pause = pause;
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
        if (held.containsKey(h)) {
            return false;
        }
        java.util.OptionalLong expiry = Lease.readExpiry(leasePath(h), leaseTtl, clock);
        return expiry.isPresent() && !Lease.expired(expiry.getAsLong(), clock.millis(), leaseTtl);
    }

    /** Reads of tier content that failed their check and were re-read (stale or short content). */
    public long reReads() {
        return reReads.get();
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

    /** Content of the tier that stays wrong after every re-read: the caller quarantines the blob. */
    public static final class BadContentException extends IOException {
        BadContentException(String message) {
            super(message);
        }
    }

    /**
     * The block list of a blob of {@code size} bytes; cached once read and validated. ESTALE is
     * retried; a list that does not decode (stale, empty or short on this client) is read again.
     *
     * @throws BadContentException if the list stays undecodable: quarantine the blob
     * @throws IOException if it cannot be read (not a reason to quarantine)
     */
    public BlockList blockList(ContentHash h, long size) throws IOException {
        BlockList cached = lists.get(h);
        if (cached != null) {
            return cached;
        }
        IOException last = null;
        for (int read = 0; read <= RE_READS; read++) {
            if (read > 0) {
                reReads.incrementAndGet();
                LOG.info("re-reading the block list of shared blob {} ({})", h, last.getMessage());
                pause(RE_READ_PAUSE);
            }
            byte[] data = retryStale("reading the block list of " + h, () -> io.readAll(blocksPath(h)));
            try {
                BlockList l = BlockList.decode(data, size);
                lists.put(h, l);
                return l;
            } catch (IOException undecodable) {
                last = undecodable;
            }
        }
        throw new BadContentException("the block list of shared blob " + h + " is unusable after " + (RE_READS + 1)
                + " reads: " + last.getMessage());
    }

    /**
     * Reads block {@code block} of a shared blob into {@code buf} (cleared first, flipped after) and
     * checks it against the list. ESTALE is retried; a block that comes back short or off its hash
     * is read again from a fresh open after {@link #RE_READ_PAUSE}, {@link #RE_READS} times.
     *
     * @return true when {@code buf} holds the verified block; false when every read failed the
     *     check: the blob is bad, quarantine it
     * @throws IOException if the blob cannot be read (not a reason to quarantine)
     */
    public boolean readVerifiedBlock(ContentHash h, BlockList list, int block, ByteBuffer buf) throws IOException {
        long start = list.blockOffset(block);
        int length = list.blockLength(block);
        for (int read = 0; read <= RE_READS; read++) {
            if (read > 0) {
                reReads.incrementAndGet();
                LOG.info("re-reading block {} of shared blob {}: {} of {} bytes read, or off its hash", block, h,
                        buf.remaining(), length);
                pause(RE_READ_PAUSE);
            }
            retryStale("reading block " + block + " of " + h, () -> {
                try (FileChannel ch = io.open(blobPath(h))) {
                    buf.clear();
                    buf.limit(length);
                    while (buf.hasRemaining()) {
                        if (ch.read(buf, start + buf.position()) < 0) {
                            break;
                        }
                    }
                }
                return null;
            });
            buf.flip();
            if (buf.remaining() == length && list.matches(block, buf)) {
                return true;
            }
        }
        return false;
    }

    /** One read of the tier. */
    private interface Read<T> {
        T run() throws IOException;
    }

    /**
     * Runs a read, retrying ESTALE and ENOENT (a reader racing a rename on another client sees
     * either) {@link #STALE_ATTEMPTS} times with a short doubling backoff. Only for files that must
     * exist: a blob or list that {@link #has} saw.
     */
    private <T> T retryStale(String what, Read<T> read) throws IOException {
        long backoff = STALE_BACKOFF_MILLIS;
        for (int attempt = 1; ; attempt++) {
            try {
                return read.run();
            } catch (IOException e) {
                if (attempt >= STALE_ATTEMPTS || !(isStale(e) || e instanceof NoSuchFileException)) {
                    throw e;
                }
                LOG.debug("{}: {}; retrying in {} ms", what, e.toString(), backoff);
                pause(Duration.ofMillis(backoff));
                backoff *= 2;
            }
        }
    }

    /** ESTALE, as the JDK reports it (a FileSystemException's reason, or an IOException's message). */
    static boolean isStale(IOException e) {
        String reason = e instanceof java.nio.file.FileSystemException fse ? fse.getReason() : e.getMessage();
        return reason != null && reason.contains("Stale file handle");
    }

    private void pause(Duration d) throws java.io.InterruptedIOException {
        try {
            pause.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while re-reading the shared tier");
        }
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

    /** How long past its expiry a lease is still left alone: a third of its lifetime, at most 30 s. */
    static Duration leaseGrace(Duration ttl) {
        return Duration.ofMillis(Math.min(ttl.toMillis() / 3, 30_000));
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
            for (int attempt = 0; attempt < 3; attempt++) {
                try {
                    Files.write(file, content(owner, clock, ttl), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                    return Optional.of(new Lease(file, owner, clock, ttl, renew));
                } catch (FileAlreadyExistsException held) {
                    java.util.OptionalLong expires = readExpiry(file, ttl, clock);
                    if (expires.isEmpty()) {
                        continue; // released meanwhile: try to create ours
                    }
                    if (!expired(expires.getAsLong(), clock.millis(), ttl)) {
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

        /**
         * The lease's expiry (epoch millis), or empty if there is no lease file. A lease whose content
         * has no expiry (just created by another node and read before its write arrived, or read
         * empty from a stale cache) expires {@code ttl} after its mtime; one that cannot be read at
         * all (ESTALE to the end) counts as live for another {@code ttl}: a lease is never taken
         * over on a read that failed.
         */
        static java.util.OptionalLong readExpiry(Path file, Duration ttl, Clock clock) {
            for (int attempt = 1; ; attempt++) {
                try {
                    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                        if (line.startsWith("expires=")) {
                            return java.util.OptionalLong.of(Long.parseLong(line.substring(8).strip()));
                        }
                    }
                    return java.util.OptionalLong.of(Files.getLastModifiedTime(file).toMillis() + ttl.toMillis());
                } catch (NoSuchFileException gone) {
                    return java.util.OptionalLong.empty();
                } catch (IOException | NumberFormatException e) {
                    if (attempt >= STALE_ATTEMPTS) {
                        LOG.debug("cannot read lease {} ({}); taking it as live", file, e.toString());
                        return java.util.OptionalLong.of(clock.millis() + ttl.toMillis());
                    }
                    try {
                        Thread.sleep(STALE_BACKOFF_MILLIS << (attempt - 1));
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        return java.util.OptionalLong.of(clock.millis() + ttl.toMillis());
                    }
                }
            }
        }

        /**
         * Whether a lease of this expiry may be taken over now: only {@link #leaseGrace} after it, so
         * that a copy a client cache served a little stale (its holder renewed it since) is not
         * mistaken for a dead holder's.
         */
        static boolean expired(long expiry, long now, Duration ttl) {
            return now > expiry + leaseGrace(ttl).toMillis();
        }

        /** The owner a lease file names, or empty if it cannot be read. */
        static Optional<String> owner(Path file) {
            try {
                for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                    if (line.startsWith("owner=")) {
                        return Optional.of(line.substring(6).strip());
                    }
                }
            } catch (IOException e) {
                // unreadable now
            }
            return Optional.empty();
        }

        @Override
        public String toString() {
            return file.toString();
        }

        synchronized void renewIfDue() throws IOException {
            if (clock.millis() - renewedAt < renew.toMillis()) {
                return;
            }
            // Only the owner renews: a lease taken over after this node stalled past its expiry is
            // the new holder's now, and overwriting it would make two uploaders.
            Optional<String> current = owner(file);
            if (current.isPresent() && !current.get().equals(owner)) {
                throw new IOException("the lease " + file + " was taken over by " + current.get() + " (this node stalled past its expiry)");
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
