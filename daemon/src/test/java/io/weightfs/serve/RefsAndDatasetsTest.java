package io.weightfs.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Several refs per repo, dataset repos, {@code /raw}, refs, commits and whoami-v2. */
class RefsAndDatasetsTest {
    private static final String REPO = "acme/tiny";

    @TempDir
    Path root;

    private void writeRefsRepo() throws IOException {
        ServeFixture.write(root, REPO, "config.json", "{\"v\": \"main\"}\n");
        ServeFixture.write(root, REPO, "model.safetensors", "main weights\n");
        ServeFixture.write(root, REPO, "dev/config.json", "{\"v\": \"dev\"}\n");
        ServeFixture.write(root, REPO, "pr1/config.json", "{\"v\": \"pr1\"}\n");
        ServeFixture.write(root, REPO, "pr1/extra.txt", "only in the PR\n");
        ServeFixture.write(root, REPO, RepoRefs.SIDECAR,
                "{\"branches\": {\"dev\": \"dev\"}, \"tags\": {\"v1.0\": \".\"}, \"pull_requests\": {\"1\": \"pr1/\"}}");
    }

    @Test
    void eachRef_isItsFoldersSnapshot_andMainLeavesTheOtherRefsFoldersOut() throws Exception {
        writeRefsRepo();
        try (ServeFixture hub = ServeFixture.start(root)) {
            JsonArray mainTree = ServeFixture.json(hub.get("/api/models/" + REPO + "/tree/main?recursive=true")).getAsJsonArray();
            assertEquals(List.of("config.json", "model.safetensors"), paths(mainTree));
            JsonArray prTree = ServeFixture.json(hub.get("/api/models/" + REPO + "/tree/refs%2Fpr%2F1?recursive=true")).getAsJsonArray();
            assertEquals(List.of("config.json", "extra.txt"), paths(prTree));
            JsonArray rawPr = ServeFixture.json(hub.get("/api/models/" + REPO + "/tree/refs/pr/1")).getAsJsonArray();
            assertEquals(List.of("config.json", "extra.txt"), paths(rawPr), "a raw refs/pr/N, as huggingface.js sends it");

            assertEquals("{\"v\": \"dev\"}\n", body(hub.get("/" + REPO + "/resolve/dev/config.json")));
            assertEquals("{\"v\": \"pr1\"}\n", body(hub.get("/" + REPO + "/resolve/refs%2Fpr%2F1/config.json")));
            assertEquals("{\"v\": \"main\"}\n", body(hub.get("/" + REPO + "/resolve/v1.0/config.json")));

            String main = info(hub, "main").get("sha").getAsString();
            String dev = info(hub, "dev").get("sha").getAsString();
            assertNotEquals(main, dev);
            assertEquals(main, info(hub, "v1.0").get("sha").getAsString(), "a tag on main's folder is main's commit");
            assertEquals(main, info(hub, "refs%2Fheads%2Fmain").get("sha").getAsString());
            assertEquals(dev, info(hub, dev).get("sha").getAsString(), "a commit resolves to itself");
            HttpResponse<byte[]> devByCommit = hub.get("/" + REPO + "/resolve/" + dev + "/config.json");
            assertEquals(dev, ServeFixture.header(devByCommit, "X-Repo-Commit"));

            HttpResponse<byte[]> missing = hub.get("/api/models/" + REPO + "/revision/nope");
            assertEquals(404, missing.statusCode());
            assertEquals("RevisionNotFound", ServeFixture.header(missing, "X-Error-Code"));
        }
    }

    @Test
    void refs_listBranchesTagsAndPullRequestsOnlyWhenAskedFor() throws Exception {
        writeRefsRepo();
        try (ServeFixture hub = ServeFixture.start(root)) {
            JsonObject refs = ServeFixture.json(hub.get("/api/models/" + REPO + "/refs")).getAsJsonObject();
            assertEquals(List.of("main", "dev"), names(refs.getAsJsonArray("branches")));
            assertEquals(List.of("v1.0"), names(refs.getAsJsonArray("tags")));
            assertEquals(0, refs.getAsJsonArray("converts").size());
            assertTrue(!refs.has("pullRequests"), "only with include_prs");
            JsonObject dev = refs.getAsJsonArray("branches").get(1).getAsJsonObject();
            assertEquals("refs/heads/dev", dev.get("ref").getAsString());
            assertEquals(info(hub, "dev").get("sha").getAsString(), dev.get("targetCommit").getAsString());

            JsonObject withPrs = ServeFixture.json(hub.get("/api/models/" + REPO + "/refs?include_prs=1")).getAsJsonObject();
            JsonObject pr = withPrs.getAsJsonArray("pullRequests").get(0).getAsJsonObject();
            assertEquals("refs/pr/1", pr.get("ref").getAsString());
            assertEquals("1", pr.get("name").getAsString());
        }
    }

