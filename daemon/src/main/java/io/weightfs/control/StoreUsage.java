package io.weightfs.control;

import io.weightfs.manifest.ContentHash;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * The node store's size (the sum of its blob files: {@code STORE/blobs/<algorithm>/<xx>/<hash>}) and
 * the free space of its filesystem, for the metrics. The size is found by listing the blob files,
 * at most every {@code intervalMillis}; free space is asked of the filesystem each time (one
 * {@code statvfs}).
 *
 * <p>Thread-safe: one scrape at a time walks; the others take the last figure.
 */
final class StoreUsage {
    private final Path dir;
    private final long intervalNanos;
    /** Guarded by this. */
    private long bytes = -1;
    /** Guarded by this. */
    private long walkedAtNanos;

    StoreUsage(Path storeDir, long intervalMillis) {
        this.dir = storeDir;
        this.intervalNanos = intervalMillis * 1_000_000;
    }

    synchronized long bytes() {
        long now = System.nanoTime();
        if (bytes < 0 || now - walkedAtNanos > intervalNanos) {
            bytes = walk();
            walkedAtNanos = now;
        }
        return bytes;
    }

    long freeBytes() {
        try {
            return Files.getFileStore(dir).getUsableSpace();
        } catch (IOException e) {
            return 0;
        }
    }

    /** Bytes of every file under blobs/ named by a content hash (state files and the like are not blobs). */
    private long walk() {
        long sum = 0;
        for (ContentHash.Algorithm a : ContentHash.Algorithm.values()) {
            Path root = dir.resolve("blobs").resolve(a.label());
            if (!Files.isDirectory(root)) {
                continue;
            }
            try (Stream<Path> files = Files.walk(root, 2)) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    if (isBlob(a, f)) {
                        sum += sizeOf(f);
                    }
                }
            } catch (IOException | UncheckedIOException e) {
                // a blob evicted while we walked: the next walk counts without it
            }
        }
        return sum;
    }

    private static boolean isBlob(ContentHash.Algorithm a, Path f) {
        String name = f.getFileName().toString();
        if (name.length() != a.hexLength() || !Files.isRegularFile(f)) {
            return false;
        }
        try {
            new ContentHash(a, name);
            return true;
        } catch (IllegalArgumentException notAHash) {
            return false;
        }
    }

    private static long sizeOf(Path f) {
        try {
            return Files.size(f);
        } catch (NoSuchFileException gone) {
            return 0;
        } catch (IOException e) {
            return 0;
        }
    }
}
