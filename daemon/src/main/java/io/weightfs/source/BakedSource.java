package io.weightfs.source;

import io.weightfs.hub.ByteStream;
import io.weightfs.hub.Deadline;
import io.weightfs.manifest.ContentHash;
import io.weightfs.manifest.ManifestFile;
import io.weightfs.manifest.ResolvedEntry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The files baked into an image ({@link BakedFiles}) as the first tier, in front of {@code next}
 * (the Hub, or the shared tier and the Hub). A blob that has a baked copy is read from it a whole
 * block at a time, and each block is checked against the blob's block list before any of its bytes
 * leave this class. A baked copy that is missing, of the wrong size, unreadable, or with a block
 * that does not match is counted, logged once, and never used again by this process; the rest of
 * the range comes from {@code next}. Offline, that read fails: wrong bytes are never served.
 *
 * <p>Thread-safe. Memory is bounded: at most {@link #BUFFERS} block buffers exist, and a stream
 * beyond that waits for one.
 */
public final class BakedSource implements Source {
    private static final Logger LOG = LoggerFactory.getLogger(BakedSource.class);
    /** Concurrent baked-file streams; each holds one block buffer (8 MiB). Local disk: a few keep it busy. */
    static final int BUFFERS = 4;

    private final BakedFiles baked;
    private final Map<ContentHash, Path> files;
    private final Source next;
    private final Set<ContentHash> refused = ConcurrentHashMap.newKeySet();
    private final BlockingQueue<ByteBuffer> buffers = new ArrayBlockingQueue<>(BUFFERS);
    private final AtomicLong bakedBytes = new AtomicLong();
    private final AtomicLong badFiles = new AtomicLong();
    /** Guarded by this. */
    private int allocated;

    /**
     * @param entries the mount's resolved entries; the baked ones ({@code use_volume: false}) are
     *     looked up in {@code baked} by folder and path
     */
    public BakedSource(BakedFiles baked, List<ResolvedEntry> entries, Source next) {
        this.baked = baked;
        this.next = next;
        Map<ContentHash, Path> m = new HashMap<>();
        for (ResolvedEntry r : entries) {
            if (!r.entry().baked()) {
                continue;
            }
            for (ManifestFile f : r.files()) {
                m.putIfAbsent(f.hash(), baked.fileOf(r.entry().folder(), f));
            }
        }
        this.files = Map.copyOf(m);
    }

    @Override
    public String name() {
        return "baked";
    }

    /** Blobs with a baked copy (whether or not it turned out good). */
    public int bakedBlobs() {
        return files.size();
    }

    public long bytesFromBaked() {
        return bakedBytes.get();
    }

    /** Baked copies refused (missing, short, unreadable, a block that did not match). */
    public long badFiles() {
        return badFiles.get();
    }

    /** Whether {@code file}'s bytes would be read from a baked copy (it has one, not refused yet). */
    public boolean has(RepoFile file) {
        ContentHash h = file.file().hash();
        return files.containsKey(h) && !refused.contains(h);
    }

    /** The baked copies that are absent or not of their manifest's size now (checked once, at start). */
    public List<Path> missingOrWrongSize(List<ResolvedEntry> entries) {
        List<Path> out = new java.util.ArrayList<>();
        for (ResolvedEntry r : entries) {
            if (!r.entry().baked()) {
                continue;
            }
            for (ManifestFile f : r.files()) {
                Path p = baked.fileOf(r.entry().folder(), f);
                try {
                    if (!Files.isRegularFile(p) || Files.size(p) != f.size() || !Files.isRegularFile(baked.blockListOf(f.hash()))) {
                        out.add(p);
                    }
                } catch (IOException e) {
                    out.add(p);
                }
            }
        }
        return out;
    }

    @Override
    public ByteStream open(RepoFile file, long offset, long length, Deadline deadline) throws IOException {
        ContentHash h = file.file().hash();
        Path p = files.get(h);
        if (p == null || refused.contains(h)) {
            return next.open(file, offset, length, deadline);
        }
        BlockList list;
        FileChannel ch;
        try {
            list = baked.blockList(h, file.size());
            ch = FileChannel.open(p, StandardOpenOption.READ);
            if (ch.size() != file.size()) {
                long size = ch.size();
                ch.close();
                throw new IOException("it is " + size + " bytes, its manifest says " + file.size());
            }
        } catch (IOException e) {
            refuse(h, p, e.getMessage());
            return next.open(file, offset, length, deadline);
        }
        return new Baked(file, p, list, ch, offset, offset + length, deadline);
    }

    private void refuse(ContentHash h, Path p, String why) {
        if (refused.add(h)) {
            badFiles.incrementAndGet();
            LOG.warn("baked copy {} refused ({}); its bytes come from {} instead", p, why, next.name());
        }
    }

    /** Reads checked blocks of one baked file; moves to {@code next} for good if one fails. */
    private final class Baked implements ByteStream, CheckedStream {
        private final RepoFile file;
        private final Path path;
        private final BlockList list;
        private final long end;
        private final Deadline deadline;
        private FileChannel channel;
        private ByteStream fallback;
        private long pos;
        private ByteBuffer block;
        /** File offset of {@link #block}'s first byte, when it holds a checked block. */
        private long blockStart = -1;

        Baked(RepoFile file, Path path, BlockList list, FileChannel channel, long offset, long end, Deadline deadline) {
            this.file = file;
            this.path = path;
            this.list = list;
            this.channel = channel;
            this.pos = offset;
            this.end = end;
            this.deadline = deadline;
        }

        @Override
        public boolean deliveredChecked() {
            return fallback == null || fallback instanceof CheckedStream c && c.deliveredChecked();
        }

        @Override
        public long position() {
            return fallback != null ? fallback.position() : pos;
        }

        @Override
        public long end() {
            return end;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            if (fallback != null) {
                return fallback.read(dst);
            }
            if (pos >= end) {
                return -1;
            }
            int b = (int) (pos / list.blockSize());
            if (blockStart != list.blockOffset(b)) {
                try {
                    loadChecked(b);
                } catch (IOException e) {
                    // Everything handed out so far was checked; the rest comes from the next tier.
                    refuse(file.file().hash(), path, e.getMessage());
                    closeChannel();
                    fallback = next.open(file, pos, end - pos, deadline);
                    return 0;
                }
            }
            int from = (int) (pos - blockStart);
            int n = (int) Math.min(Math.min(dst.remaining(), end - pos), list.blockLength(b) - from);
            dst.put(block.slice(from, n));
            pos += n;
            bakedBytes.addAndGet(n);
            return n;
        }

        private void loadChecked(int b) throws IOException {
            if (block == null) {
                block = takeBuffer(list.blockSize());
            }
            blockStart = -1;
            long start = list.blockOffset(b);
            int len = list.blockLength(b);
            block.clear().limit(len);
            while (block.hasRemaining()) {
                if (channel.read(block, start + block.position()) < 0) {
                    throw new IOException("it ends inside block " + b);
                }
            }
            block.flip();
            if (!list.matches(b, block)) {
                throw new IOException("block " + b + " does not match its hash");
            }
            blockStart = start;
        }

        private void closeChannel() {
            try {
                if (channel != null) {
                    channel.close();
                }
            } catch (IOException ignored) {
                // read-only file: nothing was lost
            }
            channel = null;
        }

        @Override
        public void close() {
            closeChannel();
            if (block != null) {
                buffers.offer(block);
                block = null;
            }
            if (fallback != null) {
                fallback.close();
            }
        }
    }

    private ByteBuffer takeBuffer(int blockSize) throws IOException {
        ByteBuffer b = buffers.poll();
        if (b == null) {
            synchronized (this) {
                if (allocated < BUFFERS) {
                    allocated++;
                    // Heap: the block is hashed before use, and digests read arrays fastest.
                    return ByteBuffer.allocate(Math.max(blockSize, BakedFiles.BLOCK_SIZE));
                }
            }
            try {
                b = buffers.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted waiting for a baked-file buffer");
            }
        }
        if (b.capacity() < blockSize) {
            return ByteBuffer.allocate(blockSize);
        }
        return b;
    }
}
