package io.weightfs.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.weightfs.testing.PatternContent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two daemons (two mounts, as two pods on one node) on one node store. */
@io.weightfs.testing.RequiresFuse
class NodeStoreSharingTest {
    private static final PatternContent WEIGHTS = new PatternContent(51, 16L * (1 << 20) + 99);

    @TempDir
    Path tmp;

    @Test
    void twoDaemonsOnOneStore_downloadEachBlockOnce_andBothServeEveryByte() throws Exception {
        Path repos = tmp.resolve("repos");
        WEIGHTS.writeTo(repos.resolve("acme/model/model.safetensors"));
        Path config = tmp.resolve("config.yaml");
        Files.writeString(config, "model_cache:\n  - repo_id: acme/model\n    volume_folder: model\n");
        // Paced so that both fills run at the same time and race for the same blocks.
        try (ServeProcess serve = ServeProcess.start(repos, "--fault", "throttle:8000000")) {
            List<String> common = List.of("--config", config.toString(), "--store", tmp.resolve("store").toString(),
                    "--endpoint", serve.endpoint(), "--block-size", "1MiB");
            try (MountProcess a = MountProcess.start(tmp.resolve("mnt-a"), Map.of(), common.toArray(String[]::new));
                    MountProcess b = MountProcess.start(tmp.resolve("mnt-b"), Map.of(), common.toArray(String[]::new))) {
                for (MountProcess m : List.of(a, b)) {
                    WeightfsProcess.Result w = WeightfsProcess.run(Duration.ofMinutes(2), Map.of(), "wait", m.mountpoint().toString(),
                            "--progress", "none");
                    assertEquals(0, w.exit(), w.all() + m.output());
                    assertEquals(-1, WEIGHTS.firstDifference(m.mountpoint().resolve("model/model.safetensors")));
                }
                long bytes = 0;
                for (JsonElement d : serve.stats().getAsJsonArray("downloads")) {
                    JsonObject o = d.getAsJsonObject();
                    if (!o.get("range").isJsonNull()) {
                        String[] ab = o.get("range").getAsString().split("-");
                        bytes += Long.parseLong(ab[1]) - Long.parseLong(ab[0]) + 1;
                    }
                }
                assertEquals(WEIGHTS.size(), bytes, "every byte of the file crossed the network once for the two daemons");
            }
        }
    }
}
