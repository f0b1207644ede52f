package io.weightfs.fuse;

import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The largest read request the kernel has sent to one mount: tells at a glance whether readahead
 * took (1 MiB with jfuse and a raised read_ahead_kb, 128 KiB otherwise). Logged at DEBUG each time
 * it grows, which happens a handful of times per mount; the common path is one volatile read.
 */
final class ReadSizes {
    private static final Logger LOG = LoggerFactory.getLogger(ReadSizes.class);

    private final AtomicLong largest = new AtomicLong();

    void observe(long size) {
        long current = largest.get();
        while (size > current) {
            if (largest.compareAndSet(current, size)) {
                LOG.debug("largest read request so far: {} bytes", size);
                return;
            }
            current = largest.get();
        }
    }

    long largest() {
        return largest.get();
    }
}
