package io.weightfs.serve;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.weightfs.config.RepoType;
import io.weightfs.manifest.LfsPointer;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The Hub port: {@code /api/{models|datasets}/...} (repo info, tree, paths-info, refs, commits),
 * {@code /api/whoami-v2}, {@code /[datasets/]{repo}/resolve/...} and {@code /raw/...}, and the test
 * hooks under {@code /_weightfs/}. Routing works on the still-encoded path split at
 * {@code /}, decoding each segment afterwards, so that a {@code %2F}-encoded revision is one segment
 * while a raw {@code refs/pr/1} is recognised by shape (HUB-PROTOCOL.md §2).
 *
 * <p>Stateless apart from {@link ServeState}; thread-safe.
 */
final class HubRoutes implements HttpConnection.Handler {
    /** Repo types other than models and datasets: served by no repo here, so always RepoNotFound. */
    private static final Set<String> OTHER_TYPES = Set.of("spaces", "kernels");
    private static final Pattern PR_NUMBER = Pattern.compile("\\d+");
    /** The two routes that serve a file's bytes. */
    private static final Set<String> FILE_ROUTES = Set.of("resolve", "raw");
    /** The Hub's page sizes (HUB-PROTOCOL.md §2). */
    private static final int PAGE_SIZE = 1000;
    private static final int EXPANDED_PAGE_SIZE = 50;
    private static final String CURSOR_PREFIX = "offset:";

    private final ServeState state;

    HubRoutes(ServeState state) {
        this.state = state;
    }

    @Override
    public void handle(Exchange ex) throws IOException {
        try {
            route(ex);
        } catch (HubError e) {
            e.sendTo(ex);
        }
    }

    private void route(Exchange ex) throws IOException {
        HttpRequest req = ex.request();
        List<String> segs = segments(req.rawPath());
        if (!segs.isEmpty() && segs.getFirst().equals("_weightfs")) {
            statsHook(ex, segs);
            return;
        }
        if (!segs.isEmpty() && segs.getFirst().equals("api")) {
            state.stats.apiRequest();
            api(ex, segs);
            return;
        }
        RepoType type = RepoType.MODEL;
        List<String> rest = segs;
        if (!segs.isEmpty() && segs.getFirst().equals(RepoType.DATASET.plural())) {
            type = RepoType.DATASET;
            rest = segs.subList(1, segs.size());
        } else if (!segs.isEmpty() && OTHER_TYPES.contains(segs.getFirst())) {
            if (segs.size() >= 4 && FILE_ROUTES.contains(segs.get(3))) {
                state.stats.resolveRequest();
                Caller caller = Caller.of(req);
                state.access.checkCredentials(caller, state.catalog());
                throw HubError.repoNotFound(caller.authenticated());
            }
            throw HubError.notFound("Sorry, we can't find the page you are looking for: " + req.rawPath());
        }
        if (rest.size() >= 3 && FILE_ROUTES.contains(rest.get(2))) {
            state.stats.resolveRequest();
            String repoId = decode(rest.get(0)) + "/" + decode(rest.get(1));
            file(ex, type, repoId, rest.get(2).equals("raw"), rest.subList(3, rest.size()));
            return;
        }
        throw HubError.notFound("Sorry, we can't find the page you are looking for: " + req.rawPath());
    }

    // ---- /api ----

