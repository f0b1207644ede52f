package io.weightfs.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.weightfs.testing.FusePrerequisites;
import io.weightfs.testing.HostileHub;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A Hub that echoes the caller's {@code Authorization} value in {@code X-Error-Message} and in its
 * error bodies: the real {@code weightfs fetch} and {@code weightfs mount} processes never let the
 * token into their stdout, stderr, logs or {@code status.json}.
 */
class RedactionEndToEndTest {
    private static final Duration RUN_TIMEOUT = Duration.ofMinutes(2);
    private static final Duration FAIL_TIMEOUT = Duration.ofSeconds(90);
    private static final String TOKEN = "hf_EchoMeIfYouCan0123456789abcdef";
    private static final Map<String, String> ENV = Map.of("WEIGHTFS_RETRY_BASE_MS", "20", "HF_TOKEN", TOKEN);
    private static final String COMMIT = "feed000000000000000000000000000000000002";
    private static final String OID = "0123456789abcdef0123456789abcdef01234567";

    @TempDir
    Path tmp;

    /** acme/leaky lists two files and refuses their downloads, echoing; acme/leakyrev refuses its revision, echoing. */
    private static Function<HostileHub.Request, String> echoingHub() {
        return r -> {
            String auth = String.valueOf(r.header("authorization"));
            String p = r.path();
            if (p.equals("/api/models/acme/leaky/revision/main")) {
                return HostileHub.json("{\"id\":\"acme/leaky\",\"sha\":\"" + COMMIT + "\"}");
            }
            if (p.equals("/api/models/acme/leaky/tree/" + COMMIT)) {
                return HostileHub.json("[" + HostileHub.fileEntry("config.json", 20, OID) + ",{\"type\":\"file\",\"path\":\"model.safetensors\","
                        + "\"size\":3000000,\"oid\":\"" + OID + "\",\"lfs\":{\"oid\":\"" + "cd".repeat(32) + "\",\"size\":3000000}}]");
            }
            if (p.startsWith("/acme/leaky/resolve/")) {
                return HostileHub.response(403, "{\"error\":\"no access for " + auth + "\"}", "X-Error-Code: Forbidden",
                        "X-Error-Message: your credentials " + auth + " lack read access");
            }
            if (p.equals("/api/models/acme/leakyrev/revision/main")) {
                return HostileHub.response(401, "{\"error\":\"expired: " + auth + "\",\"errors\":[{\"message\":\"" + auth + "\"}]}",
                        "X-Error-Code: RepoNotFound", "X-Error-Message: token " + auth + " has expired");
            }
            return HostileHub.notFound(r);
        };
    }

    private Path config(String repo) throws IOException {
        Path c = tmp.resolve(repo.replace('/', '-') + ".yaml");
        TestRepos.writeConfig(c, "model_cache:\n  - repo_id: " + repo + "\n    volume_folder: m\n");
        return c;
    }

    private static void assertNoToken(String what, String text) {
        assertFalse(text.contains(TOKEN), "the token leaked into " + what + ":\n" + text);
        assertFalse(text.contains(TOKEN.substring(0, 20)), "part of the token leaked into " + what + ":\n" + text);
    }

    private static void assertTheEchoWasThere(HostileHub hub) {
        assertTrue(hub.requests().stream().anyMatch(r -> ("Bearer " + TOKEN).equals(r.header("authorization"))),
                "the Hub got the token, so its answers did echo it");
    }

    @ParameterizedTest
    @ValueSource(strings = {"acme/leaky", "acme/leakyrev"})
    void fetch_againstAHubEchoingTheToken_neverPrintsIt(String repo) throws Exception {
        try (HostileHub hub = HostileHub.start(echoingHub())) {
            WeightfsProcess.Result r = WeightfsProcess.run(RUN_TIMEOUT, ENV, "fetch", "--config", config(repo).toString(),
                    "--dest", tmp.resolve("dest").toString(), "--store", tmp.resolve("store").toString(), "--endpoint", hub.endpoint(),
                    "--progress", "lines");
            assertEquals(1, r.exit(), r.all());
            assertNoToken("fetch's output", r.all());
            assertTrue(r.stderr().contains("[redacted token]"), "the server's words are still quoted, redacted:\n" + r.stderr());
            assertTheEchoWasThere(hub);
        }
    }

    @Test
    void mount_ofARepoWhoseRevisionAnswerEchoesTheToken_failsWithoutPrintingIt() throws Exception {
        try (HostileHub hub = HostileHub.start(echoingHub())) {
            Path mnt = tmp.resolve("mnt");
            Files.createDirectories(mnt);
            WeightfsProcess.Result r = WeightfsProcess.run(RUN_TIMEOUT, ENV, "mount", "--config", config("acme/leakyrev").toString(),
                    "--store", tmp.resolve("store").toString(), "--endpoint", hub.endpoint(), mnt.toString());
            assertEquals(1, r.exit(), r.all());
            assertNoToken("mount's output", r.all());
            assertTrue(r.stderr().contains("token Bearer [redacted token] has expired"), r.stderr());
            assertFalse(MountProcess.isMounted(mnt));
        }
    }

    @ParameterizedTest(name = "background: {0}")
    @ValueSource(booleans = {false, true})
    void mount_whoseDownloadsFailWithTheTokenEchoed_keepsItOutOfOutputLogsAndStatus(boolean background) throws Exception {
        FusePrerequisites.assumeBinding("jfuse");
        Path store = tmp.resolve("store");
        try (HostileHub hub = HostileHub.start(echoingHub())) {
            List<String> args = new ArrayList<>(List.of("--config", config("acme/leaky").toString(), "--store", store.toString(),
                    "--endpoint", hub.endpoint(), "--connections", "2"));
            if (background) {
                args.add("--background");
            }
            try (MountProcess m = MountProcess.start(tmp.resolve("mnt"), ENV, args.toArray(String[]::new))) {
                Path statusFile = m.mountpoint().resolve(".weightfs/status.json");
                long deadline = System.nanoTime() + FAIL_TIMEOUT.toNanos();
                JsonObject status;
                do {
                    Thread.sleep(100);
                    status = JsonParser.parseString(Files.readString(statusFile)).getAsJsonObject();
                    if (System.nanoTime() > deadline) {
                        throw new AssertionError("the fill did not give up on both files within " + FAIL_TIMEOUT + ": " + status);
                    }
                } while (status.getAsJsonArray("failed").size() < 2);
                String statusText = status.toString();
                assertNoToken("status.json", statusText);
                assertTrue(statusText.contains("[redacted token]"), "the error is still there, redacted: " + statusText);

                WeightfsProcess.Result w = WeightfsProcess.run(RUN_TIMEOUT, Map.of(), "wait", m.mountpoint().toString(),
                        "--progress", "none", "--timeout", "30s");
                assertEquals(1, w.exit(), w.all());
                assertNoToken("weightfs wait's output", w.all());
                WeightfsProcess.Result st = WeightfsProcess.run(RUN_TIMEOUT, Map.of(), "status", m.mountpoint().toString());
                assertNoToken("weightfs status's output", st.all());

                assertNoToken("mount's output", m.output());
                if (background) {
                    try (Stream<Path> logs = Files.list(store.resolve("logs"))) {
                        List<Path> all = logs.toList();
                        assertFalse(all.isEmpty(), "the background daemon logs to STORE/logs");
                        for (Path log : all) {
                            String text = Files.readString(log);
                            assertNoToken("log " + log, text);
                            assertTrue(text.contains("[redacted token]"), "the log has the redacted error:\n" + text);
                        }
                    }
                }
            }
            assertTheEchoWasThere(hub);
        }
    }
}
