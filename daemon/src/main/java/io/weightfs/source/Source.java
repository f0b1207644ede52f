package io.weightfs.source;

import io.weightfs.hub.RangeSink;
import java.io.IOException;

/** A place bytes can be read from. Implementations are thread-safe. */
public interface Source {
    /** Short name for status and metrics, e.g. {@code hub}. */
    String name();

    /**
     * Reads {@code [offset, offset + length)} of a file into the sink, in order. Either every byte
     * of the range reached the sink or an exception is thrown (bytes already handed over stay
     * handed over; the caller decides what to keep).
     */
    void read(RepoFile file, long offset, long length, RangeSink sink) throws IOException;
}
