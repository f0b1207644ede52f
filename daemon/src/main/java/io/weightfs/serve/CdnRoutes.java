package io.weightfs.serve;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The "CDN" port: {@code GET}/{@code HEAD /cdn/<sha256>} serves an LFS blob by hash, whatever repo
 * holds it, with {@code ETag: "<sha256>"} and none of the Hub's {@code X-Repo-Commit} or
 * {@code X-Linked-*} headers, as the real CDN answers (HUB-PROTOCOL.md §4.2). It never reads
 * {@code Authorization}: blobs of public repos are open, and blobs only private or gated repos hold
 * need the signed link the Hub port's redirect handed out.
 *
 * <p>The redirect also names the repo and path ({@code repo=}, {@code path=}) so that the stats and
 * the fault globs see which file was asked for; without them the first file with that hash is used.
 */
final class CdnRoutes implements HttpConnection.Handler {
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    private final ServeState state;

    CdnRoutes(ServeState state) {
        this.state = state;
    }

    @Override
    public void handle(Exchange ex) throws IOException {
        state.stats.cdnRequest();
        try {
            route(ex);
        } catch (HubError e) {
            e.sendTo(ex);
        }
    }

    private void route(Exchange ex) throws IOException {
        HttpRequest req = ex.request();
        String path = req.rawPath();
        if (!path.startsWith("/cdn/") || !SHA256.matcher(path.substring("/cdn/".length())).matches()) {
            throw HubError.notFound("the CDN serves /cdn/<sha256> only, not " + path);
        }
        if (!req.isGet() && !req.isHead()) {
            throw HubError.methodNotAllowed(req.method(), "GET, HEAD");
        }
        String sha256 = path.substring("/cdn/".length());
        RepoCatalog catalog = state.catalog();
        ServedFile file = catalog.blob(sha256);
        if (file == null) {
            throw new HubError(404, "EntryNotFound", "no blob with sha256 " + sha256);
        }
        Map<String, List<String>> query = PercentCodec.parseForm(req.rawQuery());
        if (!catalog.isPublicBlob(sha256)
                && !state.signer.valid(sha256, first(query, "expires"), first(query, "signature"))) {
            throw new HubError(403, "AccessDenied",
                    "this blob belongs to a private or gated repo: use the signed link that /resolve redirects to"
                            + " (it may have expired)");
        }
        file = named(catalog, query, sha256, file);
        FaultPlan faults = state.faults();
        if (req.isGet()) {
            Fault.Status injected = faults.takeStatus(file);
            if (injected != null) {
                HubRoutes.respondInjected(ex, injected);
                return;
            }
        }
        state.files.serve(ex, file, new ResponseHeaders(), '"' + sha256 + '"', faults, "cdn");
    }

    /** The file the link names, if it really has this hash; else {@code fallback}. */
    private static ServedFile named(RepoCatalog catalog, Map<String, List<String>> query, String sha256, ServedFile fallback) {
        String repoId = first(query, "repo");
        String path = first(query, "path");
        if (repoId == null || path == null) {
            return fallback;
        }
        ServedRepo repo = catalog.repo(repoId);
        if (repo == null) {
            return fallback;
        }
        for (ServedSnapshot snap : repo.snapshots()) {
            ServedFile f = snap.file(path);
            if (f != null && f.lfs() && f.sha256().equals(sha256)) {
                return f;
            }
        }
        return fallback;
    }

    private static String first(Map<String, List<String>> query, String name) {
        List<String> v = query.get(name);
        return v == null || v.isEmpty() ? null : v.getFirst();
    }
}
