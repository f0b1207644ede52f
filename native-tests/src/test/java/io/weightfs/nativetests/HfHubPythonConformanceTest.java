package io.weightfs.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.weightfs.manifest.ContentHash;
import io.weightfs.manifest.ContentHasher;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code weightfs serve} against the real {@code huggingface_hub} 1.33 and 2.0 (each in its own venv,
 * made once under {@code target/venvs/}): {@code snapshot_download}, {@code hf_hub_download} on
 * branches, tags and {@code refs/pr/N}, {@code list_repo_files}, {@code list_repo_refs},
 * {@code list_repo_commits}, {@code model_info}, {@code file_exists}, {@code get_safetensors_metadata},
 * {@code whoami}, private and gated repos with and without a token, a dataset repo; then, with the
 * server stopped, the same downloads with {@code HF_HUB_OFFLINE=1} from the cache they filled. Every
 * answer is checked against the files on disk (driver: {@code src/test/python/hub_clients.py}).
 */
class HfHubPythonConformanceTest {
    private static final String MODEL = "acme/tiny";
    private static final String PRIVATE = "acme/secret";
    private static final String GATED = "acme/gated";
    private static final String DATASET = "acme/table";
    private static final String TOKEN_PRIVATE = "hf_privateReader123";
    private static final String TOKEN_GATED = "hf_gatedReader456";
    private static final Duration CLIENT_TIMEOUT = Duration.ofMinutes(3);

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "huggingface_hub {0}")
    @ValueSource(strings = {"1.33.0", "2.0.0"})
    void huggingfaceHub_downloadsListsAndAuthenticatesAgainstServe_thenWorksOffline(String version) throws Exception {
        PythonVenvs.requirePython("HfHubPythonConformanceTest");
        Path python = PythonVenvs.forHub(version);
        Path repos = tmp.resolve("repos");
        Path model = writeRepos(repos);
        Path cache = tmp.resolve("hf-cache");
        Path spec = tmp.resolve("spec.json");
        JsonObject s = new JsonObject();
        s.addProperty("cache", cache.toString());
        s.addProperty("model", MODEL);
        s.addProperty("private", PRIVATE);
        s.addProperty("gated", GATED);
        s.addProperty("dataset", DATASET);
        s.addProperty("token_private", TOKEN_PRIVATE);
        s.addProperty("token_gated", TOKEN_GATED);
        Files.writeString(spec, s.toString());
        Map<String, String> env = new LinkedHashMap<>();
        env.put("HF_HOME", tmp.resolve("hf-home").toString());

        JsonObject on;
        String mainCommit;
        String devCommit;
        try (ServeProcess serve = ServeProcess.start(repos)) {
            env.put("HF_ENDPOINT", serve.endpoint());
            Commands.Result r = Commands.run(List.of(python.toString(), PythonVenvs.script("hub_clients.py").toString(),
                    "online", spec.toString()), tmp, env, CLIENT_TIMEOUT, "huggingface_hub " + version + " online\nserver:\n" + serve.output());
            on = JsonParser.parseString(r.lastLine()).getAsJsonObject();
            mainCommit = on.getAsJsonObject("model_info").get("sha").getAsString();
            devCommit = on.get("model_info_dev_sha").getAsString();
        }
        assertEquals(version, on.get("version").getAsString());
        assertNotEquals(mainCommit, devCommit);

        // Downloads: every file of each ref, byte for byte.
        List<String> mainFiles = List.of("README.md", "config.json", "model.safetensors", "nested/notes.txt");
        assertSnapshot(model, mainFiles, on.getAsJsonObject("snapshot").getAsJsonObject("files"));
        assertTrue(on.getAsJsonObject("snapshot").get("dir").getAsString().endsWith("/snapshots/" + mainCommit));
        assertSnapshot(model.resolve("dev"), List.of("config.json", "model.safetensors"), on.getAsJsonObject("snapshot_dev"));
        assertEquals(Files.readString(model.resolve("config.json")), Files.readString(Path.of(on.get("download_main_config").getAsString())));
        assertEquals(Files.readString(model.resolve("dev/config.json")), Files.readString(Path.of(on.get("download_dev_config").getAsString())));
        assertEquals(Files.readString(model.resolve("pr1/config.json")), Files.readString(Path.of(on.get("download_pr_config").getAsString())));
        assertRaised(on, "download_missing", "RemoteEntryNotFoundError");

        // Listings, refs, commits, info.
        assertEquals(mainFiles, strings(on.getAsJsonArray("list_repo_files")));
        assertEquals(List.of("config.json", "model.safetensors"), strings(on.getAsJsonArray("list_repo_files_dev")));
        JsonObject refs = on.getAsJsonObject("refs");
        assertEquals(mainCommit, refs.getAsJsonObject("branches").get("main").getAsString());
        assertEquals(devCommit, refs.getAsJsonObject("branches").get("dev").getAsString());
        assertEquals(mainCommit, refs.getAsJsonObject("tags").get("v1.0").getAsString());
        assertTrue(refs.getAsJsonObject("pulls").has("refs/pr/1"));
        assertEquals(List.of(mainCommit), strings(on.getAsJsonArray("commits")));
        assertEquals(List.of(devCommit), strings(on.getAsJsonArray("commits_dev")));
        JsonObject info = on.getAsJsonObject("model_info");
        assertEquals(MODEL, info.get("id").getAsString());
        JsonObject weights = info.getAsJsonObject("siblings").getAsJsonObject("model.safetensors");
        assertEquals(Files.size(model.resolve("model.safetensors")), weights.get("size").getAsLong());
        assertEquals(ContentHasher.hash(Files.readAllBytes(model.resolve("model.safetensors")), ContentHash.Algorithm.SHA256).hex(),
                weights.get("sha256").getAsString());
        assertEquals("[true,false,true]", on.get("file_exists").toString());
        JsonObject tensors = on.getAsJsonObject("safetensors").getAsJsonObject("model.safetensors");
        assertEquals("{\"dtype\":\"F32\",\"shape\":[4,8]}", tensors.get("embed.weight").toString());
        assertEquals("{\"dtype\":\"F32\",\"shape\":[8]}", tensors.get("norm.weight").toString());

        // Tokens.
        assertTrue(on.getAsJsonObject("whoami").get("ok").getAsString().startsWith("user-"), on.get("whoami").toString());
        assertRaised(on, "whoami_bad", "HfHubHTTPError");
        assertRaised(on, "private_anonymous", "RepositoryNotFoundError");
        assertRaised(on, "private_info_anonymous", "RepositoryNotFoundError");
        assertEquals("[\"config.json\"]", on.getAsJsonObject("private_with_token").get("ok").toString());
        assertRaised(on, "gated_anonymous", "GatedRepoError");
        assertRaised(on, "gated_wrong_token", "GatedRepoError");
        assertEquals(Files.readString(repos.resolve(GATED).resolve("config.json")), on.getAsJsonObject("gated_with_token").get("ok").getAsString());
        assertEquals("manual", on.getAsJsonObject("gated_info_anonymous").get("ok").getAsString());

        // A dataset repo.
        assertSnapshot(repos.resolve("datasets").resolve(DATASET), List.of("data/train.csv"),
                on.getAsJsonObject("dataset_snapshot").getAsJsonObject("files"));
        assertTrue(on.getAsJsonObject("dataset_snapshot").get("dir").getAsString().contains("/datasets--acme--table/"));
        assertEquals(List.of("data/train.csv"), strings(on.getAsJsonArray("dataset_files")));
        assertEquals(List.of("main"), strings(on.getAsJsonArray("dataset_refs")));

        // The server is gone: HF_HUB_OFFLINE=1 serves everything from the cache the online run filled.
        env.put("HF_HUB_OFFLINE", "1");
        env.put("HF_ENDPOINT", "http://127.0.0.1:9");
        Commands.Result r = Commands.run(List.of(python.toString(), PythonVenvs.script("hub_clients.py").toString(),
                "offline", spec.toString()), tmp, env, CLIENT_TIMEOUT, "huggingface_hub " + version + " offline");
        JsonObject off = JsonParser.parseString(r.lastLine()).getAsJsonObject();
        assertEquals(on.getAsJsonObject("snapshot").get("dir").getAsString(), ok(off, "snapshot"));
        assertTrue(ok(off, "snapshot_dev").endsWith("/snapshots/" + devCommit));
        assertEquals(on.get("download_main_config").getAsString(), ok(off, "download_config"));
        assertEquals(on.get("download_pr_config").getAsString(), ok(off, "download_pr_config"));
        assertEquals(on.getAsJsonObject("dataset_snapshot").get("dir").getAsString(), ok(off, "dataset"));
        assertRaised(off, "never_downloaded", "LocalEntryNotFoundError");
        assertRaised(off, "api_call", "OfflineModeIsEnabled");
    }

    /**
     * The model repo: main at the repo folder, a dev branch and PR 1 in folders of their own, a tag
     * v1.0 on main; plus a private, a gated and a dataset repo.
     */
    private static Path writeRepos(Path repos) throws IOException {
        Path model = repos.resolve(MODEL);
        Files.createDirectories(model.resolve("nested"));
        Files.writeString(model.resolve("config.json"), "{\"model_type\": \"llama\", \"hidden_size\": 8}\n");
        Files.writeString(model.resolve("README.md"), "# tiny\n");
        Files.writeString(model.resolve("nested/notes.txt"), "notes\n");
        Map<String, int[]> tensors = new LinkedHashMap<>();
        tensors.put("embed.weight", new int[] {4, 8});
        tensors.put("norm.weight", new int[] {8});
        Safetensors.write(model.resolve("model.safetensors"), tensors);
        Files.createDirectories(model.resolve("dev"));
        Files.writeString(model.resolve("dev/config.json"), "{\"model_type\": \"llama\", \"hidden_size\": 16}\n");
        Safetensors.write(model.resolve("dev/model.safetensors"), Map.of("embed.weight", new int[] {4, 16}));
        Files.createDirectories(model.resolve("pr1"));
        Files.writeString(model.resolve("pr1/config.json"), "{\"model_type\": \"llama\", \"hidden_size\": 32}\n");
        Files.writeString(model.resolve(".weightfs-refs.json"),
                "{\"branches\": {\"dev\": \"dev\"}, \"tags\": {\"v1.0\": \".\"}, \"pull_requests\": {\"1\": \"pr1\"}}\n");

        Path secret = repos.resolve(PRIVATE);
        Files.createDirectories(secret);
        Files.writeString(secret.resolve("config.json"), "{\"secret\": true}\n");
        Files.writeString(secret.resolve(".weightfs-repo.json"), "{\"private\": true, \"tokens\": [\"" + TOKEN_PRIVATE + "\"]}");
        Path gated = repos.resolve(GATED);
        Files.createDirectories(gated);
        Files.writeString(gated.resolve("config.json"), "{\"gated\": true}\n");
        Files.writeString(gated.resolve(".weightfs-repo.json"), "{\"gated\": \"manual\", \"tokens\": [\"" + TOKEN_GATED + "\"]}");
        Path dataset = repos.resolve("datasets").resolve(DATASET);
        Files.createDirectories(dataset.resolve("data"));
        Files.writeString(dataset.resolve("data/train.csv"), "text,label\nhello,1\n");
        return model;
    }

    /** The snapshot holds exactly {@code files}, each (through its link into blobs/) equal to the source. */
    private static void assertSnapshot(Path source, List<String> files, JsonObject listed) throws IOException {
        assertEquals(new TreeSet<>(files), new TreeSet<>(listed.keySet()), "snapshot files");
        for (String f : files) {
            Path got = Path.of(listed.get(f).getAsString());
            assertEquals(-1, Files.mismatch(source.resolve(f), got), f + " differs from the source");
        }
    }

    private static void assertRaised(JsonObject results, String key, String exception) {
        JsonObject o = results.getAsJsonObject(key);
        assertEquals(exception, o.has("raised") ? o.get("raised").getAsString() : "(no exception: " + o + ")", key + ": " + o);
    }

    private static String ok(JsonObject results, String key) {
        JsonObject o = results.getAsJsonObject(key);
        assertTrue(o.has("ok"), key + ": " + o);
        return o.get("ok").getAsString();
    }

    private static List<String> strings(JsonArray a) {
        List<String> out = new ArrayList<>();
        for (JsonElement e : a) {
            out.add(e.getAsString());
        }
        return out;
    }
}