    private void api(Exchange ex, List<String> segs) throws IOException {
        HttpRequest req = ex.request();
        Caller caller = Caller.of(req);
        RepoCatalog catalog = state.catalog();
        state.access.checkCredentials(caller, catalog);
        if (segs.size() == 2 && segs.get(1).equals("whoami-v2")) {
            requireMethod(req, "GET", "HEAD");
            json(ex, whoami(caller, catalog));
            return;
        }
        if (segs.size() < 4) {
            throw HubError.notFound("Sorry, this API is not served here: " + req.rawPath());
        }
        String typeSegment = segs.get(1);
        if (OTHER_TYPES.contains(typeSegment)) {
            throw HubError.repoNotFound(caller.authenticated());
        }
        RepoType type = RepoType.parse(typeSegment).filter(t -> t.plural().equals(typeSegment)).orElse(null);
        if (type == null) {
            throw HubError.notFound("Sorry, this API is not served here: " + req.rawPath());
        }
        String repoId = decode(segs.get(2)) + "/" + decode(segs.get(3));
        String action = segs.size() > 4 ? segs.get(4) : null;
        List<String> rest = segs.size() > 5 ? segs.subList(5, segs.size()) : List.of();

        if (action == null || action.equals("revision")) {
            requireMethod(req, "GET", "HEAD");
            ServedRepo repo = state.access.visibleRepo(catalog, type, repoId, caller);
            String rev = action == null ? RepoRefs.MAIN : joinDecoded(rest);
            if (rev.isEmpty()) {
                throw HubError.revisionNotFound(rev);
            }
            ServedSnapshot snap = resolveRevision(repo, rev);
            Map<String, List<String>> query = PercentCodec.parseForm(req.rawQuery());
            json(ex, HubJson.repoInfo(repo, snap, PercentCodec.isTrue(query, "blobs")));
            return;
        }
        switch (action) {
            case "tree" -> {
                requireMethod(req, "GET", "HEAD");
                ServedRepo repo = state.access.visibleRepo(catalog, type, repoId, caller);
                state.access.checkGate(repo, caller, ex.host());
                tree(ex, repo, rest);
            }
            case "paths-info" -> {
                requireMethod(req, "POST");
                ServedRepo repo = state.access.visibleRepo(catalog, type, repoId, caller);
                state.access.checkGate(repo, caller, ex.host());
                pathsInfo(ex, repo, joinDecoded(rest));
            }
            case "refs" -> {
                requireMethod(req, "GET", "HEAD");
                if (!rest.isEmpty()) {
                    throw HubError.notFound("Sorry, this API is not served here: " + req.rawPath());
                }
                ServedRepo repo = state.access.visibleRepo(catalog, type, repoId, caller);
                Map<String, List<String>> query = PercentCodec.parseForm(req.rawQuery());
                json(ex, HubJson.refs(repo, PercentCodec.isTrue(query, "include_prs")));
            }
            case "commits" -> {
                requireMethod(req, "GET", "HEAD");
                ServedRepo repo = state.access.visibleRepo(catalog, type, repoId, caller);
                state.access.checkGate(repo, caller, ex.host());
                String rev = rest.isEmpty() ? RepoRefs.MAIN : joinDecoded(rest);
                ServedSnapshot snap = resolveRevision(repo, rev);
                // Each ref's folder is a root commit of its own: the history is that one commit.
                JsonArray commits = new JsonArray();
                commits.add(HubJson.commit(snap));
                json(ex, commits);
            }
            default -> throw HubError.notFound("Sorry, this API is not served here: " + req.rawPath());
        }
    }

    /**
     * {@code GET /api/whoami-v2}: who the caller's token belongs to. Tokens here have no users, so
     * the user is named after the token's hash; its orgs are those of the repos granted to it.
     */
    private JsonObject whoami(Caller caller, RepoCatalog catalog) {
        if (caller.token() == null) {
            throw HubError.invalidCredentials();
        }
        Set<String> orgs = new java.util.TreeSet<>();
        boolean serverWide = state.serverTokens.contains(caller.token());
        for (ServedRepo r : catalog.repos().values()) {
            if (serverWide || r.access().tokens().contains(caller.token())) {
                orgs.add(r.id().substring(0, r.id().indexOf('/')));
            }
        }
        return HubJson.whoami(caller.token(), orgs);
    }

    private void tree(Exchange ex, ServedRepo repo, List<String> revAndPath) throws IOException {
        HttpRequest req = ex.request();
        RevPath rp = splitRevPath(revAndPath);
        ServedSnapshot snap = resolveRevision(repo, rp.revision());
        String commit = snap.commit();
        String dir = trimSlashes(rp.path());
        if (!dir.isEmpty()) {
            TreeNode node = snap.node(dir);
            if (node == null) {
                throw HubError.entryNotFound(dir, commit);
            }
            if (!node.isDirectory()) {
                throw new HubError(404, "EntryNotFound", "Entry not found: " + dir + " is a file, not a directory")
                        .with("X-Repo-Commit", commit);
            }
        }
        Map<String, List<String>> query = PercentCodec.parseForm(req.rawQuery());
        boolean recursive = PercentCodec.isTrue(query, "recursive");
        boolean expand = PercentCodec.isTrue(query, "expand");
        int pageSize = state.options.pageSize() > 0 ? state.options.pageSize() : expand ? EXPANDED_PAGE_SIZE : PAGE_SIZE;
        List<TreeNode> all = snap.list(dir, recursive);
        int from = decodeCursor(query.get("cursor"), all.size());
        int to = Math.min(all.size(), from + pageSize);
        JsonArray page = new JsonArray();
        for (TreeNode n : all.subList(from, to)) {
            page.add(HubJson.entry(snap, n, expand));
        }
        ResponseHeaders headers = new ResponseHeaders().set("X-Repo-Commit", commit);
        if (to < all.size()) {
            headers.set("Link", "<" + nextPageUrl(ex, to) + ">; rel=\"next\"");
        }
        json(ex, headers, page);
    }

