package io.weightfs.serve;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;

/** The JSON shapes of the Hub API (HUB-PROTOCOL.md §1-§3), built field by field so they stay exact. */
final class HubJson {
    /** The Hub writes milliseconds always, e.g. {@code 2024-03-01T12:00:00.000Z}. */
    private static final DateTimeFormatter ISO_MILLIS =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);
    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().serializeNulls().create();
    /** lastCommit.title of every entry: there is one commit, and this is what made it. */
    private static final String COMMIT_TITLE = "Snapshot served by weightfs";

    private HubJson() {}

    static byte[] bytes(JsonElement json) {
        return GSON.toJson(json).getBytes(StandardCharsets.UTF_8);
    }

    static String iso(Instant t) {
        return ISO_MILLIS.format(t);
    }

    /** {@code GET /api/models/{repo}[/revision/{rev}]}; with {@code blobs} the siblings carry sizes and hashes. */
    static JsonObject modelInfo(ServedRepo repo, boolean blobs) {
        JsonObject o = new JsonObject();
        o.addProperty("_id", mongoId(repo.id()));
        o.addProperty("id", repo.id());
        o.addProperty("modelId", repo.id());
        o.addProperty("author", repo.id().substring(0, repo.id().indexOf('/')));
        o.addProperty("sha", repo.commit());
        o.addProperty("lastModified", iso(repo.lastModified()));
        o.addProperty("createdAt", iso(repo.lastModified()));
        o.addProperty("private", repo.access().isPrivate());
        o.add("gated", repo.access().gatedJson());
        o.addProperty("disabled", false);
        o.addProperty("downloads", 0);
        o.addProperty("likes", 0);
        o.add("tags", new JsonArray());
        JsonArray siblings = new JsonArray();
        for (ServedFile f : repo.files()) {
            JsonObject s = new JsonObject();
            s.addProperty("rfilename", f.path());
            if (blobs) {
                s.addProperty("size", f.size());
                s.addProperty("blobId", f.gitOid());
                if (f.lfs()) {
                    JsonObject lfs = new JsonObject();
                    lfs.addProperty("sha256", f.sha256());
                    lfs.addProperty("size", f.size());
                    lfs.addProperty("pointerSize", f.pointerSize());
                    s.add("lfs", lfs);
                }
            }
            siblings.add(s);
        }
        o.add("siblings", siblings);
        return o;
    }

    /** One entry of a tree listing or a paths-info answer. */
    static JsonObject entry(ServedRepo repo, TreeNode node, boolean expand) {
        JsonObject o = new JsonObject();
        if (node.isDirectory()) {
            o.addProperty("type", "directory");
            o.addProperty("oid", node.dirOid());
            o.addProperty("size", 0);
            o.addProperty("path", node.path());
        } else {
            ServedFile f = node.file();
            o.addProperty("type", "file");
            o.addProperty("oid", f.gitOid());
            o.addProperty("size", f.size());
            o.addProperty("path", f.path());
            if (f.lfs()) {
                JsonObject lfs = new JsonObject();
                lfs.addProperty("oid", f.sha256());
                lfs.addProperty("size", f.size());
                lfs.addProperty("pointerSize", f.pointerSize());
                o.add("lfs", lfs);
            }
        }
        if (expand) {
            JsonObject commit = new JsonObject();
            commit.addProperty("id", repo.commit());
            commit.addProperty("title", COMMIT_TITLE);
            commit.addProperty("date", iso(repo.lastModified()));
            o.add("lastCommit", commit);
            if (!node.isDirectory()) {
                // huggingface_hub reads all three keys once the object is present.
                JsonObject security = new JsonObject();
                security.addProperty("status", "safe");
                JsonObject av = new JsonObject();
                av.addProperty("status", "safe");
                security.add("avScan", av);
                JsonObject pickle = new JsonObject();
                pickle.addProperty("status", "unscanned");
                pickle.add("pickleImports", new JsonArray());
                security.add("pickleImportScan", pickle);
                o.add("securityFileStatus", security);
            }
        }
        return o;
    }

    /** A stable 24-hex id in the shape of the Hub's Mongo ids, derived from the repo id. */
    private static String mongoId(String repoId) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-1").digest(("weightfs-repo:" + repoId).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d).substring(0, 24);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("JDK lacks SHA-1", e);
        }
    }
}
