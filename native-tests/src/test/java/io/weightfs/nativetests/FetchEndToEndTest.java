package io.weightfs.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code weightfs fetch} against {@code weightfs serve}, both real processes on loopback. */
class FetchEndToEndTest {
    private static final Duration FETCH_TIMEOUT = Duration.ofMinutes(3);
    /** Backoff in these tests is milliseconds, not seconds: the behaviour is the same, the wait is not. */
    private static final Map<String, String> FAST_RETRY = Map.of("WEIGHTFS_RETRY_BASE_MS", "20");

    @TempDir
    Path tmp;

    private WeightfsProcess.Result fetch(ServeProcess serve, Path config, Path dest, String... extra) throws Exception {
        String[] base = {"fetch", "--config", config.toString(), "--dest", dest.toString(), "--store", tmp.resolve("store").toString(),
            "--endpoint", serve.endpoint(), "--progress", "lines"};
        String[] args = Stream.concat(Stream.of(base), Stream.of(extra)).toArray(String[]::new);
        return WeightfsProcess.run(FETCH_TIMEOUT, FAST_RETRY, args);
    }

    private Path config(String yaml) throws Exception {
        Path c = tmp.resolve("config.yaml");
        TestRepos.writeConfig(c, yaml);
        return c;
    }

    private static int downloads(ServeProcess serve) throws Exception {
        return serve.stats().getAsJsonArray("downloads").size();
    }

    @Test
    void fetch_ofAnAwkwardRepo_withAFileOver2GiB_landsEveryByte_andASecondRunDownloadsNothing() throws Exception {
        Path repos = tmp.resolve("repos");
        Path src = TestRepos.sampleRepo(repos, "acme/awkward", true);
        try (ServeProcess serve = ServeProcess.start(repos)) {
            Path cfg = config("""
                    model_cache:
                      - repo_id: acme/awkward
                        revision: main
                        use_volume: true
                        volume_folder: awkward
                    """);
            Path dest = tmp.resolve("dest");
            WeightfsProcess.Result r = fetch(serve, cfg, dest);
            assertEquals(0, r.exit(), r.all());
            TestRepos.assertSameTree(src, dest.resolve("awkward"));
            assertTrue(r.stderr().contains("verified"), r.stderr());

            int before = downloads(serve);
            WeightfsProcess.Result again = fetch(serve, cfg, dest);
            assertEquals(0, again.exit(), again.all());
            assertEquals(before, downloads(serve), "the second run downloaded something:\n" + again.all());
            assertTrue(again.stderr().contains("0 downloaded"), again.stderr());
        }
    }

    @Test
    void patterns_selectFiles_andAPatternMatchingNothing_isAClearError() throws Exception {
        Path repos = tmp.resolve("repos");
        TestRepos.sampleRepo(repos, "acme/small", false);
        try (ServeProcess serve = ServeProcess.start(repos)) {
            Path dest = tmp.resolve("dest");
            WeightfsProcess.Result ok = fetch(serve, config("""
                    weights:
                      - source: hf://acme/small@main
                        mount_location: /app/model_cache/small
                        allow_patterns: ["*.json", "*.safetensors"]
                        ignore_patterns: ["model-00002-*"]
                    """), dest);
            assertEquals(0, ok.exit(), ok.all());
            assertEquals(java.util.List.of("config.json", "model-00001-of-00002.safetensors", "tokenizer.json"),
                    TestRepos.files(dest.resolve("small")));

            WeightfsProcess.Result none = fetch(serve, config("""
                    weights:
                      - source: hf://acme/small
                        mount_location: small
                        allow_patterns: ["*.gguf"]
                    """), tmp.resolve("dest2"));
            assertEquals(2, none.exit(), none.all());
            assertTrue(none.stderr().contains("*.gguf"), none.stderr());
            assertFalse(Files.exists(tmp.resolve("dest2/small")));
        }
    }

