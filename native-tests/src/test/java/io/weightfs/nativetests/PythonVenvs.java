package io.weightfs.nativetests;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The Python environments of the real-client tests, made once under {@code target/venvs/} and keyed
 * by the versions they hold, so a second run installs nothing ({@code src/test/python/ensure-venv.sh}).
 * Packages come from the machine's configured index (this image's local wheelhouse).
 */
final class PythonVenvs {
    /** huggingface_hub 1.x with transformers 5.17 (which needs hub below 2), torch and the ONNX exporter. */
    static final List<String> HUB_1_WITH_TRANSFORMERS = List.of("huggingface_hub==1.33.0", "transformers==5.17.0",
            "torch==2.13.0+cpu", "safetensors", "onnx", "onnxscript");
    static final List<String> HUB_2 = List.of("huggingface_hub==2.0.0");
    /** torch and transformers are large: the whole install takes about a minute the first time. */
    private static final Duration INSTALL_TIMEOUT = Duration.ofMinutes(10);

    private PythonVenvs() {}

    /** The venv's python for the huggingface_hub version {@code "1.33.0"} or {@code "2.0.0"}. */
    static Path forHub(String version) throws Exception {
        return switch (version) {
            case "1.33.0" -> ensure("hub-1.33.0-transformers-5.17.0-torch-2.13.0", HUB_1_WITH_TRANSFORMERS);
            case "2.0.0" -> ensure("hub-2.0.0", HUB_2);
            default -> throw new IllegalArgumentException("no venv for huggingface_hub " + version);
        };
    }

    /** A venv with safetensors and numpy: {@code safe_open(..., framework="np")} maps the file. */
    static Path withSafetensors() throws Exception {
        return ensure("safetensors-numpy", List.of("safetensors", "numpy"));
    }

    /** Skips (or, in CI, fails) when python3 cannot make venvs. */
    static void requirePython(String testName) {
        Commands.require(Commands.onPath("python3") != null, testName, "python3 is not installed");
    }

    /**
     * A venv with the weightfs Python package installed from {@code packageDir} the way users do it,
     * {@code pip install ./python}; reinstalled on every call (a second or so), so it is never stale.
     */
    static Path withWeightfsPackage(Path packageDir) throws Exception {
        Path python = ensure("weightfs-python", List.of("pip"));
        Path log = Files.createTempFile("weightfs-pip", ".log");
        try {
            List<String> cmd = new ArrayList<>(List.of(python.toString(), "-m", "pip", "install", "-q",
                    "--disable-pip-version-check", "--no-input", "--force-reinstall", "--no-deps"));
            String index = Commands.run(List.of("bash", "-c", "pip3 config get global.extra-index-url 2>/dev/null | awk '{print $1}'"),
                    Path.of(".").toAbsolutePath(), Map.of(), Duration.ofSeconds(30), "pip config").stdout().strip();
            if (!index.isEmpty()) {
                cmd.addAll(List.of("--index-url", index));
            }
            cmd.add(packageDir.toString());
            Commands.run(cmd, Path.of(".").toAbsolutePath(), Map.of(), INSTALL_TIMEOUT, "pip install " + packageDir);
        } finally {
            Files.deleteIfExists(log);
        }
        return python;
    }

    static Path script(String name) {
        return Path.of("src", "test", "python", name).toAbsolutePath();
    }

    private static Path ensure(String key, List<String> requirements) throws Exception {
        Path dir = Path.of("target", "venvs", key).toAbsolutePath();
        List<String> cmd = new ArrayList<>(List.of("bash", script("ensure-venv.sh").toString(), dir.toString()));
        cmd.addAll(requirements);
        Commands.Result r = Commands.run(cmd, Path.of(".").toAbsolutePath(), Map.of(), INSTALL_TIMEOUT,
                "making the venv " + key + " (" + String.join(" ", requirements) + ")");
        Path python = Path.of(r.lastLine().strip());
        if (!Files.isExecutable(python)) {
            throw new AssertionError("ensure-venv.sh printed no python: " + r.stdout() + r.stderr());
        }
        return python;
    }
}
