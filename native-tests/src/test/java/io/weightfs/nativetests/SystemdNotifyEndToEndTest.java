package io.weightfs.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weightfs.mount.NotifyReceiver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The systemd unit's contract (Type=notify), with a socket of the test's own in place of systemd:
 * a real {@code weightfs mount} sends READY=1 (with its pid) once the mount answers, and STOPPING=1
 * when it goes, both for SIGTERM (systemd's stop) and for {@code weightfs umount} (the unit's ExecStop).
 */
@io.weightfs.testing.RequiresFuse
class SystemdNotifyEndToEndTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final String CONFIG_JSON = "{\"architectures\": [\"LlamaForCausalLM\"], \"hidden_size\": 64}\n";

    @TempDir
    Path tmp;

    private WeightfsProcess mount(ServeProcess serve, NotifyReceiver systemd, Path mnt) throws Exception {
        Path c = tmp.resolve("config.yaml");
        TestRepos.writeConfig(c, "model_cache:\n  - repo_id: acme/small\n    volume_folder: small\n");
        Files.createDirectories(mnt);
        return WeightfsProcess.start(Map.of("NOTIFY_SOCKET", systemd.address()), "mount", "--config", c.toString(),
                "--store", tmp.resolve("store").toString(), "--endpoint", serve.endpoint(), mnt.toString());
    }

    @Test
    void mount_underNotifySocket_saysReadyOnceTheMountAnswers_andStoppingOnSigterm() throws Exception {
        Path repos = tmp.resolve("repos");
        TestRepos.sampleRepo(repos, "acme/small", false);
        Path mnt = tmp.resolve("mnt");
        try (ServeProcess serve = ServeProcess.start(repos);
                NotifyReceiver systemd = NotifyReceiver.inDirectory(tmp);
                WeightfsProcess daemon = mount(serve, systemd, mnt)) {
            try {
                String ready = systemd.awaitLine("READY=1", WAIT).orElseThrow(
                        () -> new AssertionError("no READY=1 within " + WAIT + "\n" + daemon.stdout() + daemon.stderr()));
                // What systemd would now let start (a model server ordered After= the unit) can read at once.
                assertTrue(MountProcess.isMounted(mnt), "READY=1 before the mount is in the table");
                assertEquals(CONFIG_JSON, Files.readString(mnt.resolve("small/config.json")));
                List<String> lines = ready.lines().toList();
                assertTrue(lines.contains("MAINPID=" + daemon.pid()), ready);
                assertTrue(lines.stream().anyMatch(l -> l.startsWith("STATUS=mounted at " + mnt + ": ")), ready);

                daemon.process().destroy(); // SIGTERM, as systemctl stop sends when ExecStop is not enough
                assertTrue(systemd.awaitLine("STOPPING=1", WAIT).isPresent(), "no STOPPING=1 after SIGTERM");
                assertTrue(daemon.process().waitFor(WAIT.toSeconds(), TimeUnit.SECONDS), "the daemon did not exit");
                assertFalse(MountProcess.isMounted(mnt), "SIGTERM left the mount behind");
            } finally {
                unmountIfNeeded(mnt);
            }
        }
    }

    @Test
    void mount_underNotifySocket_unmountedByWeightfsUmount_saysStoppingAndExitsZero() throws Exception {
        Path repos = tmp.resolve("repos");
        TestRepos.sampleRepo(repos, "acme/small", false);
        Path mnt = tmp.resolve("mnt");
        try (ServeProcess serve = ServeProcess.start(repos);
                NotifyReceiver systemd = NotifyReceiver.inDirectory(tmp);
                WeightfsProcess daemon = mount(serve, systemd, mnt)) {
            try {
                assertTrue(systemd.awaitLine("READY=1", WAIT).isPresent(), "no READY=1\n" + daemon.stderr());
                WeightfsProcess.Result stop = WeightfsProcess.run(WAIT, Map.of(), "umount", mnt.toString()); // the unit's ExecStop
                assertEquals(0, stop.exit(), stop.all());
                assertTrue(systemd.awaitLine("STOPPING=1", WAIT).isPresent(), "no STOPPING=1 after weightfs umount");
                assertEquals(0, daemon.waitFor(WAIT), daemon.stderr());
                assertFalse(MountProcess.isMounted(mnt));
            } finally {
                unmountIfNeeded(mnt);
            }
        }
    }

    static void unmountIfNeeded(Path mnt) throws Exception {
        if (MountProcess.isMounted(mnt)) {
            new ProcessBuilder("fusermount3", "-u", "-z", mnt.toString()).inheritIO().start().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