    @Test
    void privateRepo_withoutAToken_isAClearError_withTheToken_succeeds_andTheTokenIsNeverPrinted() throws Exception {
        Path repos = tmp.resolve("repos");
        Path src = TestRepos.sampleRepo(repos, "acme/private", false);
        String token = "hf_SeCrEtToKeN0123456789";
        Files.writeString(src.resolve(".weightfs-repo.json"), "{\"private\": true, \"tokens\": [\"" + token + "\"]}");
        Path secrets = tmp.resolve("secrets");
        Files.createDirectories(secrets);
        Files.writeString(secrets.resolve("hf_access_token"), token + "\n");
        try (ServeProcess serve = ServeProcess.start(repos)) {
            Path cfg = config("""
                    model_cache:
                      - repo_id: acme/private
                        revision: main
                        volume_folder: private
                        runtime_secret_name: hf_access_token
                    """);
            WeightfsProcess.Result without = fetch(serve, cfg, tmp.resolve("d1"), "--secrets-dir", tmp.resolve("no-secrets").toString());
            assertEquals(1, without.exit(), without.all());
            assertTrue(without.stderr().contains("not found or private"), without.stderr());
            assertTrue(without.stderr().contains("no token was sent"), without.stderr());

            WeightfsProcess.Result with = fetch(serve, cfg, tmp.resolve("d2"), "--secrets-dir", secrets.toString());
            assertEquals(0, with.exit(), with.all());
            TestRepos.assertSameTree(src, tmp.resolve("d2/private"));

            for (String out : new String[] {without.all(), with.all(), serve.output()}) {
                assertFalse(out.contains(token), "the token leaked into output:\n" + out);
            }
        }
    }

    @Test
    void aConnectionDroppedMidBody_isResumed_andTheFileVerifies() throws Exception {
        Path repos = tmp.resolve("repos");
        Path src = TestRepos.sampleRepo(repos, "acme/flaky", false);
        try (ServeProcess serve = ServeProcess.start(repos, "--fault", "drop:*00002-of-00002.safetensors:100000:3")) {
            Path dest = tmp.resolve("dest");
            WeightfsProcess.Result r = fetch(serve, config("""
                    model_cache:
                      - repo_id: acme/flaky
                        volume_folder: flaky
                    """), dest, "--block-size", "64MiB");
            assertEquals(0, r.exit(), r.all());
            TestRepos.assertSameTree(src, dest.resolve("flaky"));
            long requests = 0;
            for (JsonElement d : serve.stats().getAsJsonArray("downloads")) {
                JsonObject o = d.getAsJsonObject();
                if (o.get("path").getAsString().endsWith("00002-of-00002.safetensors")) {
                    requests++;
                }
            }
            assertEquals(4, requests, "three cut bodies, each resumed, then one complete remainder");
        }
    }

    @Test
    void wrongBytesFromTheServer_areReported_andNothingWrongIsLeftAtTheDestination() throws Exception {
        Path repos = tmp.resolve("repos");
        TestRepos.sampleRepo(repos, "acme/liar", false);
        try (ServeProcess serve = ServeProcess.start(repos, "--fault", "corrupt:*00001-of-00002.safetensors")) {
            Path dest = tmp.resolve("dest");
            WeightfsProcess.Result r = fetch(serve, config("""
                    model_cache:
                      - repo_id: acme/liar
                        volume_folder: liar
                    """), dest);
            assertEquals(1, r.exit(), r.all());
            assertTrue(r.stderr().contains("hash mismatch"), r.stderr());
            assertTrue(r.stderr().contains("model-00001-of-00002.safetensors"), r.stderr());
            assertFalse(Files.exists(dest.resolve("liar/model-00001-of-00002.safetensors")));
            assertTrue(Files.exists(dest.resolve("liar/config.json")), "the good files still land");
            try (Stream<Path> s = Files.walk(dest)) {
                assertEquals(0, s.filter(p -> p.getFileName().toString().contains("weightfs-incomplete")).count());
            }
        }
    }

    @Test
    void aBadConfig_isRefusedWithExitStatus2_beforeAnyRequest() throws Exception {
        Path repos = tmp.resolve("repos");
        TestRepos.sampleRepo(repos, "acme/small", false);
        try (ServeProcess serve = ServeProcess.start(repos)) {
            WeightfsProcess.Result r = fetch(serve, config("""
                    model_cache:
                      - repo_id: "acme//bad"
                        volume_folder: ../outside
                    """), tmp.resolve("dest"));
            assertEquals(2, r.exit(), r.all());
            assertTrue(r.stderr().contains("model_cache[0]"), r.stderr());
            JsonObject req = serve.stats().getAsJsonObject("requests");
            assertEquals(0, req.get("api").getAsInt() + req.get("resolve").getAsInt() + req.get("cdn").getAsInt());
        }
    }
}
