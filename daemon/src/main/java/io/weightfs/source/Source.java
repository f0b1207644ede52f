package io.weightfs.source;

import io.weightfs.hub.ByteStream;
import io.weightfs.hub.Deadline;
import java.io.IOException;

/** A place bytes can be read from. Implementations are thread-safe; each stream belongs to one reader. */
public interface Source {
    /** Short name for status and metrics, e.g. {@code hub}. */
    String name();

    /**
     * Opens {@code [offset, offset + length)} of a file as a stream the caller pulls from. A stream
     * delivers every byte of the range in order or throws; bytes it delivered before a failure
     * stay delivered (the caller decides what to keep).
     *
     * @param deadline when the caller stops caring (a waiting read's), or {@link Deadline#NONE}
     */
    ByteStream open(RepoFile file, long offset, long length, Deadline deadline) throws IOException;
}
