package io.weightfs.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Model info and revision resolution (HUB-PROTOCOL.md §1). */
class ModelInfoTest {
    private static final String REPO = "acme/tiny";

    @TempDir
    Path root;

    private void writeRepo(Path dir) throws Exception {
        ServeFixture.write(dir, REPO, "config.json", "{\"hidden_size\": 8}\n");
        ServeFixture.write(dir, REPO, "model.safetensors", "not really a safetensors file\n");
        ServeFixture.write(dir, REPO, "sub/dir/notes.txt", "hello\n");
    }

    @Test
    void modelInfo_givesIdShaSiblingsAndTheHubsOtherFields() throws Exception {
        writeRepo(root);
        try (ServeFixture hub = ServeFixture.start(root)) {
            HttpResponse<byte[]> r = hub.get("/api/models/" + REPO);
            assertEquals(200, r.statusCode());
            JsonObject info = ServeFixture.json(r).getAsJsonObject();
            assertEquals(REPO, info.get("id").getAsString());
            assertEquals(REPO, info.get("modelId").getAsString());
            assertEquals(24, info.get("_id").getAsString().length());
            assertEquals(hub.server.commit(REPO), info.get("sha").getAsString());
            assertTrue(info.get("sha").getAsString().matches("[0-9a-f]{40}"));
            assertFalse(info.get("private").getAsBoolean());
            assertFalse(info.get("gated").getAsBoolean());
            assertFalse(info.get("disabled").getAsBoolean());
            assertEquals(0, info.get("downloads").getAsInt());
            assertEquals(0, info.get("likes").getAsInt());
            assertTrue(info.get("lastModified").getAsString().matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z"));
            assertTrue(info.get("tags").isJsonArray());
            List<String> names = new ArrayList<>();
            for (var s : info.getAsJsonArray("siblings")) {
                names.add(s.getAsJsonObject().get("rfilename").getAsString());
                assertNull(s.getAsJsonObject().get("size"), "size only with blobs=true");
            }
            assertEquals(List.of("config.json", "model.safetensors", "sub/dir/notes.txt"), names);
        }
    }

    @Test
    void modelInfoWithBlobs_addsSizeBlobIdAndLfsWithSha256() throws Exception {
        writeRepo(root);
        try (ServeFixture hub = ServeFixture.start(root)) {
            for (String flag : List.of("true", "True", "1", "YES")) {
                JsonArray siblings = ServeFixture.json(hub.get("/api/models/" + REPO + "?blobs=" + flag))
                        .getAsJsonObject().getAsJsonArray("siblings");
                JsonObject notes = siblings.get(2).getAsJsonObject();
                assertEquals(6, notes.get("size").getAsLong(), flag);
                assertEquals("ce013625030ba8dba906f756967f9e9ca394464a", notes.get("blobId").getAsString());
                assertNull(notes.get("lfs"));
                JsonObject model = siblings.get(1).getAsJsonObject();
                JsonObject lfs = model.getAsJsonObject("lfs");
                assertEquals("6159efb87527b13ab8e7fd2d165a8e26c7e3c2718e5095e4540e6624ce322285", lfs.get("sha256").getAsString());
                assertEquals(30, lfs.get("size").getAsLong());
                assertEquals(127, lfs.get("pointerSize").getAsInt());
                assertEquals("bdf538a34a775f2ab544c19d4d5481c63d03d420", model.get("blobId").getAsString());
            }
        }
    }

    @Test
    void revision_mainHeadAndTheCommitItself_allResolveToTheSameSha() throws Exception {
        writeRepo(root);
        try (ServeFixture hub = ServeFixture.start(root)) {
            String commit = hub.server.commit(REPO);
            for (String rev : List.of("main", "HEAD", commit)) {
                HttpResponse<byte[]> r = hub.get("/api/models/" + REPO + "/revision/" + rev);
                assertEquals(200, r.statusCode(), rev);
                assertEquals(commit, ServeFixture.json(r).getAsJsonObject().get("sha").getAsString(), rev);
            }
        }
    }

    @Test
    void revision_unknownBranchesAndPrRefs_areRevisionNotFound() throws Exception {
        writeRepo(root);
        try (ServeFixture hub = ServeFixture.start(root)) {
            for (String rev : List.of("dev", "refs%2Fpr%2F1", "refs/pr/1", "0123456789012345678901234567890123456789")) {
                HttpResponse<byte[]> r = hub.get("/api/models/" + REPO + "/revision/" + rev);
                assertEquals(404, r.statusCode(), rev);
                assertEquals("RevisionNotFound", ServeFixture.header(r, "X-Error-Code"), rev);
                assertTrue(ServeFixture.json(r).getAsJsonObject().get("error").getAsString().contains("Invalid rev id"));
            }
        }
    }

    @Test
    void commit_isTheSameForTheSameContentAndChangesWithAnyChange() throws Exception {
        Path a = Files.createDirectories(root.resolve("a"));
        Path b = Files.createDirectories(root.resolve("b"));
        writeRepo(a);
        writeRepo(b);
        try (ServeFixture first = ServeFixture.start(a); ServeFixture second = ServeFixture.start(b)) {
            String commit = first.server.commit(REPO);
            assertEquals(commit, second.server.commit(REPO), "same files in another directory, another server");

            ServeFixture.write(b, REPO, "sub/dir/notes.txt", "hellO\n");
            second.server.rescan();
            String changed = second.server.commit(REPO);
            assertNotEquals(commit, changed, "one byte changed");
            assertEquals(404, second.get("/api/models/" + REPO + "/revision/" + commit).statusCode(), "old commit is gone");
            assertEquals(200, second.get("/api/models/" + REPO + "/revision/" + changed).statusCode());

            Files.delete(b.resolve(REPO).resolve("sub/dir/notes.txt"));
            ServeFixture.write(b, REPO, "sub/dir/notes.txt", "hello\n");
            second.server.rescan();
            assertEquals(commit, second.server.commit(REPO), "content restored, commit restored");

            ServeFixture.write(b, REPO, "extra.txt", "");
            second.server.rescan();
            assertNotEquals(commit, second.server.commit(REPO), "a file added");
        }
    }

    @Test
    void otherRepoTypesAndUnknownRepos_areRepoNotFound_401AnonymousAnd404WithAToken() throws Exception {
        writeRepo(root);
        try (ServeFixture hub = ServeFixture.start(root)) {
            for (String path : List.of("/api/models/acme/nope", "/api/datasets/" + REPO, "/api/spaces/" + REPO,
                    "/api/models/acme/nope/revision/main", "/datasets/" + REPO + "/resolve/main/config.json")) {
                HttpResponse<byte[]> anonymous = hub.get(path);
                assertEquals(401, anonymous.statusCode(), path);
                assertEquals("RepoNotFound", ServeFixture.header(anonymous, "X-Error-Code"), path);
                assertTrue(ServeFixture.header(anonymous, "X-Error-Message") != null, path);
                HttpResponse<byte[]> withToken = hub.get(path, "Authorization", "Bearer hf_anything");
                assertEquals(404, withToken.statusCode(), path);
                assertEquals("RepoNotFound", ServeFixture.header(withToken, "X-Error-Code"), path);
            }
        }
    }
}
