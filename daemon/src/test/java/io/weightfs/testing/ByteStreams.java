package io.weightfs.testing;

import io.weightfs.hub.ByteStream;
import io.weightfs.hub.Deadline;
import io.weightfs.source.RepoFile;
import io.weightfs.source.Source;
import java.io.IOException;
import java.nio.ByteBuffer;

/** Reads whole ranges from sources, for tests. */
public final class ByteStreams {
    private ByteStreams() {}

    /** Reads {@code [offset, offset + length)} of {@code file} from {@code source} into {@code dst}. */
    public static void readInto(Source source, RepoFile file, long offset, long length, ByteBuffer dst) throws IOException {
        try (ByteStream s = source.open(file, offset, length, Deadline.NONE)) {
            readAll(s, dst);
        }
    }

    /** Reads a stream to its end into {@code dst}. */
    public static void readAll(ByteStream s, ByteBuffer dst) throws IOException {
        while (s.read(dst) >= 0) {
            if (!dst.hasRemaining() && s.position() < s.end()) {
                throw new IOException("buffer full at " + s.position() + " of a range ending at " + s.end());
            }
        }
    }
}
