package io.weightfs.manifest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weightfs.config.RepoEntry;
import io.weightfs.hub.HubClient;
import io.weightfs.hub.RetryPolicy;
import io.weightfs.testing.HostileHub;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Listings no Hub sends, from a hostile Hub on loopback: each is refused by the manifest layer with
 * one message naming the repo, the revision and the entry, and nothing is saved.
 */
class HostileListingTest {
    private static final String REPO = "acme/evil";
    private static final String COMMIT = "c0ffee0000000000000000000000000000000001";
    private static final String OID = "0123456789abcdef0123456789abcdef01234567";
    private static final String SHA256 = "ab".repeat(32);
    private static final String TREE = "/api/models/" + REPO + "/tree/" + COMMIT;

    @TempDir
    Path dir;

    private static HubClient client(String endpoint) {
        return new HubClient(new HubClient.Options(endpoint, 4, Duration.ofSeconds(5), Duration.ofSeconds(5),
                new RetryPolicy(5, Duration.ofMillis(1), () -> 0.5), d -> { }, Clock.systemUTC(), false));
    }

    /** Answers the revision and the first tree page; {@code pages} answers every tree request by its target. */
    private static Function<HostileHub.Request, String> hub(Function<HostileHub.Request, String> pages) {
        return r -> {
            if (r.path().equals("/api/models/" + REPO + "/revision/main")) {
                return HostileHub.json("{\"id\":\"" + REPO + "\",\"sha\":\"" + COMMIT + "\"}");
            }
            if (r.path().equals(TREE)) {
                return pages.apply(r);
            }
            return HostileHub.notFound(r);
        };
    }

    private static Function<HostileHub.Request, String> onePage(String entries) {
        return hub(r -> HostileHub.json("[" + entries + "]"));
    }

    private Path manifests() {
        return dir.resolve("manifests");
    }

    private ListingException refused(HostileHub evil) {
        try (HubClient c = client(evil.endpoint())) {
            ManifestResolver resolver = new ManifestResolver(c, new ManifestStore(manifests()));
            return assertThrows(ListingException.class, () -> resolver.resolve(REPO, "main", Optional.empty()));
        }
    }

    private void assertNothingSaved() {
        assertFalse(Files.exists(manifests()), "a refused listing must leave nothing on disk");
    }