    /** The absolute URL of the next page: this request's own, with the cursor replaced. */
    private static String nextPageUrl(Exchange ex, int offset) {
        HttpRequest req = ex.request();
        StringBuilder url = new StringBuilder("http://").append(ex.host()).append(req.rawPath()).append('?');
        if (req.rawQuery() != null) {
            for (String pair : req.rawQuery().split("&")) {
                if (!pair.isEmpty() && !pair.equals("cursor") && !pair.startsWith("cursor=")) {
                    url.append(pair).append('&');
                }
            }
        }
        String cursor = Base64.getUrlEncoder().withoutPadding()
                .encodeToString((CURSOR_PREFIX + offset).getBytes(StandardCharsets.US_ASCII));
        return url.append("cursor=").append(cursor).toString();
    }

    private static int decodeCursor(List<String> values, int total) {
        if (values == null || values.isEmpty() || values.getLast().isEmpty()) {
            return 0;
        }
        String raw = values.getLast();
        try {
            String text = new String(Base64.getUrlDecoder().decode(raw), StandardCharsets.US_ASCII);
            if (text.startsWith(CURSOR_PREFIX)) {
                int offset = Integer.parseInt(text.substring(CURSOR_PREFIX.length()));
                if (offset >= 0 && offset <= total) {
                    return offset;
                }
            }
        } catch (IllegalArgumentException e) {
            // fall through: NumberFormatException and bad base64 alike
        }
        throw HubError.badRequest("Invalid cursor '" + raw + "': take it verbatim from the Link header of the previous page");
    }

    private void pathsInfo(Exchange ex, ServedRepo repo, String revision) throws IOException {
        HttpRequest req = ex.request();
        ServedSnapshot snap = resolveRevision(repo, revision);
        String commit = snap.commit();
        List<String> paths = new ArrayList<>();
        boolean expand;
        String contentType = req.header("content-type");
        String body = new String(req.body(), StandardCharsets.UTF_8);
        boolean jsonBody = contentType != null
                ? contentType.toLowerCase(Locale.ROOT).contains("json")
                : body.stripLeading().startsWith("{");
        if (jsonBody) {
            JsonObject o;
            try {
                JsonElement parsed = JsonParser.parseString(body);
                if (!parsed.isJsonObject()) {
                    throw HubError.badRequest("paths-info wants a JSON object {\"paths\": [...], \"expand\": bool}");
                }
                o = parsed.getAsJsonObject();
                JsonElement p = o.get("paths");
                if (p != null && p.isJsonArray()) {
                    p.getAsJsonArray().forEach(e -> paths.add(e.getAsString()));
                } else if (p != null && p.isJsonPrimitive()) {
                    paths.add(p.getAsString());
                }
                JsonElement e = o.get("expand");
                expand = e != null && e.isJsonPrimitive()
                        && PercentCodec.isTrue(Map.of("expand", List.of(e.getAsString())), "expand");
            } catch (JsonParseException | IllegalStateException | UnsupportedOperationException e) {
                throw HubError.badRequest("paths-info body is not the JSON {\"paths\": [...], \"expand\": bool}: " + e.getMessage());
            }
        } else {
            Map<String, List<String>> form = PercentCodec.parseForm(body);
            paths.addAll(form.getOrDefault("paths", List.of()));
            paths.addAll(form.getOrDefault("paths[]", List.of()));
            expand = PercentCodec.isTrue(form, "expand");
        }
        JsonArray out = new JsonArray();
        for (String p : new LinkedHashSet<>(paths)) {
            TreeNode node = snap.node(trimSlashes(p));
            if (node != null) {
                out.add(HubJson.entry(snap, node, expand));
            }
        }
        json(ex, new ResponseHeaders().set("X-Repo-Commit", commit), out);
    }

