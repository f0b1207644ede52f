package io.weightfs.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code GET /api/models/{repo}/tree/...} (HUB-PROTOCOL.md §2). */
class TreeListingTest {
    private static final String REPO = "acme/tiny";
    /** huggingface.js's own Link parser (utils/parseLinkHeader.ts): absolute URL, a space after ';'. */
    private static final Pattern JS_LINK = Pattern.compile("<(https?:[/][/][^>]+)>;\\s+rel=\"([^\"]+)\"");

    @TempDir
    Path root;

    private void writeRepo() throws Exception {
        ServeFixture.write(root, REPO, "config.json", "{}\n");
        ServeFixture.write(root, REPO, "model.safetensors", "not really a safetensors file\n");
        ServeFixture.write(root, REPO, "sub/notes.txt", "hello\n");
        ServeFixture.write(root, REPO, "sub/deeper/a.bin", "abc");
        ServeFixture.write(root, REPO, "sub/deeper/b.txt", "b");
        ServeFixture.write(root, REPO, "with space/é.txt", "accent");
    }

    private static List<String> paths(JsonArray entries) {
        List<String> out = new ArrayList<>();
        entries.forEach(e -> out.add(e.getAsJsonObject().get("path").getAsString()));
        return out;
    }

    private static JsonObject find(JsonArray entries, String path) {
        for (JsonElement e : entries) {
            if (e.getAsJsonObject().get("path").getAsString().equals(path)) {
                return e.getAsJsonObject();
            }
        }
        throw new AssertionError("no entry " + path + " in " + entries);
    }

    @Test
    void nonRecursiveListing_givesOneLevelSortedWithDirectoryEntries() throws Exception {
        writeRepo();
        try (ServeFixture hub = ServeFixture.start(root)) {
            HttpResponse<byte[]> r = hub.get("/api/models/" + REPO + "/tree/main");
            assertEquals(200, r.statusCode());
            JsonArray entries = ServeFixture.json(r).getAsJsonArray();
            assertEquals(List.of("config.json", "model.safetensors", "sub", "with space"), paths(entries));
            JsonObject sub = find(entries, "sub");
            assertEquals("directory", sub.get("type").getAsString());
            assertEquals(0, sub.get("size").getAsLong());
            assertTrue(sub.get("oid").getAsString().matches("[0-9a-f]{40}"));
            assertNull(r.headers().firstValue("Link").orElse(null));

            JsonArray inSub = ServeFixture.json(hub.get("/api/models/" + REPO + "/tree/main/sub")).getAsJsonArray();
            assertEquals(List.of("sub/deeper", "sub/notes.txt"), paths(inSub));
        }
    }

    @Test
    void recursiveListing_givesEveryFileAndDirectory_andAcceptsEncodedOrRawPaths() throws Exception {
        writeRepo();
        try (ServeFixture hub = ServeFixture.start(root)) {
            JsonArray all = ServeFixture.json(hub.get("/api/models/" + REPO + "/tree/main?recursive=True")).getAsJsonArray();
            assertEquals(List.of("config.json", "model.safetensors", "sub", "sub/deeper", "sub/deeper/a.bin",
                    "sub/deeper/b.txt", "sub/notes.txt", "with space", "with space/é.txt"), paths(all));

            // huggingface_hub quotes path and revision with safe=""; huggingface.js sends them raw.
            String commit = hub.server.commit(REPO);
            for (String url : List.of("/tree/main/sub%2Fdeeper?recursive=true", "/tree/main/sub/deeper?recursive=1",
                    "/tree/" + commit + "/sub/deeper", "/tree/HEAD/sub/deeper/")) {
                HttpResponse<byte[]> r = hub.get("/api/models/" + REPO + url);
                assertEquals(200, r.statusCode(), url);
                assertEquals(List.of("sub/deeper/a.bin", "sub/deeper/b.txt"), paths(ServeFixture.json(r).getAsJsonArray()), url);
            }
            JsonArray accented = ServeFixture.json(hub.get("/api/models/" + REPO + "/tree/main/with%20space")).getAsJsonArray();
            assertEquals(List.of("with space/é.txt"), paths(accented));
        }
    }

    @Test
    void fileEntries_haveGitSha1Oids_andLfsEntriesThePointersSha1AndTheirSha256() throws Exception {
        writeRepo();
        try (ServeFixture hub = ServeFixture.start(root)) {
            JsonArray all = ServeFixture.json(hub.get("/api/models/" + REPO + "/tree/main?recursive=true")).getAsJsonArray();
            JsonObject notes = find(all, "sub/notes.txt");
            assertEquals("file", notes.get("type").getAsString());
            // git hash-object of "hello\n"
            assertEquals("ce013625030ba8dba906f756967f9e9ca394464a", notes.get("oid").getAsString());
            assertEquals(6, notes.get("size").getAsLong());
            assertNull(notes.get("lfs"));
            assertNull(notes.get("xetHash"));

            JsonObject model = find(all, "model.safetensors");
            // python3: p = pointer text; hashlib.sha1(b"blob %d\0" % len(p) + p).hexdigest()
            assertEquals("bdf538a34a775f2ab544c19d4d5481c63d03d420", model.get("oid").getAsString());
            assertEquals(30, model.get("size").getAsLong());
            JsonObject lfs = model.getAsJsonObject("lfs");
            assertEquals("6159efb87527b13ab8e7fd2d165a8e26c7e3c2718e5095e4540e6624ce322285", lfs.get("oid").getAsString());
            assertEquals(30, lfs.get("size").getAsLong());
            assertEquals(127, lfs.get("pointerSize").getAsInt());

            assertNotNull(find(all, "sub/deeper/a.bin").getAsJsonObject("lfs"), ".bin is LFS whatever its size");
            assertNull(find(all, "config.json").get("lfs"));
        }
    }

