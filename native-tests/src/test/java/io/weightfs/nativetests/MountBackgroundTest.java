package io.weightfs.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code weightfs mount --background}: it says "ready" only for a mount of its own. */
@io.weightfs.testing.RequiresFuse
class MountBackgroundTest {
    private static final Map<String, String> FAST_RETRY = Map.of("WEIGHTFS_RETRY_BASE_MS", "20");
    private static final Duration RUN_TIMEOUT = Duration.ofMinutes(2);
    private static final Pattern PID = Pattern.compile("\\(pid (\\d+),");

    @TempDir
    Path tmp;

    private List<String> args(ServeProcess serve, String store, Path mnt, String... extra) throws Exception {
        Path c = tmp.resolve("config.yaml");
        TestRepos.writeConfig(c, "model_cache:\n  - repo_id: acme/small\n    volume_folder: small\n");
        List<String> a = new java.util.ArrayList<>(List.of("mount", "--config", c.toString(), "--store", tmp.resolve(store).toString(),
                "--endpoint", serve.endpoint()));
        a.addAll(List.of(extra));
        a.add(mnt.toString());
        return a;
    }

    @Test
    void background_onAPointWhereAnotherWeightfsIsMounted_failsLikeTheForegroundForm_andLeavesNoDaemon() throws Exception {
        Path repos = tmp.resolve("repos");
        TestRepos.sampleRepo(repos, "acme/small", false);
        try (ServeProcess serve = ServeProcess.start(repos)) {
            Path mnt = tmp.resolve("mnt");
            List<String> first = args(serve, "store-a", mnt);
            try (MountProcess a = MountProcess.start(mnt, FAST_RETRY, first.subList(1, first.size() - 1).toArray(String[]::new))) {
                WeightfsProcess.Result fg = WeightfsProcess.run(RUN_TIMEOUT, FAST_RETRY, args(serve, "store-b", mnt).toArray(String[]::new));
                WeightfsProcess.Result bg = WeightfsProcess.run(RUN_TIMEOUT, FAST_RETRY,
                        args(serve, "store-b", mnt, "--background").toArray(String[]::new));

                assertEquals(1, fg.exit(), fg.all());
                String refusal = "cannot mount at " + mnt + ": it is already a FUSE mount";
                assertTrue(fg.stderr().contains(refusal), fg.all());
                assertEquals(fg.exit(), bg.exit(), "the same exit status as the foreground form:\n" + bg.all());
                assertTrue(bg.stderr().contains(refusal), "the same reason as the foreground form:\n" + bg.all());
                assertFalse(bg.stdout().contains("ready"), "never 'ready' for a mount that is not its own:\n" + bg.all());
                Matcher pid = PID.matcher(bg.all());
                if (pid.find()) {
                    assertFalse(ProcessHandle.of(Long.parseLong(pid.group(1))).map(ProcessHandle::isAlive).orElse(false));
                }
                // The first mount is untouched.
                assertEquals("{\"architectures\": [\"LlamaForCausalLM\"], \"hidden_size\": 64}\n",
                        Files.readString(mnt.resolve("small/config.json")));
                assertTrue(a.process().process().isAlive());
            }
        }
    }

    @Test
    void background_onAFreePoint_saysReadyWithTheDaemonsPid_thatIsAliveAndServing() throws Exception {
        Path repos = tmp.resolve("repos");
        TestRepos.sampleRepo(repos, "acme/small", false);
        try (ServeProcess serve = ServeProcess.start(repos)) {
            Path mnt = tmp.resolve("mnt");
            Files.createDirectories(mnt);
            WeightfsProcess.Result bg = WeightfsProcess.run(RUN_TIMEOUT, FAST_RETRY,
                    args(serve, "store-a", mnt, "--background").toArray(String[]::new));
            try {
                assertEquals(0, bg.exit(), bg.all());
                assertTrue(bg.stdout().contains("weightfs mount: ready at " + mnt), bg.all());
                Matcher pid = PID.matcher(bg.stdout());
                assertTrue(pid.find(), bg.stdout());
                assertTrue(ProcessHandle.of(Long.parseLong(pid.group(1))).map(ProcessHandle::isAlive).orElse(false),
                        "the pid it names is the live daemon");
                assertTrue(Files.readString(mnt.resolve("small/config.json")).contains("LlamaForCausalLM"));
            } finally {
                WeightfsProcess.run(RUN_TIMEOUT, Map.of(), "umount", mnt.toString());
                if (MountProcess.isMounted(mnt)) {
                    new ProcessBuilder("umount", "-l", mnt.toString()).start().waitFor();
                }
            }
        }
    }
}
