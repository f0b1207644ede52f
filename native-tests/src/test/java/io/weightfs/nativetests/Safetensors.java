package io.weightfs.nativetests;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Writes real safetensors files (float32 tensors of given shapes), for clients that parse their headers. */
final class Safetensors {
    private Safetensors() {}

    /** Writes {@code tensors} (name to shape) as F32 with values {@code i * 0.5}; returns the file. */
    static Path write(Path file, Map<String, int[]> tensors) throws IOException {
        StringBuilder header = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        Map<String, Integer> counts = new LinkedHashMap<>();
        long offset = 0;
        for (Map.Entry<String, int[]> t : tensors.entrySet()) {
            int n = 1;
            StringBuilder shape = new StringBuilder();
            for (int d : t.getValue()) {
                n *= d;
                shape.append(shape.isEmpty() ? "" : ",").append(d);
            }
            counts.put(t.getKey(), n);
            header.append(",\"").append(t.getKey()).append("\":{\"dtype\":\"F32\",\"shape\":[").append(shape)
                    .append("],\"data_offsets\":[").append(offset).append(',').append(offset + 4L * n).append("]}");
            offset += 4L * n;
        }
        header.append('}');
        while ((header.length() + 8) % 8 != 0) {
            header.append(' ');
        }
        byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(8 + h.length + (int) offset).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(h.length).put(h);
        for (int n : counts.values()) {
            for (int i = 0; i < n; i++) {
                out.putFloat(i * 0.5f);
            }
        }
        Files.createDirectories(file.getParent());
        Files.write(file, out.array());
        return file;
    }
}
