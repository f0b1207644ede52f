package io.weightfs.nativetests.bench;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * A generated Llama-shaped model repo: {@code config.json}, tokenizer files, a
 * {@code model.safetensors.index.json} and N shards with real safetensors headers (8-byte
 * little-endian header length, a JSON header padded with spaces to 8-byte alignment, then the
 * data), and the header reader the simulated model server uses.
 *
 * <p>Tensor data is pseudo-random, so nothing on the way (sparse-file hashing in {@code serve},
 * compression) can take a short cut. The header lists tensors in name order while the data is laid
 * out in layer order, as files written by the safetensors library often are: a reader that wants
 * "file order" has to sort by offset.
 */
final class SafetensorsModel {
    /** Llama-2-7B-ish widths scaled down so that a layer is ~100 MiB and a 512 MiB model has several. */
    private static final long HIDDEN = 2048;
    private static final long INTERMEDIATE = 5632;
    private static final long VOCAB = 32000;
    private static final int BF16 = 2;
    /** The unit of writing, and of the random pattern (each chunk gets its offset stamped in). */
    private static final int CHUNK = 4 << 20;
    private static final int PAGE = 4096;

    record Tensor(String name, long[] shape, long begin, long end) {
        long bytes() {
            return end - begin;
        }
    }

    /** One shard's parsed header: where its data starts and its tensors in file (offset) order. */
    record Header(long dataStart, List<Tensor> tensorsInFileOrder) {}

    private SafetensorsModel() {}

    static String shardName(int i, int n) {
        return String.format("model-%05d-of-%05d.safetensors", i, n);
    }

    /**
     * Writes the repo into {@code dir} unless a complete one of the same shape is already there
     * (a marker file beside it says so). Returns whether it wrote anything.
     */
    static boolean ensure(Path dir, long modelBytes, int shards) throws IOException {
        Path marker = dir.resolveSibling(dir.getFileName() + ".complete");
        String want = modelBytes + " " + shards + " v1";
        if (Files.isRegularFile(marker) && Files.readString(marker).equals(want) && Files.isDirectory(dir)) {
            return false;
        }
        Files.deleteIfExists(marker);
        deleteTree(dir);
        Files.createDirectories(dir);
        write(dir, modelBytes, shards);
        Files.writeString(marker, want);
        return true;
    }

