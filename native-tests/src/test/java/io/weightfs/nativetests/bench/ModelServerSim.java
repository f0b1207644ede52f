package io.weightfs.nativetests.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A simulated model server's cold start: it "imports" (sleeps) for a fixed time, reads its config
 * and tokenizer files, then parses each shard's safetensors header and reads every tensor in file
 * order, in 1 MiB reads into one reused buffer (the bytes are not kept: memory stays small).
 *
 * <p>It runs on the calling thread of the benchmark JVM; it is the part of a model server that
 * touches the files, and nothing else.
 */
final class ModelServerSim {
    private static final int READ = 1 << 20;
    private static final List<String> SMALL_FILES = List.of("config.json", "generation_config.json",
            "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json", "model.safetensors.index.json");

    /** What one cold start read, when it had read its first shard and when it finished (System.nanoTime). */
    record Result(int tensors, long bytes, long firstShardNanos, long doneNanos) {}

    private ModelServerSim() {}

    /**
     * @param modelDir the model's folder (on the mount, or a downloaded copy)
     * @param importStartNanos when the import began (System.nanoTime)
     * @param importTime how long the import takes
     * @param reverse read the shards in reverse name order (an order the default prefetch does not guess)
     */
    static Result run(Path modelDir, long importStartNanos, Duration importTime, boolean reverse)
            throws IOException, InterruptedException {
        long until = importStartNanos + importTime.toNanos();
        long left;
        while ((left = until - System.nanoTime()) > 0) {
            Thread.sleep(Duration.ofNanos(left));
        }
        ByteBuffer buf = ByteBuffer.allocateDirect(READ);
        long bytes = 0;
        for (String f : SMALL_FILES) {
            bytes += readRange(modelDir.resolve(f), 0, Files.size(modelDir.resolve(f)), buf);
        }
        List<String> shards = new ArrayList<>(SafetensorsModel.shardsFromIndex(modelDir.resolve("model.safetensors.index.json")));
        if (reverse) {
            Collections.reverse(shards);
        }
        int tensors = 0;
        long firstShard = 0;
        for (String s : shards) {
            try (FileChannel ch = FileChannel.open(modelDir.resolve(s), StandardOpenOption.READ)) {
                SafetensorsModel.Header h = SafetensorsModel.readHeader(ch);
                bytes += h.dataStart(); // the length and the JSON header it just read
                for (SafetensorsModel.Tensor t : h.tensorsInFileOrder()) {
                    bytes += readRange(ch, h.dataStart() + t.begin(), t.bytes(), buf);
                    tensors++;
                }
            }
            if (firstShard == 0) {
                firstShard = System.nanoTime();
            }
        }
        return new Result(tensors, bytes, firstShard, System.nanoTime());
    }

    private static long readRange(Path file, long pos, long len, ByteBuffer buf) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return readRange(ch, pos, len, buf);
        }
    }

    static long readRange(FileChannel ch, long pos, long len, ByteBuffer buf) throws IOException {
        long done = 0;
        while (done < len) {
            buf.clear();
            buf.limit((int) Math.min(buf.capacity(), len - done));
            int r = ch.read(buf, pos + done);
            if (r < 0) {
                throw new IOException("unexpected end of file at " + (pos + done));
            }
            done += r;
        }
        return done;
    }

    /** Reads whole files in the given order; returns the bytes read. */
    static long readAll(Path dir, List<String> files) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(READ);
        long bytes = 0;
        for (String f : files) {
            bytes += readRange(dir.resolve(f), 0, Files.size(dir.resolve(f)), buf);
        }
        return bytes;
    }
}
