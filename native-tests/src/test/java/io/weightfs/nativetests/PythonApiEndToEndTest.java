package io.weightfs.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.weightfs.testing.PatternContent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Python package in {@code python/} against real mounts, with the machine's {@code python3}:
 * {@code lazy_data_resolver.block_until_download_complete} returns once every file is verified,
 * names each failed file and why, times out, and refuses a folder that is no mount; then
 * {@code truss-transfer-cli}, both the console script that {@code pip install ./python} installs and
 * the shell wrapper in {@code packaging/bin/}, fetches a truss config into a folder.
 */
@io.weightfs.testing.RequiresFuse
class PythonApiEndToEndTest {
    private static final String REPO = "acme/model";
    private static final PatternContent WEIGHTS = new PatternContent(7, 5 * 1024 * 1024 + 11);
    private static final Map<String, String> FAST_RETRY = Map.of("WEIGHTFS_RETRY_BASE_MS", "20");
    private static final Duration PYTHON_TIMEOUT = Duration.ofMinutes(3);
    private static final Path PACKAGE = Path.of("..", "python").toAbsolutePath().normalize();
    private static final Path LAUNCHER = Path.of("..", "packaging", "bin").toAbsolutePath().normalize();

    @TempDir
    Path tmp;

    private Path repos() throws Exception {
        Path root = tmp.resolve("repos").resolve(REPO);
        Files.createDirectories(root);
        Files.writeString(root.resolve("config.json"), "{\"hidden_size\": 8}\n");
        Files.writeString(root.resolve("tokenizer.json"), "{\"model\": {}}\n");
        WEIGHTS.writeTo(root.resolve("model.safetensors"));
        return tmp.resolve("repos");
    }

    private Path config() throws Exception {
        Path c = tmp.resolve("config.yaml");
        Files.writeString(c, "model_cache:\n  - repo_id: " + REPO + "\n    volume_folder: model\n");
        return c;
    }

    private MountProcess mount(ServeProcess serve) throws Exception {
        return MountProcess.start(tmp.resolve("mnt"), FAST_RETRY, "--config", config().toString(), "--store",
                tmp.resolve("store").toString(), "--endpoint", serve.endpoint());
    }

    /** Runs wait_on_mount.py with the package on PYTHONPATH, as model code in a container would import it. */
    private JsonObject python(Path mount, String... args) throws Exception {
        PythonVenvs.requirePython("PythonApiEndToEndTest");
        List<String> cmd = new java.util.ArrayList<>(List.of("python3", PythonVenvs.script("wait_on_mount.py").toString()));
        cmd.addAll(List.of(args));
        Commands.Result r = Commands.run(cmd, tmp, Map.of("PYTHONPATH", PACKAGE.toString(), "WEIGHTFS_MOUNT", mount.toString()),
                PYTHON_TIMEOUT, "python3 wait_on_mount.py " + String.join(" ", args));
        return JsonParser.parseString(r.lastLine()).getAsJsonObject();
    }

    @Test
    void blockUntilDownloadComplete_returnsOnceEveryFileIsVerified_andStatusParses() throws Exception {
        try (ServeProcess serve = ServeProcess.start(repos()); MountProcess mount = mount(serve)) {
            JsonObject r = python(mount.mountpoint(), "block", "120");
            JsonObject ok = r.getAsJsonObject("ok");
            assertTrue(ok != null && ok.get("complete").getAsBoolean(), r.toString());
            assertEquals(3, ok.get("filesVerified").getAsInt());
            Path source = tmp.resolve("repos").resolve(REPO);
            long bytes = 0;
            for (String f : TestRepos.files(source)) {
                bytes += Files.size(source.resolve(f));
            }
            assertEquals(bytes, ok.get("bytesVerified").getAsLong());
            JsonObject status = python(mount.mountpoint(), "status").getAsJsonObject("ok");
            assertEquals(3, status.getAsJsonArray("fileStatus").size());
        }
    }

