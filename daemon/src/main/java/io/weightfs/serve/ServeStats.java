package io.weightfs.serve;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import java.util.List;
import java.util.Objects;

/**
 * What the server has done since start or the last reset: a snapshot, for tests and benchmarks.
 * {@code GET /_weightfs/stats} on the Hub port returns the same as {@link #toJson()}.
 *
 * @param requests requests by kind
 * @param bodyBytes file body bytes sent on both ports (cut and corrupted bodies included)
 * @param downloads the most recent file bodies begun, oldest first (at most {@link #MAX_DOWNLOADS})
 */
public record ServeStats(Requests requests, long bodyBytes, List<Download> downloads) {
    /** How many downloads are kept; older ones are dropped first. */
    public static final int MAX_DOWNLOADS = 100_000;

    public ServeStats {
        Objects.requireNonNull(requests, "requests");
        downloads = List.copyOf(downloads);
    }

    /**
     * Request counts.
     *
     * @param api requests under {@code /api/} on the Hub port
     * @param resolve {@code /resolve/} requests on the Hub port (HEAD and GET)
     * @param cdn every request on the CDN port
     */
    public record Requests(long api, long resolve, long cdn) {}

    /**
     * One file body the server began to send.
     *
     * @param repo the repo id
     * @param path the file's path inside the repo
     * @param hash the file's content hash, hex (sha256 for LFS files, git sha1 otherwise)
     * @param range {@code "a-b"} (inclusive) for a 206, null for a whole-file 200
     * @param port {@code "hub"} or {@code "cdn"}
     */
    public record Download(String repo, String path, String hash, String range, String port) {}

    /** The JSON form served at {@code /_weightfs/stats}. */
    public String toJson() {
        JsonObject root = new JsonObject();
        JsonObject r = new JsonObject();
        r.addProperty("api", requests.api());
        r.addProperty("resolve", requests.resolve());
        r.addProperty("cdn", requests.cdn());
        root.add("requests", r);
        root.addProperty("bodyBytes", bodyBytes);
        JsonArray list = new JsonArray();
        for (Download d : downloads) {
            JsonObject o = new JsonObject();
            o.addProperty("repo", d.repo());
            o.addProperty("path", d.path());
            o.addProperty("hash", d.hash());
            if (d.range() == null) {
                o.add("range", JsonNull.INSTANCE);
            } else {
                o.addProperty("range", d.range());
            }
            o.addProperty("port", d.port());
            list.add(o);
        }
        root.add("downloads", list);
        return new GsonBuilder().serializeNulls().disableHtmlEscaping().create().toJson(root);
    }
}
