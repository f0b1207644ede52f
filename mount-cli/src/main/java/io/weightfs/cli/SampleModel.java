package io.weightfs.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * A small but real-shaped model repo for the demo: {@code config.json}, a tokenizer, and
 * safetensors shards with genuine headers (8-byte little-endian length, JSON tensor table, data),
 * plus the {@code model.safetensors.index.json} a loader reads first.
 */
final class SampleModel {
    private SampleModel() {}

    /**
     * Writes the repo under {@code repoDir}.
     *
     * @param shards number of safetensors shards
     * @param tensorsPerShard tensors in each shard
     * @param tensorElements bf16 elements per tensor (2 bytes each)
     */
    static long write(Path repoDir, int shards, int tensorsPerShard, int tensorElements, long seed) throws IOException {
        Files.createDirectories(repoDir);
        Files.writeString(repoDir.resolve("config.json"), """
                {
                  "architectures": ["LlamaForCausalLM"],
                  "model_type": "llama",
                  "hidden_size": %d,
                  "num_hidden_layers": %d,
                  "torch_dtype": "bfloat16"
                }
                """.formatted(tensorElements, shards * tensorsPerShard));
        Files.writeString(repoDir.resolve("tokenizer_config.json"), "{\"model_max_length\": 2048, \"tokenizer_class\": \"LlamaTokenizer\"}\n");
        StringBuilder vocab = new StringBuilder("{\"version\": \"1.0\", \"model\": {\"type\": \"BPE\", \"vocab\": {");
        for (int i = 0; i < 2000; i++) {
            vocab.append(i == 0 ? "" : ", ").append("\"tok").append(i).append("\": ").append(i);
        }
        Files.writeString(repoDir.resolve("tokenizer.json"), vocab.append("}}}\n").toString());

        long total = 0;
        Random random = new Random(seed);
        StringBuilder weightMap = new StringBuilder();
        for (int s = 1; s <= shards; s++) {
            String name = String.format("model-%05d-of-%05d.safetensors", s, shards);
            StringBuilder header = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
            long tensorBytes = 2L * tensorElements;
            for (int t = 0; t < tensorsPerShard; t++) {
                String tensor = "model.layers." + ((s - 1) * tensorsPerShard + t) + ".weight";
                header.append(",\"").append(tensor).append("\":{\"dtype\":\"BF16\",\"shape\":[").append(tensorElements)
                        .append("],\"data_offsets\":[").append(t * tensorBytes).append(',').append((t + 1) * tensorBytes).append("]}");
                weightMap.append(weightMap.isEmpty() ? "" : ",\n    ").append('"').append(tensor).append("\": \"").append(name).append('"');
            }
            header.append('}');
            // The safetensors spec pads the header with spaces to an 8-byte boundary.
            while (header.length() % 8 != 0) {
                header.append(' ');
            }
            byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
            Path file = repoDir.resolve(name);
            try (OutputStream out = Files.newOutputStream(file)) {
                out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
                out.write(h);
                byte[] data = new byte[(int) tensorBytes];
                for (int t = 0; t < tensorsPerShard; t++) {
                    random.nextBytes(data);
                    out.write(data);
                }
            }
            total += Files.size(file);
        }
        Files.writeString(repoDir.resolve("model.safetensors.index.json"),
                "{\n  \"metadata\": {\"total_size\": " + total + "},\n  \"weight_map\": {\n    " + weightMap + "\n  }\n}\n");
        return total;
    }
}
