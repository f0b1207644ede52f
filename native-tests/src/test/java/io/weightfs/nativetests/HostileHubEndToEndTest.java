package io.weightfs.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weightfs.testing.HostileHub;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The real {@code weightfs fetch} and {@code weightfs mount} processes against a Hub that sends
 * listings no Hub sends (a raw server in this test, on loopback): exit status 1, one message that
 * names the repo, the revision and the entry, no stack trace, nothing created from the listing.
 */
class HostileHubEndToEndTest {
    private static final Duration RUN_TIMEOUT = Duration.ofMinutes(2);
    private static final Map<String, String> FAST_RETRY = Map.of("WEIGHTFS_RETRY_BASE_MS", "20");
    private static final String REPO = "acme/evil";
    private static final String COMMIT = "c0ffee0000000000000000000000000000000001";
    private static final String OID = "0123456789abcdef0123456789abcdef01234567";

    @TempDir
    Path tmp;

    static Stream<Arguments> listings() {
        String config = HostileHub.fileEntry("config.json", 2, OID);
        return Stream.of(
                Arguments.of("a path that climbs out", config + "," + HostileHub.fileEntry("../../escape.txt", 2, OID),
                        "'../../escape.txt' has a '..' path segment"),
                Arguments.of("the same path twice", config + "," + HostileHub.fileEntry("config.json", 5, OID),
                        "'config.json' is listed more than once"),
                Arguments.of("an absolute path", config + "," + HostileHub.fileEntry("/tmp/escape.txt", 2, OID),
                        "'/tmp/escape.txt' has an absolute path"));
    }

    private static Function<HostileHub.Request, String> hub(String entries) {
        return r -> {
            if (r.path().equals("/api/models/" + REPO + "/revision/main")) {
                return HostileHub.json("{\"id\":\"" + REPO + "\",\"sha\":\"" + COMMIT + "\"}");
            }
            if (r.path().equals("/api/models/" + REPO + "/tree/" + COMMIT)) {
                return HostileHub.json("[" + entries + "]");
            }
            return HostileHub.notFound(r);
        };
    }

    private Path config() throws Exception {
        Path c = tmp.resolve("config.yaml");
        TestRepos.writeConfig(c, """
                model_cache:
                  - repo_id: acme/evil
                    revision: main
                    volume_folder: evil
                """);
        return c;
    }

    private static void assertRefusedClearly(WeightfsProcess.Result r, String entry) {
        assertEquals(1, r.exit(), r.all());
        String err = r.stderr();
        assertTrue(err.contains("model_cache[0] (acme/evil)") && err.contains("revision 'main'") && err.contains(entry),
                "names the entry of the config, the repo, the revision and the listing's entry:\n" + err);
        assertFalse(err.contains("\tat ") || err.contains("Exception"), "no Java stack trace:\n" + err);
    }

    private void assertNothingOutside(Path dest) throws Exception {
        assertFalse(Files.exists(tmp.resolve("escape.txt")) || Files.exists(Path.of("/tmp/escape.txt")),
                "nothing may be written where the listing points");
        if (Files.exists(dest)) {
            try (Stream<Path> s = Files.list(dest)) {
                assertEquals(List.of(), s.toList(), "nothing is created from a refused listing");
            }
        }
        assertFalse(Files.exists(tmp.resolve("store/manifests/acme--evil/" + COMMIT + ".json")), "the manifest is not saved");
    }

    @ParameterizedTest
    @ValueSource(strings = {"fetch", "mount"})
    void aRevisionThatWouldCollapseTheUrl_isRefusedByConfigValidation_withExit2_beforeAnyRequest(String command)
            throws Exception {
        try (HostileHub evil = HostileHub.start(HostileHub::notFound)) {
            Path c = tmp.resolve("dotdot.yaml");
            TestRepos.writeConfig(c, """
                    weights:
                      - source: "hf://acme/evil@.."
                        mount_location: evil
                    """);
            Path target = tmp.resolve(command.equals("fetch") ? "dest" : "mnt");
            Files.createDirectories(target);
            List<String> args = new java.util.ArrayList<>(List.of(command, "--config", c.toString(), "--store",
                    tmp.resolve("store").toString(), "--endpoint", evil.endpoint()));
            args.addAll(command.equals("fetch") ? List.of("--dest", target.toString()) : List.of(target.toString()));
            WeightfsProcess.Result r = WeightfsProcess.run(RUN_TIMEOUT, FAST_RETRY, args.toArray(String[]::new));
            assertEquals(2, r.exit(), r.all());
            assertTrue(r.stderr().contains("revision '..' has a '..' path segment, which would collapse the request URL"), r.stderr());
            assertEquals(List.of(), evil.requests(), "refused before any request");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("listings")
    void fetch_ofAHostileListing_exitsWith1_namingTheEntry_andWritesNothing(String what, String entries, String entry)
            throws Exception {
        try (HostileHub evil = HostileHub.start(hub(entries))) {
            Path dest = tmp.resolve("dest");
            WeightfsProcess.Result r = WeightfsProcess.run(RUN_TIMEOUT, FAST_RETRY, "fetch", "--config", config().toString(),
                    "--dest", dest.toString(), "--store", tmp.resolve("store").toString(), "--endpoint", evil.endpoint(),
                    "--progress", "none");
            assertRefusedClearly(r, entry);
            assertNothingOutside(dest);
            assertTrue(evil.requests().stream().noneMatch(q -> q.path().contains("/resolve/")), "no file was asked for");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("listings")
    void mount_ofAHostileListing_exitsWith1_namingTheEntry_andMountsNothing(String what, String entries, String entry)
            throws Exception {
        try (HostileHub evil = HostileHub.start(hub(entries))) {
            Path mnt = tmp.resolve("mnt");
            Files.createDirectories(mnt);
            WeightfsProcess.Result r = WeightfsProcess.run(RUN_TIMEOUT, FAST_RETRY, "mount", "--config", config().toString(),
                    "--store", tmp.resolve("store").toString(), "--endpoint", evil.endpoint(), mnt.toString());
            try {
                assertRefusedClearly(r, entry);
                assertFalse(MountProcess.isMounted(mnt), "nothing is mounted");
                assertNothingOutside(mnt);
            } finally {
                if (MountProcess.isMounted(mnt)) {
                    new ProcessBuilder("umount", "-l", mnt.toString()).start().waitFor();
                }
            }
        }
    }
}