    @Test
    void commits_giveTheRevisionsCommitWithAuthorsDateAndTitle() throws Exception {
        writeRefsRepo();
        try (ServeFixture hub = ServeFixture.start(root)) {
            JsonArray commits = ServeFixture.json(hub.get("/api/models/" + REPO + "/commits/dev")).getAsJsonArray();
            assertEquals(1, commits.size());
            JsonObject c = commits.get(0).getAsJsonObject();
            assertEquals(info(hub, "dev").get("sha").getAsString(), c.get("id").getAsString());
            assertEquals("weightfs", c.getAsJsonArray("authors").get(0).getAsJsonObject().get("user").getAsString());
            assertTrue(c.get("date").getAsString().endsWith("Z"));
            assertTrue(c.has("title") && c.has("message"));
            assertEquals(404, hub.get("/api/models/" + REPO + "/commits/nope").statusCode());
            String pr = info(hub, "refs%2Fpr%2F1").get("sha").getAsString();
            for (String rev : List.of("refs%2Fpr%2F1", "refs/pr/1")) {
                JsonArray prCommits = ServeFixture.json(hub.get("/api/models/" + REPO + "/commits/" + rev)).getAsJsonArray();
                assertEquals(pr, prCommits.get(0).getAsJsonObject().get("id").getAsString(), rev);
            }
        }
    }

    @Test
    void raw_servesRegularFilesAndTheLfsPointerOfLfsFiles() throws Exception {
        writeRefsRepo();
        try (ServeFixture hub = ServeFixture.start(root)) {
            HttpResponse<byte[]> config = hub.get("/" + REPO + "/raw/main/config.json");
            assertEquals(200, config.statusCode());
            assertEquals("{\"v\": \"main\"}\n", body(config));
            HttpResponse<byte[]> pointer = hub.get("/" + REPO + "/raw/main/model.safetensors");
            assertEquals(200, pointer.statusCode(), "no redirect on /raw");
            String text = body(pointer);
            assertTrue(text.startsWith("version https://git-lfs.github.com/spec/v1\noid sha256:"), text);
            assertTrue(text.endsWith("size 13\n"), text);
            HttpResponse<byte[]> head = hub.head("/" + REPO + "/raw/main/model.safetensors");
            assertEquals(200, head.statusCode());
            HttpResponse<byte[]> absent = hub.head("/" + REPO + "/raw/main/nope.json");
            assertEquals(404, absent.statusCode());
            assertEquals("EntryNotFound", ServeFixture.header(absent, "X-Error-Code"));
            HttpResponse<byte[]> part = hub.get("/" + REPO + "/raw/main/model.safetensors", "Range", "bytes=0-6");
            assertEquals(206, part.statusCode());
            assertEquals("version", body(part));
        }
    }

    @Test
    void datasets_areServedFromTheDatasetsFolder_underTheirOwnUrls_andApartFromModels() throws Exception {
        ServeFixture.write(root, "datasets/" + REPO, "data/train.csv", "a,b\n1,2\n");
        ServeFixture.write(root, REPO, "config.json", "{}\n");
        try (ServeFixture hub = ServeFixture.start(root)) {
            JsonObject info = ServeFixture.json(hub.get("/api/datasets/" + REPO)).getAsJsonObject();
            assertEquals(REPO, info.get("id").getAsString());
            assertTrue(!info.has("modelId"));
            JsonArray tree = ServeFixture.json(hub.get("/api/datasets/" + REPO + "/tree/main?recursive=true")).getAsJsonArray();
            assertEquals(List.of("data", "data/train.csv"), paths(tree));
            assertEquals("a,b\n1,2\n", body(hub.get("/datasets/" + REPO + "/resolve/main/data/train.csv")));
            assertEquals(404, hub.get("/" + REPO + "/resolve/main/data/train.csv").statusCode(), "not a model file");
            assertEquals(404, hub.get("/datasets/" + REPO + "/resolve/main/config.json").statusCode(), "not a dataset file");
            HttpResponse<byte[]> noSuchDataset = hub.get("/api/datasets/acme/none");
            assertEquals("RepoNotFound", ServeFixture.header(noSuchDataset, "X-Error-Code"));
            HttpResponse<byte[]> space = hub.get("/api/spaces/" + REPO);
            assertEquals("RepoNotFound", ServeFixture.header(space, "X-Error-Code"));
        }
    }

