package io.weightfs.serve;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.weightfs.config.RepoType;
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
    private static final String COMMIT_AUTHOR = "weightfs";

    private HubJson() {}

    static byte[] bytes(JsonElement json) {
        return GSON.toJson(json).getBytes(StandardCharsets.UTF_8);
    }

    static String iso(Instant t) {
        return ISO_MILLIS.format(t);
    }

    /**
     * {@code GET /api/{models|datasets}/{repo}[/revision/{rev}]}; with {@code blobs} the siblings carry
     * sizes and hashes.
     */
    static JsonObject repoInfo(ServedRepo repo, ServedSnapshot snap, boolean blobs) {
        JsonObject o = new JsonObject();
        o.addProperty("_id", mongoId(repo.key()));
        o.addProperty("id", repo.id());
        if (repo.type() == RepoType.MODEL) {
            o.addProperty("modelId", repo.id());
        }
        o.addProperty("author", repo.id().substring(0, repo.id().indexOf('/')));
        o.addProperty("sha", snap.commit());
        o.addProperty("lastModified", iso(snap.lastModified()));
        o.addProperty("createdAt", iso(snap.lastModified()));
        o.addProperty("private", repo.access().isPrivate());
        o.add("gated", repo.access().gatedJson());
        o.addProperty("disabled", false);
        o.addProperty("downloads", 0);
        o.addProperty("likes", 0);
        o.add("tags", new JsonArray());
        JsonArray siblings = new JsonArray();
        for (ServedFile f : snap.files()) {
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

    /**
     * {@code GET /api/{type}s/{repo}/refs}: branches, tags and converts, plus {@code pullRequests}
     * when asked for ({@code include_prs=1}), each {@code {name, ref, targetCommit}}.
     */
    static JsonObject refs(ServedRepo repo, boolean includePullRequests) {
        JsonArray branches = new JsonArray();
        JsonArray tags = new JsonArray();
        JsonArray pulls = new JsonArray();
        for (var e : repo.refs().entrySet()) {
            String ref = e.getKey();
            JsonObject r = new JsonObject();
            JsonArray into;
            if (ref.startsWith(RepoRefs.HEADS)) {
                r.addProperty("name", ref.substring(RepoRefs.HEADS.length()));
                into = branches;
            } else if (ref.startsWith(RepoRefs.TAGS)) {
                r.addProperty("name", ref.substring(RepoRefs.TAGS.length()));
                into = tags;
            } else {
                // Named as branches and tags are, the ref less its prefix: refs/pr/1 is "1".
                r.addProperty("name", ref.substring(RepoRefs.PULLS.length()));
                into = pulls;
            }
            r.addProperty("ref", ref);
            r.addProperty("targetCommit", e.getValue().commit());
            into.add(r);
        }
        JsonObject o = new JsonObject();
        o.add("branches", branches);
        o.add("converts", new JsonArray());
        o.add("tags", tags);
        if (includePullRequests) {
            o.add("pullRequests", pulls);
        }
        return o;
    }

    /** One entry of {@code GET /api/{type}s/{repo}/commits/{rev}}. */
    static JsonObject commit(ServedSnapshot snap) {
        JsonObject o = new JsonObject();
        o.addProperty("id", snap.commit());
        o.addProperty("title", COMMIT_TITLE);
        o.addProperty("message", "");
        JsonArray authors = new JsonArray();
        JsonObject author = new JsonObject();
        author.addProperty("user", COMMIT_AUTHOR);
        authors.add(author);
        o.add("authors", authors);
        o.addProperty("date", iso(snap.lastModified()));
        return o;
    }

    /**
     * {@code GET /api/whoami-v2} for a token: a user named after the token's hash (this server has
     * tokens, not accounts), in the orgs whose repos it is granted, with a read-only token.
     */
    static JsonObject whoami(String token, java.util.Collection<String> orgNames) {
        String name = "user-" + sha256Hex(token).substring(0, 12);
        JsonObject o = new JsonObject();
        o.addProperty("type", "user");
        o.addProperty("id", mongoId("user:" + token));
        o.addProperty("name", name);
        o.addProperty("fullname", name);
        o.addProperty("isPro", false);
        o.addProperty("canPay", false);
        o.addProperty("emailVerified", false);
        JsonArray orgs = new JsonArray();
        for (String org : orgNames) {
            JsonObject g = new JsonObject();
            g.addProperty("type", "org");
            g.addProperty("name", org);
            g.addProperty("fullname", org);
            g.addProperty("roleInOrg", "read");
            orgs.add(g);
        }
        o.add("orgs", orgs);
        JsonObject auth = new JsonObject();
        auth.addProperty("type", "access_token");
        JsonObject accessToken = new JsonObject();
        accessToken.addProperty("displayName", "weightfs serve token");
        accessToken.addProperty("role", "read");
        auth.add("accessToken", accessToken);
        o.add("auth", auth);
        return o;
    }

    /** One entry of a tree listing or a paths-info answer. */
    static JsonObject entry(ServedSnapshot repo, TreeNode node, boolean expand) {
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

    private static String sha256Hex(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("JDK lacks SHA-256", e);
        }
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