    static Stream<Arguments> hostileEntries() {
        String ok = HostileHub.fileEntry("config.json", 10, OID);
        return Stream.of(
                Arguments.of("a '..' segment", HostileHub.fileEntry("../../escape.txt", 3, OID), "'../../escape.txt' has a '..' path segment"),
                Arguments.of("a '.' segment", HostileHub.fileEntry("a/./b.txt", 3, OID), "'a/./b.txt' has a '.' path segment"),
                Arguments.of("an absolute path", HostileHub.fileEntry("/etc/cron.d/x", 3, OID), "'/etc/cron.d/x' has an absolute path"),
                Arguments.of("an empty segment", HostileHub.fileEntry("a//b.txt", 3, OID), "'a//b.txt' has an empty path segment"),
                Arguments.of("a trailing slash", HostileHub.fileEntry("dir/", 3, OID), "'dir/' has an empty path segment"),
                Arguments.of("an empty path", HostileHub.fileEntry("", 3, OID), "'' has an empty path"),
                Arguments.of("a NUL in the path", HostileHub.fileEntry("a\\u0000b", 3, OID), "'a\\0b' has a NUL"),
                Arguments.of("a segment over 255 bytes", HostileHub.fileEntry("x".repeat(256), 3, OID), "longer than 255 bytes"),
                Arguments.of("a file that is also a folder",
                        ok + "," + HostileHub.fileEntry("a", 3, OID) + "," + HostileHub.fileEntry("a/b.txt", 3, OID),
                        "'a' is both a file and the folder of 'a/b.txt'"),
                Arguments.of("the same path twice, same size",
                        ok + "," + HostileHub.fileEntry("config.json", 10, OID), "'config.json' is listed more than once"),
                Arguments.of("the same path twice, different sizes",
                        ok + "," + HostileHub.fileEntry("config.json", 99, OID), "'config.json' is listed more than once"),
                Arguments.of("a negative size", HostileHub.fileEntry("w.bin", -1, OID), "'w.bin' has a negative size (-1)"),
                Arguments.of("four files of 2^62 bytes (a sum that overflows)",
                        Stream.of("a", "b", "c", "d").map(n -> HostileHub.fileEntry(n + ".bin", 1L << 62, OID))
                                .reduce((x, y) -> x + "," + y).orElseThrow(),
                        "'a.bin' has a size of 4611686018427387904 bytes"),
                Arguments.of("sizes whose sum passes 1 PiB",
                        HostileHub.fileEntry("a.bin", 1L << 49, OID) + "," + HostileHub.fileEntry("b.bin", (1L << 49) + 1, OID),
                        "'b.bin' brings the repo's total size beyond"),
                Arguments.of("a malformed oid", HostileHub.fileEntry("x.json", 3, "not-a-sha1"), "'x.json' has a malformed oid 'not-a-sha1'"),
                Arguments.of("a malformed lfs oid",
                        "{\"type\":\"file\",\"path\":\"w.safetensors\",\"size\":5,\"oid\":\"" + OID + "\",\"lfs\":{\"oid\":\"abc\",\"size\":5}}",
                        "'w.safetensors' has a malformed lfs.oid 'abc'"),
                Arguments.of("a size that is a string", "{\"type\":\"file\",\"path\":\"s.json\",\"size\":\"12\",\"oid\":\"" + OID + "\"}",
                        "'s.json' has a 'size' that is not a number"),
                Arguments.of("a fractional size", "{\"type\":\"file\",\"path\":\"f.json\",\"size\":1.5,\"oid\":\"" + OID + "\"}",
                        "'f.json' has a 'size' that is not a whole number of bytes"),
                Arguments.of("a size beyond a long", "{\"type\":\"file\",\"path\":\"h.json\",\"size\":1e30,\"oid\":\"" + OID + "\"}",
                        "'h.json' has a 'size' that is not a whole number of bytes"),
                Arguments.of("an unknown entry type", "{\"type\":\"symlink\",\"path\":\"l\",\"size\":1,\"oid\":\"" + OID + "\"}",
                        "entry 1 of page 1 has type 'symlink'"),
                Arguments.of("an entry without a path", "{\"type\":\"file\",\"size\":1,\"oid\":\"" + OID + "\"}",
                        "entry 1 of page 1 has no 'path'"),
                Arguments.of("an entry that is not an object", ok + ",42", "entry 2 of page 1 is not a JSON object"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostileEntries")
    void aHostileListing_isRefused_namingTheRepoTheRevisionAndTheEntry(String what, String entries, String expected) throws Exception {
        try (HostileHub evil = HostileHub.start(onePage(entries))) {
            ListingException e = refused(evil);
            String m = e.getMessage();
            assertTrue(m.contains(REPO) && m.contains("revision 'main'") && m.contains(COMMIT), m);
            assertTrue(m.contains(expected), "for " + what + ", expected '" + expected + "' in: " + m);
            assertTrue(m.contains(evil.endpoint()), "says which endpoint sent it: " + m);
            assertNothingSaved();
        }
    }

    @Test
    void aPageThatIsNotAnArray_isRefused() throws Exception {
        try (HostileHub evil = HostileHub.start(hub(r -> HostileHub.json("{\"files\":[]}")))) {
            assertTrue(refused(evil).getMessage().contains("is not a JSON array"));
            assertNothingSaved();
        }
    }

    @Test
    void aLinkHeaderPointingBackToTheSamePage_isDetectedAtTheFirstPage() throws Exception {
        String[] self = new String[1];
        try (HostileHub evil = HostileHub.start(hub(r -> HostileHub.json("[" + HostileHub.fileEntry("a.json", 1, OID) + "]",
                "Link: <" + self[0] + r.target() + ">; rel=\"next\"")))) {
            self[0] = evil.endpoint();
            ListingException e = refused(evil);
            assertTrue(e.getMessage().contains("links back to a page already fetched"), e.getMessage());
            assertEquals(1, evil.requests().stream().filter(r -> r.path().equals(TREE)).count(), "detected at once, not after many pages");
            assertNothingSaved();
        }
    }

    @Test
    void aLinkHeaderPointingBackToAnEarlierPage_isDetectedWhenItComesBack() throws Exception {
        String[] base = new String[1];
        try (HostileHub evil = HostileHub.start(hub(r -> {
            boolean second = r.target().contains("cursor=2");
            String next = second ? TREE + "?recursive=true&expand=false" : TREE + "?recursive=true&expand=false&cursor=2";
            return HostileHub.json("[" + HostileHub.fileEntry(second ? "b.json" : "a.json", 1, OID) + "]",
                    "Link: <" + base[0] + next + ">; rel=\"next\"");
        }))) {
            base[0] = evil.endpoint();
            ListingException e = refused(evil);
            assertTrue(e.getMessage().contains("page 3 of the file list of acme/evil"), e.getMessage());
            assertEquals(2, evil.requests().stream().filter(r -> r.path().equals(TREE)).count());
            assertNothingSaved();
        }
    }

    @Test
    void aSaneListing_fromTheSameFixture_isPinnedAndSaved() throws Exception {
        String entries = HostileHub.fileEntry("config.json", 10, OID) + ",{\"type\":\"directory\",\"path\":\"w\",\"size\":0,\"oid\":\"" + OID
                + "\"},{\"type\":\"file\",\"path\":\"w/model.safetensors\",\"size\":1000,\"oid\":\"" + OID
                + "\",\"lfs\":{\"oid\":\"" + SHA256 + "\",\"size\":1000,\"pointerSize\":134}}";
        try (HostileHub evil = HostileHub.start(onePage(entries)); HubClient c = client(evil.endpoint())) {
            ManifestResolver resolver = new ManifestResolver(c, new ManifestStore(manifests()));
            Manifest m = resolver.resolve(REPO, "main", Optional.empty());
            assertEquals(List.of("config.json", "w/model.safetensors"), m.files().stream().map(ManifestFile::path).toList());
            assertEquals(ContentHash.sha256(SHA256), m.files().get(1).hash());
            assertTrue(Files.exists(manifests().resolve("acme--evil").resolve(COMMIT + ".json")));
        }
    }

    @Test
    void aTamperedManifestOnDisk_withAPathTwice_isIgnored_notTrusted() throws Exception {
        ManifestStore store = new ManifestStore(manifests());
        store.save(new Manifest(REPO, COMMIT, COMMIT, List.of(new ManifestFile("a.json", 1, ContentHash.gitSha1(OID)))));
        Path file = manifests().resolve("acme--evil").resolve(COMMIT + ".json");
        String text = Files.readString(file);
        Files.writeString(file, text.replace("]", ",{\"path\":\"a.json\",\"size\":7,\"hash\":\"sha1:" + OID + "\"}]"));
        assertTrue(store.load(REPO, COMMIT).isEmpty(), "a shared tier's copy is held to the same rules as the Hub's");
    }

    @Test
    void anEntryOfTheConfig_seesTheSameRefusal_throughItsPatterns() throws Exception {
        try (HostileHub evil = HostileHub.start(onePage(HostileHub.fileEntry("../x.json", 1, OID)));
                HubClient c = client(evil.endpoint())) {
            ManifestResolver resolver = new ManifestResolver(c, new ManifestStore(manifests()));
            RepoEntry entry = new RepoEntry(0, "model_cache", REPO, "main", "evil", Optional.empty(), List.of(), Optional.empty());
            ListingException e = assertThrows(ListingException.class, () -> resolver.resolve(entry, Optional.empty()));
            assertTrue(e.getMessage().contains("'../x.json'"), e.getMessage());
        }
    }
}