    @Test
    void blockUntilDownloadComplete_namesEachFailedFileAndWhy() throws Exception {
        try (ServeProcess serve = ServeProcess.start(repos(), "--fault", "corrupt:*model.safetensors");
                MountProcess mount = mount(serve)) {
            JsonObject r = python(mount.mountpoint(), "block", "120");
            assertEquals("DownloadFailedError", r.get("raised").getAsString(), r.toString());
            JsonObject failures = r.getAsJsonObject("failures");
            assertEquals(List.of("/model/model.safetensors"), List.copyOf(failures.keySet()), r.toString());
            String why = failures.get("/model/model.safetensors").getAsString();
            assertTrue(!why.isBlank() && !why.equals("failed"), "the reason from status.json: " + why);
            assertTrue(r.get("message").getAsString().contains("/model/model.safetensors: " + why));
        }
    }

    @Test
    void blockUntilDownloadComplete_timesOut_whileTheFillIsSlow() throws Exception {
        try (ServeProcess serve = ServeProcess.start(repos(), "--fault", "throttle:65536"); MountProcess mount = mount(serve)) {
            JsonObject r = python(mount.mountpoint(), "block", "0.5");
            assertEquals("TimeoutError", r.get("raised").getAsString(), r.toString());
            assertTrue(r.get("message").getAsString().contains("status.json"), r.toString());
        }
    }

    @Test
    void aFolderThatIsNoMount_isNamedInTheError() throws Exception {
        Path plain = Files.createDirectories(tmp.resolve("not-a-mount"));
        JsonObject r = python(plain, "block", "5");
        assertEquals("MountNotFoundError", r.get("raised").getAsString(), r.toString());
        assertTrue(r.get("message").getAsString().contains(plain + " is not a weightfs mount"), r.toString());
    }

    @Test
    void trussTransferCli_fromPipAndFromPackaging_fetchesTheTrussConfigIntoTheFolder() throws Exception {
        PythonVenvs.requirePython("PythonApiEndToEndTest");
        Path venvPython = PythonVenvs.withWeightfsPackage(PACKAGE);
        Path console = venvPython.resolveSibling("truss-transfer-cli");
        assertTrue(Files.isExecutable(console), "pip install ./python installs truss-transfer-cli");
        Path repos = repos();
        try (ServeProcess serve = ServeProcess.start(repos)) {
            Map<String, String> env = new HashMap<>();
            env.put("TRUSS_CONFIG", config().toString());
            env.put("HF_ENDPOINT", serve.endpoint());
            env.put("WEIGHTFS_STORE", tmp.resolve("store").toString());
            env.put("WEIGHTFS_BIN", LAUNCHER.resolve("weightfs").toString());
            env.put("WEIGHTFS_JAR", WeightfsProcess.jar().toString());
            env.put("WEIGHTFS_JAVA_HOME", Path.of(WeightfsProcess.java()).getParent().getParent().toString());
            for (Path cli : List.of(console, LAUNCHER.resolve("truss-transfer-cli"))) {
                Path dest = tmp.resolve("dest-" + cli.getParent().getFileName());
                Commands.Result r = Commands.run(List.of(cli.toString(), dest.toString()), tmp, env, PYTHON_TIMEOUT,
                        cli + " " + dest);
                TestRepos.assertSameTree(repos.resolve(REPO), dest.resolve("model"));
                assertTrue(r.stdout().contains("verified") || r.stderr().contains("verified"), r.stdout() + r.stderr());
            }
            env.put("TRUSS_CONFIG", tmp.resolve("missing.yaml").toString());
            Commands.Result missing = Commands.runAllowingFailure(List.of(console.toString()), tmp, env, PYTHON_TIMEOUT, "no config");
            assertEquals(2, missing.exit());
            assertTrue(missing.stderr().contains("missing.yaml does not exist; set TRUSS_CONFIG"), missing.stderr());
        }
    }
}
