package io.weightfs.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real model loaders on weightfs. A tiny BERT (config, safetensors weights, tokenizer, and an ONNX
 * export made with torch) is written once by the real {@code transformers} 5.17; then it is loaded
 * with {@code AutoTokenizer}/{@code AutoModel.from_pretrained("acme/tiny-bert")} through
 * {@code HF_ENDPOINT} at {@code weightfs serve}, with {@code from_pretrained(MOUNT/tiny-bert)} through
 * a real {@code weightfs mount}, and with {@code @huggingface/transformers} 4.3.2 (onnxruntime-node)
 * through the mount. Each load must give the model's own output (driver scripts:
 * {@code src/test/python/tiny_models.py}, {@code src/test/js/transformers/load_onnx.mjs}).
 */
@io.weightfs.testing.RequiresFuse
class TransformersEndToEndTest {
    private static final String REPO = "acme/tiny-bert";
    private static final Map<String, String> FAST_RETRY = Map.of("WEIGHTFS_RETRY_BASE_MS", "20");
    private static final Duration PYTHON_TIMEOUT = Duration.ofMinutes(3);
    /** float32 through two small layers: the same file gives the same numbers, give or take rounding. */
    private static final double TOLERANCE = 1e-4;

    @TempDir
    static Path shared;
    static Path python;
    static Path repos;
    static Path expected;

    @TempDir
    Path tmp;

    @BeforeAll
    static void makeTheModel() throws Exception {
        PythonVenvs.requirePython("TransformersEndToEndTest");
        python = PythonVenvs.forHub("1.33.0");
        repos = shared.resolve("repos");
        expected = shared.resolve("expected.json");
        Commands.run(List.of(python.toString(), PythonVenvs.script("tiny_models.py").toString(), "make",
                repos.resolve(REPO).toString(), expected.toString()), shared, Map.of(), PYTHON_TIMEOUT, "making the tiny model");
    }

    @Test
    void fromPretrained_throughHfEndpoint_loadsTheModelAndTokenizerFromServe() throws Exception {
        try (ServeProcess serve = ServeProcess.start(repos)) {
            JsonObject r = load(REPO, Map.of("HF_ENDPOINT", serve.endpoint(), "HF_HOME", tmp.resolve("hf-home").toString()));
            assertSameOutput(r);
            assertTrue(serve.stats().toString().contains("model.safetensors"), "the weights came from serve");
        }
    }

    @Test
    void fromPretrained_ofTheMountedFolder_loadsWithNoNetwork() throws Exception {
        try (ServeProcess serve = ServeProcess.start(repos); MountProcess mount = mount(serve)) {
            Path folder = mount.mountpoint().resolve("tiny-bert");
            assertTrue(Files.isRegularFile(folder.resolve("model.safetensors")));
            JsonObject r = load(folder.toString(), Map.of("HF_HUB_OFFLINE", "1", "HF_HOME", tmp.resolve("hf-home").toString()));
            assertSameOutput(r);
        }
    }

    @Test
    void transformersJs_loadsTheOnnxExportThroughTheMount() throws Exception {
        NpmInstalls.requireNode("TransformersEndToEndTest");
        Path js = NpmInstalls.install("transformers", "npm-transformers", "@huggingface/transformers", "--ignore-scripts");
        try (ServeProcess serve = ServeProcess.start(repos); MountProcess mount = mount(serve)) {
            Commands.Result r = Commands.run(List.of(Commands.onPath("node").toString(), js.resolve("load_onnx.mjs").toString(),
                    mount.mountpoint().toString(), "tiny-bert", expected.toString()), js, Map.of(), PYTHON_TIMEOUT,
                    "node load_onnx.mjs\nmount output:\n" + mount.output());
            JsonObject out = JsonParser.parseString(r.lastLine()).getAsJsonObject();
            assertEquals("[1,8,32]", out.get("shape").toString());
            double diff = out.get("max_abs_diff").getAsDouble();
            assertTrue(diff < TOLERANCE, "transformers.js output differs from torch's by " + diff);
        }
    }

    private MountProcess mount(ServeProcess serve) throws Exception {
        Path config = tmp.resolve("config.yaml");
        Files.writeString(config, "model_cache:\n  - repo_id: " + REPO + "\n    volume_folder: tiny-bert\n");
        return MountProcess.start(tmp.resolve("mnt"), FAST_RETRY, "--config", config.toString(), "--store",
                tmp.resolve("store").toString(), "--endpoint", serve.endpoint());
    }

    private JsonObject load(String model, Map<String, String> env) throws Exception {
        Commands.Result r = Commands.run(List.of(python.toString(), PythonVenvs.script("tiny_models.py").toString(), "load",
                model, expected.toString()), tmp, env, PYTHON_TIMEOUT, "from_pretrained(" + model + ")");
        return JsonParser.parseString(r.lastLine()).getAsJsonObject();
    }

    private static void assertSameOutput(JsonObject r) {
        double diff = r.get("max_abs_diff").getAsDouble();
        assertTrue(diff < TOLERANCE, "from_pretrained gave other numbers than the saved model: max diff " + diff);
        assertEquals(256, r.get("values").getAsInt());
        assertFalse(r.getAsJsonArray("tokens").toString().matches(".*\\b1\\b.*"), "no unknown token: " + r.get("tokens"));
    }
}
