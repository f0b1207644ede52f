package io.weightfs.testing;

import io.weightfs.hub.ByteStream;
import io.weightfs.hub.Deadline;
import io.weightfs.source.RepoFile;
import io.weightfs.source.Source;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A source serving {@link PatternContent} per repo path, with faults to inject: corrupt the first
 * byte of every range of a path, fail the next N opens, or hold streams of a path until released.
 * Records every range asked for.
 */
public final class FakeSource implements Source {
    /** Small chunks so a reader sees several reads per range, as with a real socket. */
    private static final int CHUNK = 16 * 1024;

    private final Map<String, PatternContent> contents = new ConcurrentHashMap<>();
    private final Map<String, Boolean> corrupt = new ConcurrentHashMap<>();
    private final Map<String, java.util.concurrent.atomic.AtomicLong> corruptOnce = new ConcurrentHashMap<>();
    private final Map<String, Semaphore> gates = new ConcurrentHashMap<>();
    private final AtomicInteger failuresLeft = new AtomicInteger();
    private final List<String> reads = new CopyOnWriteArrayList<>();
    private final AtomicLong bytesServed = new AtomicLong();

    public FakeSource put(String path, PatternContent content) {
        contents.put(path, content);
        return this;
    }

    public FakeSource corrupt(String path) {
        corrupt.put(path, true);
        return this;
    }

    /** The first stream that delivers the byte at {@code offset} of {@code path} delivers it flipped; later ones are right. */
    public FakeSource corruptOnce(String path, long offset) {
        corruptOnce.put(path, new java.util.concurrent.atomic.AtomicLong(offset));
        return this;
    }

    /** Whether the one wrong copy that {@link #corruptOnce} arranged was handed out. */
    public boolean corruptOnceDelivered(String path) {
        java.util.concurrent.atomic.AtomicLong once = corruptOnce.get(path);
        return once != null && once.get() < 0;
    }

    public FakeSource heal(String path) {
        corrupt.remove(path);
        return this;
    }

    public FakeSource failNext(int n) {
        failuresLeft.set(n);
        return this;
    }

    /** Streams of {@code path} deliver nothing until {@link #release} hands out chunks. */
    public FakeSource hold(String path) {
        gates.put(path, new Semaphore(0));
        return this;
    }

    /** Lets held streams of {@code path} deliver {@code chunks} more chunks (Integer.MAX_VALUE / 2: all). */
    public FakeSource release(String path, int chunks) {
        Semaphore g = gates.get(path);
        if (g != null) {
            g.release(chunks);
        }
        return this;
    }

    /** {@code path@offset+length} of every range opened, in arrival order. */
    public List<String> reads() {
        return List.copyOf(reads);
    }

    public long bytesServed() {
        return bytesServed.get();
    }

    @Override
    public String name() {
        return "fake";
    }

    @Override
    public ByteStream open(RepoFile file, long offset, long length, Deadline deadline) throws IOException {
        String path = file.file().path();
        reads.add(path + "@" + offset + "+" + length);
        if (failuresLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            throw new IOException("injected failure reading " + path);
        }
        PatternContent c = contents.get(path);
        if (c == null) {
            throw new IOException("fake source has no " + path);
        }
        boolean bad = corrupt.containsKey(path);
        Semaphore gate = gates.get(path);
        return new ByteStream() {
            long pos = offset;

            @Override
            public int read(ByteBuffer dst) throws IOException {
                if (pos >= offset + length) {
                    return -1;
                }
                if (gate != null) {
                    try {
                        gate.acquire();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new java.io.InterruptedIOException("interrupted");
                    }
                }
                int n = (int) Math.min(Math.min(CHUNK, dst.remaining()), offset + length - pos);
                ByteBuffer part = dst.slice(dst.position(), n);
                c.fill(pos, part);
                if (bad && pos == offset) {
                    dst.put(dst.position(), (byte) (dst.get(dst.position()) ^ 0xFF));
                }
                java.util.concurrent.atomic.AtomicLong once = corruptOnce.get(path);
                if (once != null) {
                    long at = once.get();
                    if (at >= pos && at < pos + n && once.compareAndSet(at, -1)) {
                        int i = dst.position() + (int) (at - pos);
                        dst.put(i, (byte) (dst.get(i) ^ 0xFF));
                    }
                }
                dst.position(dst.position() + n);
                pos += n;
                bytesServed.addAndGet(n);
                return n;
            }

            @Override
            public long position() {
                return pos;
            }

            @Override
            public long end() {
                return offset + length;
            }

            @Override
            public void close() {}
        };
    }
}