    // ---- /resolve and /raw ----

    /**
     * {@code /{repo}/resolve/{rev}/{path}} and {@code /{repo}/raw/{rev}/{path}}. They differ only for
     * LFS files: {@code resolve} redirects to the CDN, {@code raw} answers the LFS pointer itself, as
     * the Hub does (it is what git stores; {@code @huggingface/hub}'s {@code fileExists} HEADs it).
     */
    private void file(Exchange ex, RepoType type, String repoId, boolean raw, List<String> revAndPath) throws IOException {
        HttpRequest req = ex.request();
        requireMethod(req, "GET", "HEAD");
        Caller caller = Caller.of(req);
        RepoCatalog catalog = state.catalog();
        state.access.checkCredentials(caller, catalog);
        ServedRepo repo = state.access.visibleRepo(catalog, type, repoId, caller);
        state.access.checkGate(repo, caller, ex.host());
        RevPath rp = splitRevPath(revAndPath);
        ServedSnapshot snap = resolveRevision(repo, rp.revision());
        String commit = snap.commit();
        ServedFile file = snap.file(rp.path());
        if (file == null) {
            throw HubError.entryNotFound(rp.path(), commit);
        }
        FaultPlan faults = state.faults();
        if (req.isGet()) {
            Fault.Status injected = faults.takeStatus(file);
            if (injected != null) {
                respondInjected(ex, injected);
                return;
            }
        }
        ResponseHeaders headers = new ResponseHeaders().set("X-Repo-Commit", commit);
        if (!file.lfs()) {
            state.files.serve(ex, file, headers, file.etag(), faults, "hub");
            return;
        }
        String pointerEtag = '"' + file.gitOid() + '"';
        if (raw) {
            state.files.serveBytes(ex, file.path(), LfsPointer.text(file.sha256(), file.size()), headers, pointerEtag);
            return;
        }
        // LFS: redirect to the CDN port, a different host:port, so clients drop Authorization.
        headers.set("X-Linked-Etag", file.etag()).set("X-Linked-Size", file.size()).set("ETag", pointerEtag);
        if (FileResponder.ifNoneMatch(req.header("if-none-match"), file.etag(), pointerEtag)) {
            ex.respondWithoutBody(304, headers);
            return;
        }
        String location = "http://" + cdnHost(ex) + ":" + state.cdnPort() + "/cdn/" + file.sha256()
                + "?repo=" + PercentCodec.encodeComponent(file.repo())
                + "&path=" + PercentCodec.encodeComponent(file.path())
                + "&" + state.signer.query(file.sha256());
        headers.set("Location", location).set("Content-Length", 0);
        ex.respondWithoutBody(302, headers);
    }

    /**
     * The host name for a CDN redirect. It must differ from the one the client used for the Hub, as
     * the real CDN's does: huggingface_hub (since 1.3x) follows a redirect whose host name equals the
     * Hub's, port ignored, and then misses X-Repo-Commit on the CDN's answer. So, unless
     * {@code --cdn-host} says otherwise: a client that named us by a host name (localhost included)
     * is sent to the IP address its connection arrived at; one that used a loopback IP is sent to
     * {@code localhost}; one that used any other IP literal gets that IP again (no other name is
     * known; such setups need {@code --cdn-host}).
     */
    private String cdnHost(Exchange ex) throws IOException {
        if (state.options.cdnHost() != null) {
            return urlHost(state.options.cdnHost());
        }
        String host = ex.hostName();
        String bare = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        InetAddress literal;
        try {
            literal = InetAddress.ofLiteral(bare);
        } catch (IllegalArgumentException notALiteral) {
            return urlHost(ex.localAddress().getHostAddress());
        }
        return literal.isLoopbackAddress() ? "localhost" : host;
    }

    /** An address as URLs write it: IPv6 in brackets, without a zone. */
    private static String urlHost(String host) {
        if (host.contains(":") && !host.startsWith("[")) {
            int zone = host.indexOf('%');
            return "[" + (zone < 0 ? host : host.substring(0, zone)) + "]";
        }
        return host;
    }

