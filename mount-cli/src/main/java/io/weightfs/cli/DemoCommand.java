package io.weightfs.cli;

import io.weightfs.serve.HubServer;
import io.weightfs.serve.ServeOptions;
import io.weightfs.serve.ServeStats;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code weightfs demo}: the whole path on an embedded default, in a temporary directory: a sample
 * model, served by {@code weightfs serve} on a free loopback port, fetched by {@code weightfs fetch},
 * verified, then removed.
 */
@Command(name = "demo", description = {
    "Make a small sample model, serve it on a free loopback port, fetch it, verify every byte,",
    "print what happened and clean up. Needs no network and no configuration."
})
final class DemoCommand implements Callable<Integer> {
    private static final String REPO = "weightfs-demo/tiny-llama";

    @Option(names = "--keep", description = "Keep the temporary directory (its path is printed).")
    boolean keep;

    @Option(names = "--shards", defaultValue = "4", description = "Safetensors shards in the sample model (default: ${DEFAULT-VALUE}).")
    int shards;

    @Option(names = "--shard-size", defaultValue = "16MiB", converter = Sizes.class,
            description = "Approximate size of each shard (default: ${DEFAULT-VALUE}).")
    long shardSize;

    @Override
    public Integer call() throws Exception {
        PrintStream out = System.out;
        Path dir = Files.createTempDirectory("weightfs-demo-");
        try {
            Path repos = dir.resolve("repos");
            int tensorsPerShard = 8;
            int elements = (int) Math.max(1, shardSize / tensorsPerShard / 2);
            long weightBytes = SampleModel.write(repos.resolve(REPO), shards, tensorsPerShard, elements, 42);
            out.printf("1. made a sample model %s: %d safetensors shards (%s) plus config, tokenizer and index%n",
                    REPO, shards, Sizes.format(weightBytes));

            try (HubServer server = HubServer.start(ServeOptions.of(repos).withPort(0))) {
                out.printf("2. weightfs serve is listening on %s (its CDN on %s)%n", server.endpoint(), server.cdnEndpoint());

                Path config = dir.resolve("config.yaml");
                Files.writeString(config, """
                        model_cache:
                          - repo_id: %s
                            revision: main
                            use_volume: true
                            volume_folder: tiny-llama
                            allow_patterns: ["*.json", "*.safetensors"]
                        """.formatted(REPO));
                Path dest = dir.resolve("model_cache");
                out.printf("3. weightfs fetch --config %s --dest %s%n", config, dest);
                out.flush();
                int exit = new CommandLine(new FetchCommand()).execute(
                        "--config", config.toString(), "--dest", dest.toString(),
                        "--store", dir.resolve("store").toString(), "--endpoint", server.endpoint().toString(),
                        "--progress", "none");
                if (exit != 0) {
                    out.println("demo FAILED: weightfs fetch exited with status " + exit);
                    return Main.EXIT_FAILED;
                }

                List<String> mismatched = compare(repos.resolve(REPO), dest.resolve("tiny-llama"));
                if (!mismatched.isEmpty()) {
                    out.println("demo FAILED: these files differ from the served repo: " + mismatched);
                    return Main.EXIT_FAILED;
                }
                Path shard = dest.resolve("tiny-llama").resolve(String.format("model-00001-of-%05d.safetensors", shards));
                out.printf("4. verified: every file is byte-for-byte the served one and matches its sha256/sha1; "
                        + "%s has %d tensors%n", shard.getFileName(), countTensors(shard));

                ServeStats stats = server.stats();
                out.printf("5. the server saw %d API calls, %d resolve requests and %d CDN downloads (%s of bodies)%n",
                        stats.requests().api(), stats.requests().resolve(), stats.requests().cdn(), Sizes.format(stats.bodyBytes()));

                int again = new CommandLine(new FetchCommand()).execute(
                        "--config", config.toString(), "--dest", dest.toString(),
                        "--store", dir.resolve("store").toString(), "--endpoint", server.endpoint().toString(),
                        "--progress", "none");
                long cdnAfter = server.stats().requests().cdn();
                out.printf("6. a second fetch found every file verified and downloaded %s (exit %d)%n",
                        cdnAfter == stats.requests().cdn() ? "nothing" : (cdnAfter - stats.requests().cdn()) + " files", again);
                if (again != 0 || cdnAfter != stats.requests().cdn()) {
                    return Main.EXIT_FAILED;
                }
            }
            out.println("demo OK");
            return 0;
        } finally {
            if (keep) {
                out.println("kept " + dir);
            } else {
                deleteRecursively(dir);
            }
        }
    }

    /** Repo paths whose bytes differ between the two trees, or that are missing from {@code got}. */
    private static List<String> compare(Path want, Path got) throws IOException {
        List<String> bad = new ArrayList<>();
        try (Stream<Path> files = Files.walk(want)) {
            for (Path p : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                Path rel = want.relativize(p);
                if (!rel.getFileName().toString().endsWith(".json") && !rel.getFileName().toString().endsWith(".safetensors")) {
                    continue;
                }
                Path other = got.resolve(rel.toString());
                if (!Files.exists(other) || Files.mismatch(p, other) != -1) {
                    bad.add(rel.toString());
                }
            }
        }
        return bad;
    }

    /** Reads a safetensors header (8-byte little-endian length, then JSON) and counts its tensors. */
    private static long countTensors(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(len, 0);
            ByteBuffer header = ByteBuffer.allocate((int) len.getLong(0));
            ch.read(header, 8);
            String json = new String(header.array(), StandardCharsets.UTF_8);
            return com.google.gson.JsonParser.parseString(json).getAsJsonObject().keySet().stream()
                    .filter(k -> !k.equals("__metadata__")).count();
        }
    }

    private static void deleteRecursively(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
