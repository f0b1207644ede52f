package io.weightfs.nativetests;

import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * npm packages of the real-client tests, installed once into {@code target/<dir>} from a pinned
 * {@code package.json} and lock file under {@code src/test/js/}; reinstalled only when the pinned
 * version changes.
 */
final class NpmInstalls {
    private static final Duration INSTALL_TIMEOUT = Duration.ofMinutes(5);

    private NpmInstalls() {}

    /**
     * Copies {@code src/test/js/<source>/} (package.json, package-lock.json, scripts) to
     * {@code target/<target>} and runs {@code npm install} there unless {@code pkg} is already at
     * its pinned version.
     */
    static Path install(String source, String target, String pkg, String... npmArgs) throws Exception {
        Path npm = Commands.onPath("npm");
        Path src = Path.of("src", "test", "js").resolve(source).toAbsolutePath();
        Path dir = Path.of("target", target).toAbsolutePath();
        Files.createDirectories(dir);
        try (var files = Files.list(src)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.copy(f, dir.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        String pinned = JsonParser.parseString(Files.readString(dir.resolve("package.json")))
                .getAsJsonObject().getAsJsonObject("dependencies").get(pkg).getAsString();
        Path installed = dir.resolve("node_modules").resolve(pkg).resolve("package.json");
        if (!Files.isRegularFile(installed) || !JsonParser.parseString(Files.readString(installed))
                .getAsJsonObject().get("version").getAsString().equals(pinned)) {
            List<String> cmd = new ArrayList<>(List.of(npm.toString(), "install", "--no-audit", "--no-fund"));
            cmd.addAll(List.of(npmArgs));
            Commands.run(cmd, dir, Map.of(), INSTALL_TIMEOUT, "npm install " + pkg + "@" + pinned
                    + " (it needs the npm registry or a warm npm cache)");
        }
        return dir;
    }

    /** Skips (or, in CI, fails) when Node.js and npm are missing. */
    static void requireNode(String testName) {
        Commands.require(Commands.onPath("npm") != null && Commands.onPath("node") != null, testName,
                "Node.js (node and npm) is not installed");
    }
}