    /** Answers a download with an injected status, shaped like a load balancer's or CDN's error. */
    static void respondInjected(Exchange ex, Fault.Status fault) throws IOException {
        ResponseHeaders headers = new ResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        if (fault.code() == 429) {
            headers.set("RateLimit", "\"api\";r=0;t=1").set("RateLimit-Policy", "\"fixed window\";\"api\";q=1;w=1");
        }
        if (fault.code() == 429 || fault.code() == 503) {
            headers.set("Retry-After", "1");
        }
        JsonObject body = new JsonObject();
        body.addProperty("error", "injected fault " + fault.spec());
        ex.respond(fault.code(), headers, HubJson.bytes(body));
    }

    // ---- /_weightfs ----

    private void statsHook(Exchange ex, List<String> segs) throws IOException {
        HttpRequest req = ex.request();
        if (segs.size() == 2 && segs.get(1).equals("stats")) {
            requireMethod(req, "GET", "HEAD");
        } else if (segs.size() == 3 && segs.get(1).equals("stats") && segs.get(2).equals("reset")) {
            requireMethod(req, "POST");
            state.stats.reset();
        } else {
            throw HubError.notFound("no such hook: " + req.rawPath() + " (try /_weightfs/stats)");
        }
        ex.respond(200, new ResponseHeaders().set("Content-Type", "application/json; charset=utf-8"),
                state.stats.snapshot().toJson().getBytes(StandardCharsets.UTF_8));
    }

    // ---- helpers ----

    /** A revision and a path inside the repo, both decoded. */
    private record RevPath(String revision, String path) {}

    /**
     * Splits what follows {@code /tree/} or {@code /resolve/}: the revision is one segment (possibly
     * {@code %2F}-encoded) or a raw {@code refs/pr/N} or {@code refs/convert/X}; the rest is the path.
     */
    private static RevPath splitRevPath(List<String> raw) {
        if (raw.isEmpty()) {
            throw HubError.revisionNotFound("");
        }
        int revSegments = 1;
        if (raw.getFirst().equals("refs") && raw.size() >= 3
                && ((raw.get(1).equals("pr") && PR_NUMBER.matcher(raw.get(2)).matches()) || raw.get(1).equals("convert"))) {
            revSegments = 3;
        }
        return new RevPath(joinDecoded(raw.subList(0, revSegments)), joinDecoded(raw.subList(revSegments, raw.size())));
    }

    /** The snapshot a revision names (see {@link ServedRepo#snapshot}); else RevisionNotFound. */
    private static ServedSnapshot resolveRevision(ServedRepo repo, String revision) {
        ServedSnapshot snap = repo.snapshot(revision);
        if (snap == null) {
            throw HubError.revisionNotFound(revision);
        }
        return snap;
    }

    private static void requireMethod(HttpRequest req, String... allowed) {
        for (String m : allowed) {
            if (req.method().equals(m)) {
                return;
            }
        }
        throw HubError.methodNotAllowed(req.method(), String.join(", ", allowed));
    }

    private static void json(Exchange ex, JsonElement body) throws IOException {
        json(ex, new ResponseHeaders(), body);
    }

    private static void json(Exchange ex, ResponseHeaders headers, JsonElement body) throws IOException {
        headers.set("Content-Type", "application/json; charset=utf-8");
        ex.respond(200, headers, HubJson.bytes(body));
    }

    /** The raw path's segments, without the leading empty one and a trailing empty one. */
    private static List<String> segments(String rawPath) {
        List<String> segs = new ArrayList<>(List.of(rawPath.split("/", -1)));
        if (!segs.isEmpty() && segs.getFirst().isEmpty()) {
            segs.removeFirst();
        }
        if (!segs.isEmpty() && segs.getLast().isEmpty()) {
            segs.removeLast();
        }
        return segs;
    }

    private static String decode(String segment) {
        return PercentCodec.decode(segment, false);
    }

    private static String joinDecoded(List<String> segs) {
        StringBuilder sb = new StringBuilder();
        for (String s : segs) {
            if (!sb.isEmpty()) {
                sb.append('/');
            }
            sb.append(decode(s));
        }
        return sb.toString();
    }

    private static String trimSlashes(String p) {
        int a = 0;
        int b = p.length();
        while (a < b && p.charAt(a) == '/') {
            a++;
        }
        while (b > a && p.charAt(b - 1) == '/') {
            b--;
        }
        return p.substring(a, b);
    }
}
