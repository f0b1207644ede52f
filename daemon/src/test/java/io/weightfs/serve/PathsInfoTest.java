package io.weightfs.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code POST /api/models/{repo}/paths-info/{rev}} (HUB-PROTOCOL.md §3). */
class PathsInfoTest {
    private static final String REPO = "acme/tiny";

    @TempDir
    Path root;

    private ServeFixture start() throws Exception {
        ServeFixture.write(root, REPO, "config.json", "{}\n");
        ServeFixture.write(root, REPO, "model.safetensors", "not really a safetensors file\n");
        ServeFixture.write(root, REPO, "sub/notes.txt", "hello\n");
        return ServeFixture.start(root);
    }

    private static List<String> paths(HttpResponse<byte[]> r) {
        List<String> out = new ArrayList<>();
        ServeFixture.json(r).getAsJsonArray().forEach(e -> out.add(e.getAsJsonObject().get("path").getAsString()));
        return out;
    }

    @Test
    void formBody_asHuggingfaceHubSendsIt_answersExistingPathsAndLeavesOutTheRest() throws Exception {
        try (ServeFixture hub = start()) {
            HttpResponse<byte[]> r = hub.post("/api/models/" + REPO + "/paths-info/main",
                    "application/x-www-form-urlencoded",
                    "paths=sub%2Fnotes.txt&paths=nope.txt&paths=model.safetensors&paths=sub&expand=False");
            assertEquals(200, r.statusCode());
            assertEquals(List.of("sub/notes.txt", "model.safetensors", "sub"), paths(r));
            JsonArray entries = ServeFixture.json(r).getAsJsonArray();
            JsonObject notes = entries.get(0).getAsJsonObject();
            assertEquals("file", notes.get("type").getAsString());
            assertEquals("ce013625030ba8dba906f756967f9e9ca394464a", notes.get("oid").getAsString());
            assertEquals("6159efb87527b13ab8e7fd2d165a8e26c7e3c2718e5095e4540e6624ce322285",
                    entries.get(1).getAsJsonObject().getAsJsonObject("lfs").get("oid").getAsString());
            assertEquals("directory", entries.get(2).getAsJsonObject().get("type").getAsString());
            assertNull(notes.get("lastCommit"));
        }
    }

    @Test
    void jsonBody_asHuggingfaceJsSendsIt_withExpand_addsLastCommit() throws Exception {
        try (ServeFixture hub = start()) {
            String commit = hub.server.commit(REPO);
            HttpResponse<byte[]> r = hub.post("/api/models/" + REPO + "/paths-info/" + commit, "application/json",
                    "{\"paths\": [\"config.json\", \"missing/file\"], \"expand\": true}");
            assertEquals(200, r.statusCode());
            assertEquals(List.of("config.json"), paths(r));
            JsonObject config = ServeFixture.json(r).getAsJsonArray().get(0).getAsJsonObject();
            assertEquals(commit, config.getAsJsonObject("lastCommit").get("id").getAsString());
            assertNotNull(config.getAsJsonObject("securityFileStatus"));
        }
    }

    @Test
    void nothingThatExists_isAnEmptyArray_andABadRevisionIsRevisionNotFound() throws Exception {
        try (ServeFixture hub = start()) {
            HttpResponse<byte[]> none = hub.post("/api/models/" + REPO + "/paths-info/main", "application/json",
                    "{\"paths\": [\"a\", \"b\"]}");
            assertEquals(200, none.statusCode());
            assertEquals(0, ServeFixture.json(none).getAsJsonArray().size());

            HttpResponse<byte[]> badRev = hub.post("/api/models/" + REPO + "/paths-info/dev", "application/json",
                    "{\"paths\": [\"config.json\"]}");
            assertEquals(404, badRev.statusCode());
            assertEquals("RevisionNotFound", ServeFixture.header(badRev, "X-Error-Code"));

            HttpResponse<byte[]> get = hub.get("/api/models/" + REPO + "/paths-info/main");
            assertEquals(405, get.statusCode());
        }
    }
}