    @Test
    void filesOverTheThreshold_areLfs() throws Exception {
        ServeFixture.write(root, REPO, "big.txt", new byte[101]);
        ServeFixture.write(root, REPO, "small.txt", new byte[100]);
        try (ServeFixture hub = ServeFixture.start(ServeOptions.of(root).withLfsThreshold(100))) {
            JsonArray all = ServeFixture.json(hub.get("/api/models/" + REPO + "/tree/main")).getAsJsonArray();
            assertNotNull(find(all, "big.txt").getAsJsonObject("lfs"));
            assertNull(find(all, "small.txt").get("lfs"));
        }
    }

    @Test
    void expand_addsLastCommitAndAllThreeSecurityKeys() throws Exception {
        writeRepo();
        try (ServeFixture hub = ServeFixture.start(root)) {
            JsonArray all = ServeFixture.json(hub.get("/api/models/" + REPO + "/tree/main?expand=true")).getAsJsonArray();
            JsonObject config = find(all, "config.json");
            JsonObject last = config.getAsJsonObject("lastCommit");
            assertEquals(hub.server.commit(REPO), last.get("id").getAsString());
            assertFalse(last.get("title").getAsString().isEmpty());
            assertFalse(last.get("date").getAsString().isEmpty());
            JsonObject security = config.getAsJsonObject("securityFileStatus");
            assertEquals("safe", security.get("status").getAsString());
            assertTrue(security.has("avScan"));
            assertTrue(security.has("pickleImportScan"));

            JsonArray plain = ServeFixture.json(hub.get("/api/models/" + REPO + "/tree/main?expand=false")).getAsJsonArray();
            assertNull(find(plain, "config.json").get("lastCommit"));
        }
    }

    @Test
    void pagination_followsAbsoluteLinkUrlsWithACursor_untilNoNextRemains() throws Exception {
        writeRepo();
        try (ServeFixture hub = ServeFixture.start(ServeOptions.of(root).withPageSize(2))) {
            String expectedPrefix = "http://127.0.0.1:" + hub.server.port() + "/api/models/" + REPO + "/tree/main?";
            URI next = hub.hub("/api/models/" + REPO + "/tree/main?recursive=true&expand=false");
            List<String> seen = new ArrayList<>();
            int pages = 0;
            while (next != null) {
                HttpResponse<byte[]> r = hub.get(next);
                assertEquals(200, r.statusCode(), next.toString());
                JsonArray page = ServeFixture.json(r).getAsJsonArray();
                assertTrue(page.size() <= 2);
                seen.addAll(paths(page));
                pages++;
                String link = r.headers().firstValue("Link").orElse(null);
                if (link == null) {
                    next = null;
                } else {
                    Matcher m = JS_LINK.matcher(link);
                    assertTrue(m.find(), link);
                    assertEquals("next", m.group(2));
                    assertTrue(m.group(1).startsWith(expectedPrefix), m.group(1));
                    assertTrue(m.group(1).contains("recursive=true"), "keeps the query: " + m.group(1));
                    assertTrue(m.group(1).contains("cursor="), m.group(1));
                    next = URI.create(m.group(1));
                }
            }
            assertEquals(5, pages);
            assertEquals(9, seen.size(), "6 files and 3 directories");
            assertEquals(seen.stream().distinct().sorted().toList(), seen, "every entry once, in order");
        }
    }

    @Test
    void defaultPageSizes_areTheHubs1000And50WithExpand() throws Exception {
        for (int i = 0; i < 1001; i++) {
            ServeFixture.write(root, REPO, String.format("f/%04d.txt", i), "x");
        }
        try (ServeFixture hub = ServeFixture.start(root)) {
            HttpResponse<byte[]> plain = hub.get("/api/models/" + REPO + "/tree/main/f");
            assertEquals(1000, ServeFixture.json(plain).getAsJsonArray().size());
            assertTrue(plain.headers().firstValue("Link").isPresent());
            HttpResponse<byte[]> expanded = hub.get("/api/models/" + REPO + "/tree/main/f?expand=true");
            assertEquals(50, ServeFixture.json(expanded).getAsJsonArray().size());
        }
    }

    @Test
    void missingPathsAndBadCursors_areRefused() throws Exception {
        writeRepo();
        try (ServeFixture hub = ServeFixture.start(root)) {
            HttpResponse<byte[]> missing = hub.get("/api/models/" + REPO + "/tree/main/nope");
            assertEquals(404, missing.statusCode());
            assertEquals("EntryNotFound", ServeFixture.header(missing, "X-Error-Code"));
            assertEquals(hub.server.commit(REPO), ServeFixture.header(missing, "X-Repo-Commit"));

            HttpResponse<byte[]> badRev = hub.get("/api/models/" + REPO + "/tree/dev");
            assertEquals("RevisionNotFound", ServeFixture.header(badRev, "X-Error-Code"));
            HttpResponse<byte[]> prRef = hub.get("/api/models/" + REPO + "/tree/refs/pr/3/sub");
            assertEquals("RevisionNotFound", ServeFixture.header(prRef, "X-Error-Code"), "refs/pr/N is the revision");

            HttpResponse<byte[]> badCursor = hub.get("/api/models/" + REPO + "/tree/main?cursor=zzz");
            assertEquals(400, badCursor.statusCode());
            assertNotNull(ServeFixture.header(badCursor, "X-Error-Code"));
        }
    }
}
