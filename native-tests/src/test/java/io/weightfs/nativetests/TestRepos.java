package io.weightfs.nativetests;

import io.weightfs.testing.PatternContent;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Generated repos for native tests: the awkward cases a real model repo can have. */
final class TestRepos {
    /** Just over 2 GiB, so every int-sized offset bug shows. */
    static final long BIG_SIZE = (2L << 30) + 4097;

    private TestRepos() {}

    /**
     * Writes a repo with nested folders, names with spaces and non-ASCII characters, a 0-byte file,
     * small JSON files, LFS-sized safetensors shards and, if {@code withBigFile}, a sparse file
     * over 2 GiB with marker bytes around the 2^31 boundary and at its end.
     */
    static Path sampleRepo(Path repos, String repoId, boolean withBigFile) throws IOException {
        Path root = repos.resolve(repoId);
        Files.createDirectories(root);
        Files.writeString(root.resolve("config.json"), "{\"architectures\": [\"LlamaForCausalLM\"], \"hidden_size\": 64}\n");
        Files.writeString(root.resolve("tokenizer.json"), "{\"version\": \"1.0\", \"model\": {\"type\": \"BPE\"}}\n".repeat(50));
        Files.writeString(root.resolve("README.md"), "# a test model\n");
        Files.createDirectories(root.resolve("nested/with space"));
        Files.writeString(root.resolve("nested/with space/données é ✓.txt"), "non-ASCII name\n", StandardCharsets.UTF_8);
        Files.write(root.resolve("nested/empty.txt"), new byte[0]);
        Files.createDirectories(root.resolve("nested/many"));
        for (int i = 0; i < 20; i++) {
            Files.writeString(root.resolve("nested/many/f" + i + ".txt"), "small file " + i + "\n");
        }
        new PatternContent(1, 3 * 1024 * 1024 + 17).writeTo(root.resolve("model-00001-of-00002.safetensors"));
        new PatternContent(2, 5 * 1024 * 1024 + 3).writeTo(root.resolve("model-00002-of-00002.safetensors"));
        if (withBigFile) {
            writeSparseBig(root.resolve("big/over-2GiB.bin"));
        }
        return root;
    }

    static void writeSparseBig(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(BIG_SIZE);
            long[] at = {0, (1L << 31) - 3, 1L << 31, (1L << 31) + 8191, BIG_SIZE - 9};
            for (long a : at) {
                raf.seek(a);
                raf.write(new PatternContent(a, 9).bytes(0, 9));
            }
        }
    }

    /** Every regular file under a repo dir, as repo paths, sorted; control files excluded. */
    static List<String> files(Path root) throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> s = Files.walk(root)) {
            s.filter(Files::isRegularFile).forEach(p -> {
                String rel = root.relativize(p).toString();
                if (!rel.startsWith(".weightfs") && !p.getFileName().toString().startsWith(".weightfs")) {
                    out.add(rel);
                }
            });
        }
        out.sort(null);
        return out;
    }

    /** Asserts that every file of {@code expected} is in {@code actual} with identical bytes, and nothing else. */
    static void assertSameTree(Path expected, Path actual) throws IOException {
        List<String> want = files(expected);
        List<String> got = files(actual);
        if (!want.equals(got)) {
            throw new AssertionError("file lists differ\nexpected: " + want + "\nactual:   " + got);
        }
        for (String f : want) {
            long at = Files.mismatch(expected.resolve(f), actual.resolve(f));
            if (at != -1) {
                throw new AssertionError(f + " differs from the source at byte " + at);
            }
        }
    }

    static void writeConfig(Path file, String yaml) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, yaml);
    }
}
