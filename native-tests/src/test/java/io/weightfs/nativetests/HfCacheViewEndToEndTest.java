package io.weightfs.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Hugging Face cache view of a real mount, read by the real libraries with
 * {@code HF_HUB_CACHE=<mount>/hub} (or {@code HF_HOME=<mount>}) and {@code HF_HUB_OFFLINE=1}, with no
 * Hub to reach: {@code hf_hub_download}, {@code snapshot_download} (by branch and by commit, with
 * patterns), {@code try_to_load_from_cache}, {@code scan_cache_dir} with huggingface_hub 1.33 and
 * 2.0, and {@code AutoTokenizer}/{@code AutoModel.from_pretrained("acme/tiny-bert")} (also with
 * {@code revision=<commit>}) with transformers 5.17. The mount has no background fill
 * ({@code --no-prefetch}): every byte the libraries read is fetched lazily, by their reads. The
 * tiny BERT is made by the real transformers (TransformersEndToEndTest's {@code tiny_models.py});
 * the driver is {@code src/test/python/hf_cache_view.py}.
 */
@io.weightfs.testing.RequiresFuse
class HfCacheViewEndToEndTest {
    private static final String REPO = "acme/tiny-bert";
    private static final String VIEW = "models--acme--tiny-bert";
    private static final Map<String, String> FAST_RETRY = Map.of("WEIGHTFS_RETRY_BASE_MS", "20");
    private static final Duration PYTHON_TIMEOUT = Duration.ofMinutes(3);
    private static final double TOLERANCE = 1e-4;

    @TempDir
    static Path shared;
    static Path repos;
    static Path model;
    static Path expected;

    @TempDir
    Path tmp;

    @BeforeAll
    static void makeTheModel() throws Exception {
        PythonVenvs.requirePython("HfCacheViewEndToEndTest");
        repos = shared.resolve("repos");
        model = repos.resolve(REPO);
        expected = shared.resolve("expected.json");
        Commands.run(List.of(PythonVenvs.forHub("1.33.0").toString(), PythonVenvs.script("tiny_models.py").toString(), "make",
                model.toString(), expected.toString()), shared, Map.of(), PYTHON_TIMEOUT, "making the tiny model");
    }

    @ParameterizedTest(name = "huggingface_hub {0}")
    @ValueSource(strings = {"1.33.0", "2.0.0"})
    void huggingfaceHub_findsTheMountedRepoInTheCacheView_offline_byBranchAndByCommit(String version) throws Exception {
        Path python = PythonVenvs.forHub(version);
        Path config = tmp.resolve("config.yaml");
        Files.writeString(config, "model_cache:\n  - repo_id: " + REPO + "\n    volume_folder: tiny-bert\nweightfs:\n  hf_cache: true\n");
        try (ServeProcess serve = ServeProcess.start(repos); MountProcess mount = mount(serve, config)) {
            Path view = mount.mountpoint().resolve("hub");
            Path repo = view.resolve(VIEW);
            String commit = Files.readString(repo.resolve("refs/main"), StandardCharsets.US_ASCII);
            assertTrue(commit.matches("[0-9a-f]{40}"), "refs/main is the commit with no newline: '" + commit + "'");
            Path snapshot = repo.resolve("snapshots").resolve(commit);
            assertEquals(0, status(mount).get("bytesPresent").getAsLong(), "nothing fetched before the libraries read");

            JsonObject r = hub(python, commit, Map.of("HF_HUB_CACHE", view.toString(), "HF_HOME", tmp.resolve("hf-home").toString()));
            assertEquals(version, r.get("version").getAsString());
            assertEquals(snapshot.resolve("config.json").toString(), ok(r, "download"));
            assertEquals(-1, Files.mismatch(model.resolve("config.json"), Path.of(ok(r, "download"))));
            assertEquals(ok(r, "download"), ok(r, "download_commit"));
            assertEquals(-1, Files.mismatch(model.resolve("model.safetensors"), Path.of(ok(r, "download_weights"))),
                    "the weights, read lazily through the view, are the repo's");
            assertEquals(snapshot.resolve("onnx/model.onnx").toString(), ok(r, "download_nested"));
            assertRaised(r, "download_missing", "LocalEntryNotFoundError");
            assertRaised(r, "download_other_commit", "LocalEntryNotFoundError");
            JsonObject snap = r.getAsJsonObject("snapshot");
            assertEquals(snapshot.toString(), snap.get("dir").getAsString());
            assertEquals(TestRepos.files(model), strings(snap.getAsJsonArray("files")));
            assertEquals(snapshot.toString(), ok(r, "snapshot_commit"), "by commit: from trees/<commit>.json, no listing call");
            assertEquals(snapshot.toString(), ok(r, "snapshot_json"));
            assertRaised(r, "snapshot_unknown_repo", "LocalEntryNotFoundError");
            assertEquals(snapshot.resolve("config.json").toString(), r.get("try_cached").getAsString());
            assertTrue(r.get("try_missing_is_known").getAsBoolean(), ".no_exist says a file the repo lacks is known missing");
            JsonArray scan = r.getAsJsonArray("scan");
            assertEquals(1, scan.size(), scan.toString());
            JsonObject scanned = scan.get(0).getAsJsonObject();
            assertEquals(REPO, scanned.get("repo_id").getAsString());
            assertEquals(TestRepos.files(model).size(), scanned.get("files").getAsInt());
            assertEquals("[\"main\"]", scanned.get("refs").toString());
            assertEquals(0, r.getAsJsonArray("scan_warnings").size(), r.get("scan_warnings").toString());

            // HF_HOME=<mount>: huggingface_hub's cache is $HF_HOME/hub, the view's default folder.
            JsonObject home = hub(python, commit, Map.of("HF_HOME", mount.mountpoint().toString()));
            assertEquals(view.toString(), home.get("cache").getAsString());
            assertEquals(snapshot.resolve("config.json").toString(), ok(home, "download"));

            long total = 0;
            for (String f : TestRepos.files(model)) {
                total += Files.size(model.resolve(f));
            }
            JsonObject st = status(mount);
            assertTrue(st.get("bytesFetched").getAsLong() <= total, "every byte fetched at most once: " + st.get("bytesFetched"));
        }
    }

    @Test
    void fromPretrained_byRepoIdAndByCommit_loadsThroughTheLazyCacheView_offline_andTheBytesAreFetchedOnce() throws Exception {
        Path python = PythonVenvs.forHub("1.33.0");
        Path config = tmp.resolve("config.yaml");
        Files.writeString(config, "model_cache:\n  - repo_id: " + REPO + "\n    volume_folder: tiny-bert\n");
        try (ServeProcess serve = ServeProcess.start(repos); MountProcess mount = mount(serve, config, "--hf-cache", "hf/hub")) {
            Path view = mount.mountpoint().resolve("hf/hub");
            String commit = Files.readString(view.resolve(VIEW).resolve("refs/main"), StandardCharsets.US_ASCII);
            Commands.Result run = Commands.run(List.of(python.toString(), PythonVenvs.script("hf_cache_view.py").toString(), "transformers",
                    spec(commit).toString()), tmp, Map.of("HF_HUB_CACHE", view.toString(), "HF_HUB_OFFLINE", "1",
                    "HF_HOME", tmp.resolve("hf-home").toString()), PYTHON_TIMEOUT, "from_pretrained through the cache view\nmount:\n"
                    + mount.output());
            JsonObject r = JsonParser.parseString(run.lastLine()).getAsJsonObject();
            for (String how : List.of("main", "commit")) {
                JsonObject o = r.getAsJsonObject(how);
                assertTrue(o.get("max_abs_diff").getAsDouble() < TOLERANCE, how + ": other numbers than the saved model: " + o);
                assertEquals(256, o.get("values").getAsInt());
            }
            JsonObject before = status(mount);
            long weights = Files.size(model.resolve("model.safetensors"));
            assertTrue(before.get("bytesFetched").getAsLong() >= weights, "the weights were fetched for the load: " + before);
            // The same file under the entry's folder is the same blob: reading it fetches nothing more.
            assertEquals(-1, Files.mismatch(model.resolve("model.safetensors"), mount.mountpoint().resolve("tiny-bert/model.safetensors")));
            assertEquals(before.get("bytesFetched").getAsLong(), status(mount).get("bytesFetched").getAsLong(), "no byte fetched twice");
        }
    }

    private MountProcess mount(ServeProcess serve, Path config, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("--config", config.toString(), "--store", tmp.resolve("store").toString(),
                "--endpoint", serve.endpoint(), "--no-prefetch"));
        args.addAll(List.of(extra));
        return MountProcess.start(tmp.resolve("mnt"), FAST_RETRY, args.toArray(String[]::new));
    }

    /** The driver's spec: the repo, its commit, the model's expected output. */
    private Path spec(String commit) throws Exception {
        JsonObject s = new JsonObject();
        s.addProperty("repo", REPO);
        s.addProperty("commit", commit);
        s.addProperty("expected", expected.toString());
        Path file = Files.createTempFile(tmp, "spec", ".json");
        Files.writeString(file, s.toString());
        return file;
    }

    private JsonObject hub(Path python, String commit, Map<String, String> where) throws Exception {
        Path specFile = spec(commit);
        Map<String, String> env = new LinkedHashMap<>(where);
        env.put("HF_HUB_OFFLINE", "1");
        Commands.Result run = Commands.run(List.of(python.toString(), PythonVenvs.script("hf_cache_view.py").toString(), "hub",
                specFile.toString()), tmp, env, PYTHON_TIMEOUT, "huggingface_hub on the cache view (" + where + ")");
        return JsonParser.parseString(run.lastLine()).getAsJsonObject();
    }

    private static JsonObject status(MountProcess mount) throws Exception {
        return JsonParser.parseString(Files.readString(mount.mountpoint().resolve(".weightfs/status.json"))).getAsJsonObject();
    }

    private static String ok(JsonObject results, String key) {
        JsonObject o = results.getAsJsonObject(key);
        assertTrue(o.has("ok"), key + ": " + o);
        return o.get("ok").getAsString();
    }

    private static void assertRaised(JsonObject results, String key, String exception) {
        JsonObject o = results.getAsJsonObject(key);
        assertEquals(exception, o.has("raised") ? o.get("raised").getAsString() : "(no exception: " + o + ")", key + ": " + o);
    }

    private static List<String> strings(JsonArray a) {
        List<String> out = new ArrayList<>();
        for (JsonElement e : a) {
            out.add(e.getAsString());
        }
        return out;
    }
}