    private static void write(Path dir, long modelBytes, int shards) throws IOException {
        List<long[]> shapes = new ArrayList<>();
        List<String> names = new ArrayList<>();
        add(names, shapes, "model.embed_tokens.weight", VOCAB, HIDDEN);
        long tail = VOCAB * HIDDEN * BF16 + HIDDEN * BF16;
        long total = VOCAB * HIDDEN * BF16;
        int layer = 0;
        while (total + tail < modelBytes) {
            String p = "model.layers." + layer + ".";
            total += add(names, shapes, p + "input_layernorm.weight", HIDDEN);
            for (String proj : new String[] {"q_proj", "k_proj", "v_proj", "o_proj"}) {
                total += add(names, shapes, p + "self_attn." + proj + ".weight", HIDDEN, HIDDEN);
            }
            total += add(names, shapes, p + "post_attention_layernorm.weight", HIDDEN);
            total += add(names, shapes, p + "mlp.gate_proj.weight", INTERMEDIATE, HIDDEN);
            total += add(names, shapes, p + "mlp.up_proj.weight", INTERMEDIATE, HIDDEN);
            total += add(names, shapes, p + "mlp.down_proj.weight", HIDDEN, INTERMEDIATE);
            layer++;
        }
        add(names, shapes, "model.norm.weight", HIDDEN);
        add(names, shapes, "lm_head.weight", VOCAB, HIDDEN);
        total += tail;

        // Cut into shards of about equal size, keeping tensors whole.
        long perShard = (total + shards - 1) / shards;
        List<List<Integer>> byShard = new ArrayList<>();
        for (int s = 0; s < shards; s++) {
            byShard.add(new ArrayList<>());
        }
        long inShard = 0;
        int shard = 0;
        for (int i = 0; i < names.size(); i++) {
            long b = bytes(shapes.get(i));
            if (inShard > 0 && inShard + b / 2 > perShard && shard < shards - 1) {
                shard++;
                inShard = 0;
            }
            byShard.get(shard).add(i);
            inShard += b;
        }
        Map<String, String> weightMap = new TreeMap<>();
        byte[] pattern = new byte[CHUNK];
        new SplittableRandom(0x5eed).nextBytes(pattern);
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
        long stamp = 0;
        for (int s = 0; s < shards; s++) {
            String file = shardName(s + 1, shards);
            Map<String, JsonObject> header = new TreeMap<>();
            long off = 0;
            for (int i : byShard.get(s)) {
                long b = bytes(shapes.get(i));
                JsonObject t = new JsonObject();
                t.addProperty("dtype", "BF16");
                com.google.gson.JsonArray shape = new com.google.gson.JsonArray();
                for (long d : shapes.get(i)) {
                    shape.add(d);
                }
                t.add("shape", shape);
                com.google.gson.JsonArray offs = new com.google.gson.JsonArray();
                offs.add(off);
                offs.add(off + b);
                t.add("data_offsets", offs);
                header.put(names.get(i), t);
                weightMap.put(names.get(i), file);
                off += b;
            }
            JsonObject h = new JsonObject();
            JsonObject meta = new JsonObject();
            meta.addProperty("format", "pt");
            h.add("__metadata__", meta);
            header.forEach(h::add);
            byte[] json = h.toString().getBytes(StandardCharsets.UTF_8);
            int padded = (json.length + 7) / 8 * 8;
            try (FileChannel ch = FileChannel.open(dir.resolve(file), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
                head.putLong(padded).put(json);
                while (head.hasRemaining()) {
                    head.put((byte) ' ');
                }
                head.flip();
                while (head.hasRemaining()) {
                    ch.write(head);
                }
                long left = off;
                while (left > 0) {
                    int n = (int) Math.min(CHUNK, left);
                    buf.clear();
                    buf.put(pattern, 0, n);
                    // Stamp every page, so no two pages of the model are alike.
                    for (int p = 0; p + 8 <= n; p += PAGE) {
                        buf.putLong(p, stamp++);
                    }
                    buf.flip();
                    while (buf.hasRemaining()) {
                        ch.write(buf);
                    }
                    left -= n;
                }
            }
        }
        writeSmallFiles(dir, total, weightMap, layer);
    }

    private static void writeSmallFiles(Path dir, long total, Map<String, String> weightMap, int layers) throws IOException {
        JsonObject index = new JsonObject();
        JsonObject meta = new JsonObject();
        meta.addProperty("total_size", total);
        index.add("metadata", meta);
        JsonObject wm = new JsonObject();
        weightMap.forEach(wm::addProperty);
        index.add("weight_map", wm);
        Files.writeString(dir.resolve("model.safetensors.index.json"), index.toString());
        Files.writeString(dir.resolve("config.json"), """
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": %d,
                 "intermediate_size": %d, "num_hidden_layers": %d, "num_attention_heads": 16,
                 "vocab_size": %d, "torch_dtype": "bfloat16"}
                """.formatted(HIDDEN, INTERMEDIATE, layers, VOCAB));
        Files.writeString(dir.resolve("generation_config.json"), "{\"bos_token_id\": 1, \"eos_token_id\": 2}\n");
        Files.writeString(dir.resolve("special_tokens_map.json"), "{\"bos_token\": \"<s>\", \"eos_token\": \"</s>\"}\n");
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"model_max_length\": 4096, \"tokenizer_class\": \"LlamaTokenizer\"}\n");
        // About 2 MiB, like a real tokenizer.json: a vocab of made-up byte-pair tokens.
        StringBuilder tok = new StringBuilder("{\"version\": \"1.0\", \"model\": {\"type\": \"BPE\", \"vocab\": {");
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < VOCAB * 2; i++) {
            if (i > 0) {
                tok.append(", ");
            }
            tok.append("\"tok").append(Long.toHexString(r.nextLong() & 0xffffffffL)).append("\": ").append(i);
        }
        tok.append("}}}\n");
        Files.writeString(dir.resolve("tokenizer.json"), tok);
    }

    private static long add(List<String> names, List<long[]> shapes, String name, long... shape) {
        names.add(name);
        shapes.add(shape);
        return bytes(shape);
    }

    private static long bytes(long[] shape) {
        long n = BF16;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** Reads a shard's header the way a loader does: 8-byte length, JSON, tensors sorted by offset. */
    static Header readHeader(FileChannel ch) throws IOException {
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, len, 0);
        long n = len.flip().getLong();
        if (n <= 0 || n > 100 << 20) {
            throw new IOException("not a safetensors file: header length " + n);
        }
        ByteBuffer json = ByteBuffer.allocate((int) n);
        readFully(ch, json, 8);
        JsonObject h = JsonParser.parseString(new String(json.array(), StandardCharsets.UTF_8).strip()).getAsJsonObject();
        List<Tensor> tensors = new ArrayList<>();
        for (Map.Entry<String, JsonElement> e : h.entrySet()) {
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            JsonObject t = e.getValue().getAsJsonObject();
            var shapeJson = t.getAsJsonArray("shape");
            long[] shape = new long[shapeJson.size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = shapeJson.get(i).getAsLong();
            }
            var offs = t.getAsJsonArray("data_offsets");
            tensors.add(new Tensor(e.getKey(), shape, offs.get(0).getAsLong(), offs.get(1).getAsLong()));
        }
        tensors.sort(Comparator.comparingLong(Tensor::begin));
        return new Header(8 + n, tensors);
    }

    /** The shard files named in the index's weight map, in name order. */
    static List<String> shardsFromIndex(Path indexJson) throws IOException {
        JsonObject index = JsonParser.parseString(Files.readString(indexJson)).getAsJsonObject();
        Map<String, Boolean> seen = new TreeMap<>();
        for (var e : index.getAsJsonObject("weight_map").entrySet()) {
            seen.put(e.getValue().getAsString(), true);
        }
        return new ArrayList<>(seen.keySet());
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        while (b.hasRemaining()) {
            int r = ch.read(b, pos + b.position());
            if (r < 0) {
                throw new IOException("unexpected end of file at " + (pos + b.position()));
            }
        }
    }

    /** The repo's files in the fill's order: small files first, then shards in name order. */
    static List<String> filesInFillOrder(Path dir) throws IOException {
        Map<String, Long> small = new TreeMap<>();
        Map<String, Long> big = new TreeMap<>();
        try (var s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String n = p.getFileName().toString();
                (n.endsWith(".safetensors") ? big : small).put(n, Files.size(p));
            }
        }
        Map<String, Long> all = new LinkedHashMap<>(small);
        all.putAll(big);
        return new ArrayList<>(all.keySet());
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (var s = Files.walk(dir)) {
            List<Path> all = s.sorted(Comparator.reverseOrder()).toList();
            for (Path p : all) {
                Files.deleteIfExists(p);
            }
        }
    }
}
