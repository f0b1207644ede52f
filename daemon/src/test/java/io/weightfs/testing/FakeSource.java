package io.weightfs.testing;

import io.weightfs.hub.RangeSink;
import io.weightfs.source.RepoFile;
import io.weightfs.source.Source;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A source serving {@link PatternContent} per repo path, with faults to inject: corrupt every
 * byte range of a path, or fail the next N reads. Records every range asked for.
 */
public final class FakeSource implements Source {
    /** Small chunks so a sink sees several writes per range, as with a real socket. */
    private static final int CHUNK = 16 * 1024;

    private final Map<String, PatternContent> contents = new ConcurrentHashMap<>();
    private final Map<String, Boolean> corrupt = new ConcurrentHashMap<>();
    private final AtomicInteger failuresLeft = new AtomicInteger();
    private final List<String> reads = new CopyOnWriteArrayList<>();

    public FakeSource put(String path, PatternContent content) {
        contents.put(path, content);
        return this;
    }

    public FakeSource corrupt(String path) {
        corrupt.put(path, true);
        return this;
    }

    public FakeSource heal(String path) {
        corrupt.remove(path);
        return this;
    }

    public FakeSource failNext(int n) {
        failuresLeft.set(n);
        return this;
    }

    /** {@code path@offset+length} of every read, in arrival order. */
    public List<String> reads() {
        return List.copyOf(reads);
    }

    @Override
    public String name() {
        return "fake";
    }

    @Override
    public void read(RepoFile file, long offset, long length, RangeSink sink) throws IOException {
        String path = file.file().path();
        reads.add(path + "@" + offset + "+" + length);
        if (failuresLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            throw new IOException("injected failure reading " + path);
        }
        PatternContent c = contents.get(path);
        if (c == null) {
            throw new IOException("fake source has no " + path);
        }
        ByteBuffer buf = ByteBuffer.allocate(CHUNK);
        for (long pos = offset; pos < offset + length; ) {
            buf.clear();
            buf.limit((int) Math.min(CHUNK, offset + length - pos));
            c.fill(pos, buf);
            buf.flip();
            if (corrupt.containsKey(path) && pos == offset) {
                buf.put(0, (byte) (buf.get(0) ^ 0xFF));
            }
            int n = buf.remaining();
            sink.write(pos, buf);
            pos += n;
        }
    }
}