    @Test
    void whoami_namesTheTokensUserAndTheOrgsItIsGranted_andRefusesNoToken() throws Exception {
        ServeFixture.write(root, REPO, "config.json", "{}\n");
        ServeFixture.write(root, "other/secret", "config.json", "{}\n");
        ServeFixture.write(root, "other/secret", RepoAccess.SIDECAR, "{\"private\": true, \"tokens\": [\"hf_granted\"]}");
        try (ServeFixture hub = ServeFixture.start(root)) {
            HttpResponse<byte[]> r = hub.get("/api/whoami-v2", "Authorization", "Bearer hf_granted");
            assertEquals(200, r.statusCode());
            JsonObject me = ServeFixture.json(r).getAsJsonObject();
            assertEquals("user", me.get("type").getAsString());
            assertTrue(me.get("name").getAsString().startsWith("user-"));
            assertEquals("other", me.getAsJsonArray("orgs").get(0).getAsJsonObject().get("name").getAsString());
            assertEquals("read", me.getAsJsonObject("auth").getAsJsonObject("accessToken").get("role").getAsString());
            assertEquals(401, hub.get("/api/whoami-v2").statusCode());
            assertEquals(401, hub.get("/api/whoami-v2", "Authorization", "Bearer hf_unknown").statusCode());
        }
    }

    @Test
    void aBadRefsSidecar_isRefusedAtStart_namingTheFileAndTheProblem() throws Exception {
        ServeFixture.write(root, REPO, "config.json", "{}\n");
        ServeFixture.write(root, REPO, RepoRefs.SIDECAR, "{\"branches\": {\"dev\": \"../elsewhere\"}}");
        IOException e = assertThrows(IOException.class, () -> HubServer.start(ServeOptions.of(root)).close());
        assertTrue(e.getMessage().contains(RepoRefs.SIDECAR) && e.getMessage().contains(".."), e.getMessage());
        Files.writeString(root.resolve(REPO).resolve(RepoRefs.SIDECAR), "{\"branches\": {\"dev\": \"missing\"}}");
        e = assertThrows(IOException.class, () -> HubServer.start(ServeOptions.of(root)).close());
        assertTrue(e.getMessage().contains("'missing'") && e.getMessage().contains("does not exist"), e.getMessage());
        Files.writeString(root.resolve(REPO).resolve(RepoRefs.SIDECAR), "{\"pull_requests\": {\"x\": \".\"}}");
        e = assertThrows(IOException.class, () -> HubServer.start(ServeOptions.of(root)).close());
        assertTrue(e.getMessage().contains("pull request number"), e.getMessage());
    }

    private static JsonObject info(ServeFixture hub, String rev) throws Exception {
        HttpResponse<byte[]> r = hub.get("/api/models/" + REPO + "/revision/" + rev);
        assertEquals(200, r.statusCode(), rev);
        return ServeFixture.json(r).getAsJsonObject();
    }

    private static String body(HttpResponse<byte[]> r) {
        assertEquals(r.statusCode() / 100, 2, "status " + r.statusCode() + " " + new String(r.body(), StandardCharsets.UTF_8));
        return new String(r.body(), StandardCharsets.UTF_8);
    }

    private static List<String> paths(JsonArray entries) {
        return entries.asList().stream().map(e -> e.getAsJsonObject().get("path").getAsString()).toList();
    }

    private static List<String> names(JsonArray refs) {
        return refs.asList().stream().map(e -> e.getAsJsonObject().get("name").getAsString()).toList();
    }
}
