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
 * the free space of its filesystem, for the metrics. Both are asked of the filesystem at each scrape:
 * the size by listing the blob files (one {@code stat} each: a store of 10,000 blobs is a few
 * milliseconds, every scrape interval), free space with one {@code statvfs}. A figure kept between
 * scrapes would be stale exactly when the store changes fastest.
 *
 * <p>Thread-safe: it keeps nothing.
 */
final class StoreUsage {
    private final Path dir;

    StoreUsage(Path storeDir) {
        this.dir = storeDir;
    }

    long bytes() {
        return walk();
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
