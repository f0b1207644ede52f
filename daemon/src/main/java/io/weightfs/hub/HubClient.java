package io.weightfs.hub;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.weightfs.config.RepoType;
import io.weightfs.config.Token;
import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URLEncoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import okhttp3.ConnectionPool;
import okhttp3.HttpUrl;
import okhttp3.Interceptor;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.ResponseBody;
import okio.BufferedSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Hub client: one per process, shared by every repo and every downloading thread.
 *
 * <p><b>Threads and locks.</b> Callers' threads do the I/O; the client owns no thread of its own
 * besides OkHttp's connection-pool cleaner. At most {@link Options#maxConnections()} requests are in
 * flight at once ({@link #permits}); each holds one pooled buffer while it streams. The download-URL
 * cache is a concurrent map of futures: the first asker resolves, later askers wait on its future,
 * and no lock is held during I/O.
 *
 * <p><b>Auth.</b> A network interceptor adds {@code Authorization} to a request only if it goes to
 * the Hub's own scheme, host and port (HUB-PROTOCOL.md §4.1 step 4), on every hop including
 * redirects. A signed CDN URL never sees the token.
 */
public final class HubClient implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HubClient.class);

    /** Redirect hops followed by hand while resolving a download URL; real chains are 1-2 long. */
    private static final int MAX_REDIRECTS = 10;
    /** Tree pages are 1000 entries; this bounds a runaway {@code Link} loop at 10 M files. */
    private static final int MAX_TREE_PAGES = 10_000;
    /**
     * Bytes gathered from the socket before one positional write: big enough that a pwrite per
     * chunk costs little next to the copy, small enough that maxConnections of them are nothing.
     */
    static final int STREAM_BUFFER_BYTES = 256 * 1024;
    /**
     * Signed CDN URLs on the real Hub stay valid for about an hour; re-resolving a little more
     * often than that costs one HEAD and avoids a failed ranged GET.
     */
    private static final Duration DOWNLOAD_URL_TTL = Duration.ofMinutes(30);

    private static final Pattern LINK_NEXT = Pattern.compile("<([^>]+)>\\s*;\\s*rel=\"?next\"?");

    /**
     * Client settings.
     *
     * @param endpoint the Hub, e.g. {@code https://huggingface.co} (trailing {@code /} removed)
     * @param maxConnections requests in flight at once, downloads and API calls together
     * @param connectTimeout TCP/TLS connect timeout
     * @param readTimeout longest silence on a socket before the attempt counts as failed
     * @param offline {@code HF_HUB_OFFLINE}: every call fails at once with a clear error
     */
    public record Options(
            String endpoint,
            int maxConnections,
            Duration connectTimeout,
            Duration readTimeout,
            RetryPolicy retry,
            Sleeper sleeper,
            Clock clock,
            boolean offline) {

        public static final String DEFAULT_ENDPOINT = "https://huggingface.co";
        public static final int DEFAULT_MAX_CONNECTIONS = 16;

        public Options {
            endpoint = stripTrailingSlashes(endpoint);
            if (maxConnections < 1) {
                throw new IllegalArgumentException("maxConnections must be >= 1, got " + maxConnections);
            }
            if (HttpUrl.parse(endpoint) == null) {
                throw new IllegalArgumentException("not an http(s) URL for the Hub endpoint: '" + endpoint + "'");
            }
        }

        /**
         * Settings from the environment: {@code HF_ENDPOINT}, {@code HF_HUB_OFFLINE} (or
         * {@code TRANSFORMERS_OFFLINE}), {@code HF_HUB_DOWNLOAD_TIMEOUT}, {@code WEIGHTFS_RETRY_BASE_MS}.
         */
        public static Options fromEnvironment(Map<String, String> env) {
            String endpoint = env.getOrDefault("HF_ENDPOINT", "");
            if (endpoint.isBlank()) {
                endpoint = DEFAULT_ENDPOINT;
            }
            boolean offline = truthy(env.get("HF_HUB_OFFLINE"))
                    || ((env.get("HF_HUB_OFFLINE") == null || env.get("HF_HUB_OFFLINE").isEmpty())
                            && truthy(env.get("TRANSFORMERS_OFFLINE")));
            Duration readTimeout = Duration.ofSeconds(30);
            String t = env.get("HF_HUB_DOWNLOAD_TIMEOUT");
            if (t != null && !t.isBlank()) {
                try {
                    readTimeout = Duration.ofMillis((long) (Double.parseDouble(t.strip()) * 1000));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("HF_HUB_DOWNLOAD_TIMEOUT is not a number of seconds: '" + t + "'");
                }
            }
            RetryPolicy retry = RetryPolicy.defaults();
            String base = env.get("WEIGHTFS_RETRY_BASE_MS");
            if (base != null && !base.isBlank()) {
                // For tests and impatient operators: scales every backoff delay (not server-requested waits).
                retry = new RetryPolicy(RetryPolicy.DEFAULT_MAX_RETRIES, Duration.ofMillis(Long.parseLong(base.strip())), Math::random);
            }
            return new Options(endpoint, DEFAULT_MAX_CONNECTIONS, Duration.ofSeconds(10), readTimeout,
                    retry, Sleeper.REAL, Clock.systemUTC(), offline);
        }

        public Options withMaxConnections(int n) {
            return new Options(endpoint, n, connectTimeout, readTimeout, retry, sleeper, clock, offline);
        }

        public Options withRetry(RetryPolicy r, Sleeper s) {
            return new Options(endpoint, maxConnections, connectTimeout, readTimeout, r, s, clock, offline);
        }

        public Options withEndpoint(String e) {
            return new Options(e, maxConnections, connectTimeout, readTimeout, retry, sleeper, clock, offline);
        }

        public Options withOffline(boolean o) {
            return new Options(endpoint, maxConnections, connectTimeout, readTimeout, retry, sleeper, clock, o);
        }

        static boolean truthy(String v) {
            if (v == null) {
                return false;
            }
            String s = v.strip().toUpperCase(java.util.Locale.ROOT);
            return s.equals("1") || s.equals("ON") || s.equals("YES") || s.equals("TRUE");
        }

        private static String stripTrailingSlashes(String s) {
            String r = s.strip();
            while (r.endsWith("/")) {
                r = r.substring(0, r.length() - 1);
            }
            return r;
        }
    }

    /** Where to GET a file's bytes, and whether the token may go there. */
    record DownloadUrl(HttpUrl url, boolean sendAuth, long size, Instant resolvedAt) {}

    private final Options options;
    private final HttpUrl endpoint;
    private final OkHttpClient apiClient;
    private final OkHttpClient noRedirectClient;
    private final Semaphore permits;
    private final BlockingQueue<ByteBuffer> buffers;
    private final ConcurrentHashMap<String, CompletableFuture<DownloadUrl>> downloadUrls = new ConcurrentHashMap<>();
    private final String userAgent;

    public HubClient(Options options) {
        this.options = options;
        this.endpoint = HttpUrl.get(options.endpoint());
        this.permits = new Semaphore(options.maxConnections(), true);
        this.buffers = new ArrayBlockingQueue<>(options.maxConnections());
        for (int i = 0; i < options.maxConnections(); i++) {
            buffers.add(ByteBuffer.allocateDirect(STREAM_BUFFER_BYTES));
        }
        String version = HubClient.class.getPackage().getImplementationVersion();
        this.userAgent = "weightfs/" + (version == null ? "dev" : version) + "; java/" + Runtime.version().feature();
        this.apiClient = new OkHttpClient.Builder()
                .connectionPool(new ConnectionPool(options.maxConnections(), 5, TimeUnit.MINUTES))
                .connectTimeout(options.connectTimeout())
                .readTimeout(options.readTimeout())
                .writeTimeout(options.readTimeout())
                .retryOnConnectionFailure(true)
                .followRedirects(true)
                .followSslRedirects(true)
                .addNetworkInterceptor(new HubHeaders())
                .build();
        this.noRedirectClient = apiClient.newBuilder().followRedirects(false).followSslRedirects(false).build();
    }

    public String endpoint() {
        return options.endpoint();
    }

    /**
     * The 40-hex commit a revision points to. A revision that already is a commit is returned as it
     * is, with no request (HUB-PROTOCOL.md §0).
     */
    public String resolveCommit(String repoId, String revision, Optional<Token> token) throws IOException {
        return resolveCommit(RepoType.MODEL, repoId, revision, token);
    }

    /** {@link #resolveCommit(String, String, Optional)} for a model or a dataset repo. */
    public String resolveCommit(RepoType type, String repoId, String revision, Optional<Token> token) throws IOException {
        if (revision.matches("^[0-9a-f]{40}$")) {
            return revision;
        }
        HttpUrl url = endpoint.newBuilder()
                .addPathSegment("api").addPathSegment(type.plural())
                .addPathSegments(repoId)
                .addPathSegment("revision")
                .addEncodedPathSegment(encodeAll(revision))
                .build();
        String what = "revision '" + revision + "' of " + type.qualify(repoId);
        JsonElement json = getJson(url, token, repoId, what);
        if (!json.isJsonObject() || !json.getAsJsonObject().has("sha")) {
            throw new HubException(HubException.Kind.PROTOCOL, 200,
                    "the Hub's answer for " + what + " has no 'sha' field: is HF_ENDPOINT (" + endpoint() + ") a Hub?");
        }
        String sha = json.getAsJsonObject().get("sha").getAsString();
        if (!sha.matches("^[0-9a-f]{40}$")) {
            throw new HubException(HubException.Kind.PROTOCOL, 200, "the Hub resolved " + what + " to '" + sha + "', not a commit");
        }
        return sha;
    }

    /** Every file of the repo at a commit, following {@code Link: rel="next"} pages. */
    public List<TreeFile> listFiles(String repoId, String commit, Optional<Token> token) throws IOException {
        return listFiles(RepoType.MODEL, repoId, commit, token);
    }

    /** {@link #listFiles(String, String, Optional)} for a model or a dataset repo. */
    public List<TreeFile> listFiles(RepoType type, String repoId, String commit, Optional<Token> token) throws IOException {
        HttpUrl url = endpoint.newBuilder()
                .addPathSegment("api").addPathSegment(type.plural())
                .addPathSegments(repoId)
                .addPathSegment("tree")
                .addEncodedPathSegment(encodeAll(commit))
                .addQueryParameter("recursive", "true")
                .addQueryParameter("expand", "false")
                .build();
        String what = "the file list of " + type.qualify(repoId) + " at " + commit;
        List<TreeFile> files = new ArrayList<>();
        for (int page = 0; url != null; page++) {
            if (page >= MAX_TREE_PAGES) {
                throw new HubException(HubException.Kind.PROTOCOL, 200, "more than " + MAX_TREE_PAGES + " pages listing " + what);
            }
            Page p = getJsonPage(url, token, repoId, what);
            if (!p.json().isJsonArray()) {
                throw new HubException(HubException.Kind.PROTOCOL, 200, "the Hub's tree page for " + what + " is not a JSON array");
            }
            for (JsonElement e : p.json().getAsJsonArray()) {
                parseTreeEntry(e, what).ifPresent(files::add);
            }
            url = p.next();
        }
        return files;
    }

    /**
     * Downloads {@code [offset, offset + length)} of a file into {@code sink}, resuming after a cut
     * connection from the first byte not yet received, retrying transient failures with backoff.
     *
     * @return the number of bytes written (always {@code length} on success)
     */
    public long download(RemoteFile file, long offset, long length, RangeSink sink) throws IOException {
        if (offset < 0 || length < 0 || offset + length > file.size()) {
            throw new IllegalArgumentException("range [" + offset + ", " + (offset + length) + ") outside "
                    + file.describe() + " of " + file.size() + " bytes");
        }
        long end = offset + length;
        long pos = offset;
        int failures = 0;
        boolean refreshedUrl = false;
        while (pos < end) {
            checkOffline(file.describe());
            DownloadUrl target = downloadUrl(file);
            long attemptStart = pos;
            try {
                pos = downloadOnce(file, target, pos, end, sink);
            } catch (HubException e) {
                if (e.kind() == HubException.Kind.DOWNLOAD_URL_EXPIRED && !refreshedUrl) {
                    refreshedUrl = true;
                    forgetDownloadUrl(file);
                    continue;
                }
                if (!e.retryable()) {
                    throw e;
                }
                failures = retryOrThrow(file, e, failures, pos > attemptStart, e);
            } catch (PartialIOException e) {
                pos = e.position;
                failures = retryOrThrow(file, e.getCause(), failures, pos > attemptStart, null);
            } catch (IOException e) {
                if (e instanceof InterruptedIOException && Thread.currentThread().isInterrupted()) {
                    throw e;
                }
                failures = retryOrThrow(file, e, failures, false, null);
            }
        }
        return length;
    }

    /** Drops the cached download URL of a file (after its signed URL was refused). */
    void forgetDownloadUrl(RemoteFile file) {
        downloadUrls.remove(cacheKey(file));
    }

    @Override
    public void close() {
        apiClient.dispatcher().executorService().shutdown();
        apiClient.connectionPool().evictAll();
    }

    // ---------------------------------------------------------------------------------------------
    // Downloads

    /** One attempt: GET the range and stream it to the sink. Returns the position reached (== end). */
    private long downloadOnce(RemoteFile file, DownloadUrl target, long pos, long end, RangeSink sink) throws IOException {
        Request.Builder rb = new Request.Builder()
                .url(target.url())
                .header("Range", "bytes=" + pos + "-" + (end - 1))
                .header("Accept-Encoding", "identity");
        if (target.sendAuth()) {
            file.token().ifPresent(t -> rb.tag(Token.class, t));
        }
        acquirePermit();
        ByteBuffer buf = buffers.poll();
        try (Response r = noRedirectClient.newCall(rb.build()).execute()) {
            int code = r.code();
            long skip = 0;
            if (code == 206) {
                long start = contentRangeStart(r.header("Content-Range"));
                if (start != pos) {
                    throw new HubException(HubException.Kind.PROTOCOL, code, "asked for byte " + pos + " of "
                            + file.describe() + " but the server sent a range starting at " + start);
                }
            } else if (code == 200) {
                // The server ignored Range: skip to our position. Costly but correct; rare.
                LOG.debug("server ignored Range for {}; skipping {} bytes", file.describe(), pos);
                skip = pos;
            } else if (!target.sendAuth() && (code == 403 || code == 404 || code == 410)) {
                throw new HubException(HubException.Kind.DOWNLOAD_URL_EXPIRED, code,
                        "the download URL of " + file.describe() + " was refused (HTTP " + code + ")");
            } else {
                throw errorFrom(r, file.describe(), file.repoId(), target.sendAuth() && file.token().isPresent());
            }
            BufferedSource src = r.body().source();
            if (skip > 0) {
                src.skip(skip);
            }
            return stream(src, buf, pos, end, sink);
        } finally {
            if (buf != null) {
                buffers.add(buf);
            }
            permits.release();
        }
    }

    /**
     * Copies the body to the sink in {@link #STREAM_BUFFER_BYTES} chunks. A failure reading the
     * socket becomes a {@link PartialIOException} carrying how far it got, so the caller resumes
     * there; a failure of the sink (a full disk) is not a network problem and passes through as is.
     */
    private static long stream(BufferedSource src, ByteBuffer buf, long pos, long end, RangeSink sink) throws IOException {
        ByteBuffer b = buf != null ? buf : ByteBuffer.allocateDirect(STREAM_BUFFER_BYTES);
        long written = pos;
        while (written < end) {
            b.clear();
            b.limit((int) Math.min(b.capacity(), end - written));
            boolean eof = false;
            try {
                while (b.hasRemaining()) {
                    if (src.read(b) < 0) {
                        eof = true;
                        break;
                    }
                }
            } catch (IOException e) {
                flush(sink, b, written);
                written += b.limit();
                throw new PartialIOException(written, e);
            }
            b.flip();
            int n = b.remaining();
            if (n > 0) {
                sink.write(written, b);
                written += n;
            }
            if (eof && written < end) {
                throw new PartialIOException(written, new EOFException(
                        "connection closed at byte " + written + " of a range ending at byte " + end));
            }
        }
        return written;
    }

    /** Hands what was read before a failure to the sink, so a resume does not fetch it twice. */
    private static void flush(RangeSink sink, ByteBuffer b, long position) throws IOException {
        b.flip();
        if (b.hasRemaining()) {
            sink.write(position, b);
        }
    }

    /** The cached (or freshly resolved) download URL of a file. Single-flight per file. */
    private DownloadUrl downloadUrl(RemoteFile file) throws IOException {
        String key = cacheKey(file);
        while (true) {
            CompletableFuture<DownloadUrl> mine = new CompletableFuture<>();
            CompletableFuture<DownloadUrl> existing = downloadUrls.putIfAbsent(key, mine);
            if (existing == null) {
                try {
                    DownloadUrl resolved = resolveDownloadUrl(file);
                    mine.complete(resolved);
                    return resolved;
                } catch (IOException | RuntimeException e) {
                    downloadUrls.remove(key, mine);
                    mine.completeExceptionally(e);
                    throw e;
                }
            }
            DownloadUrl d;
            try {
                d = existing.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted waiting for the download URL of " + file.describe());
            } catch (ExecutionException e) {
                if (e.getCause() instanceof IOException io) {
                    throw io;
                }
                throw new IOException(e.getCause());
            }
            if (Duration.between(d.resolvedAt(), options.clock().instant()).compareTo(DOWNLOAD_URL_TTL) < 0) {
                return d;
            }
            downloadUrls.remove(key, existing);
        }
    }

    private static String cacheKey(RemoteFile f) {
        return f.repoId() + "@" + f.commit() + ":" + f.path();
    }

    /**
     * HEAD on {@code /resolve}, redirects followed by hand (HUB-PROTOCOL.md §4.1): a relative
     * Location stays on the Hub; an absolute one on another host is the CDN and gets no token.
     */
    private DownloadUrl resolveDownloadUrl(RemoteFile file) throws IOException {
        HttpUrl url = endpoint.newBuilder()
                .addPathSegments(file.repoType().qualify(file.repoId()))
                .addPathSegment("resolve")
                .addEncodedPathSegment(encodeAll(file.commit()))
                .addPathSegments(file.path())
                .build();
        int failures = 0;
        while (true) {
            checkOffline(file.describe());
            try {
                return followToDownload(file, url);
            } catch (HubException e) {
                if (!e.retryable()) {
                    throw e;
                }
                failures = retryOrThrow(file, e, failures, false, e);
            } catch (IOException e) {
                failures = retryOrThrow(file, e, failures, false, null);
            }
        }
    }

    private DownloadUrl followToDownload(RemoteFile file, HttpUrl start) throws IOException {
        HttpUrl url = start;
        Long linkedSize = null;
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            boolean toHub = sameOrigin(url, endpoint);
            Request.Builder rb = new Request.Builder().url(url).head().header("Accept-Encoding", "identity");
            if (toHub) {
                file.token().ifPresent(t -> rb.tag(Token.class, t));
            }
            acquirePermit();
            try (Response r = noRedirectClient.newCall(rb.build()).execute()) {
                String ls = r.header("X-Linked-Size");
                if (ls != null) {
                    linkedSize = parseSize(ls, file);
                }
                if (r.isRedirect()) {
                    String location = r.header("Location");
                    HttpUrl next = location == null ? null : url.resolve(location);
                    if (next == null) {
                        throw new HubException(HubException.Kind.PROTOCOL, r.code(),
                                "redirect without a usable Location while resolving " + file.describe());
                    }
                    boolean relative = !location.contains("://");
                    if (!relative && !sameOrigin(next, endpoint)) {
                        // An absolute Location on another host: the CDN. That is the download URL.
                        long size = linkedSize != null ? linkedSize : file.size();
                        checkSize(file, size);
                        return new DownloadUrl(next, false, size, options.clock().instant());
                    }
                    url = next;
                    continue;
                }
                if (!r.isSuccessful()) {
                    throw errorFrom(r, file.describe(), file.repoId(), toHub && file.token().isPresent());
                }
                long size = linkedSize != null ? linkedSize : parseSize(r.header("Content-Length"), file);
                checkSize(file, size);
                return new DownloadUrl(url, toHub, size, options.clock().instant());
            } finally {
                permits.release();
            }
        }
        throw new HubException(HubException.Kind.PROTOCOL, 0, "more than " + MAX_REDIRECTS + " redirects resolving " + file.describe());
    }

    private static long parseSize(String header, RemoteFile file) throws HubException {
        if (header == null) {
            throw new HubException(HubException.Kind.PROTOCOL, 0, "the Hub sent no size (X-Linked-Size or Content-Length) for " + file.describe());
        }
        try {
            return Long.parseLong(header.strip());
        } catch (NumberFormatException e) {
            throw new HubException(HubException.Kind.PROTOCOL, 0, "bad size '" + header + "' for " + file.describe());
        }
    }

    private static void checkSize(RemoteFile file, long size) throws HubException {
        if (size != file.size()) {
            throw new HubException(HubException.Kind.PROTOCOL, 0, "the Hub reports " + size + " bytes for "
                    + file.describe() + " but the pinned manifest says " + file.size()
                    + "; the repo changed under a pinned commit or the endpoint is not the one the manifest came from");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // JSON API calls

    private record Page(JsonElement json, HttpUrl next) {}

    private JsonElement getJson(HttpUrl url, Optional<Token> token, String repoId, String what) throws IOException {
        return getJsonPage(url, token, repoId, what).json();
    }

    private Page getJsonPage(HttpUrl url, Optional<Token> token, String repoId, String what) throws IOException {
        int failures = 0;
        while (true) {
            checkOffline(what);
            Request.Builder rb = new Request.Builder().url(url).header("Accept", "application/json");
            token.ifPresent(t -> rb.tag(Token.class, t));
            try {
                acquirePermit();
                try (Response r = apiClient.newCall(rb.build()).execute()) {
                    if (!r.isSuccessful()) {
                        throw errorFrom(r, what, repoId, token.isPresent());
                    }
                    String body = r.body().string();
                    JsonElement json;
                    try {
                        json = JsonParser.parseString(body);
                    } catch (JsonParseException e) {
                        throw new HubException(HubException.Kind.PROTOCOL, r.code(), "the Hub's answer for " + what
                                + " is not JSON: is HF_ENDPOINT (" + endpoint() + ") a Hub?");
                    }
                    return new Page(json, nextLink(r.header("Link"), r.request().url()));
                } finally {
                    permits.release();
                }
            } catch (HubException e) {
                if (!e.retryable() || e.kind() == HubException.Kind.PROTOCOL) {
                    throw e;
                }
                failures = retryOrThrow(null, e, failures, false, e);
            } catch (InterruptedIOException e) {
                if (Thread.currentThread().isInterrupted()) {
                    throw e;
                }
                failures = retryOrThrow(null, e, failures, false, null);
            } catch (IOException e) {
                failures = retryOrThrow(null, e, failures, false, null);
            }
        }
    }

    static HttpUrl nextLink(String link, HttpUrl base) {
        if (link == null) {
            return null;
        }
        Matcher m = LINK_NEXT.matcher(link);
        return m.find() ? base.resolve(m.group(1)) : null;
    }

    private static Optional<TreeFile> parseTreeEntry(JsonElement e, String what) throws HubException {
        try {
            JsonObject o = e.getAsJsonObject();
            if (!"file".equals(o.get("type").getAsString())) {
                return Optional.empty();
            }
            String path = o.get("path").getAsString();
            String oid = o.get("oid").getAsString();
            long size = o.get("size").getAsLong();
            String lfs = null;
            JsonElement l = o.get("lfs");
            if (l != null && l.isJsonObject()) {
                JsonObject lo = l.getAsJsonObject();
                lfs = lo.has("oid") ? lo.get("oid").getAsString() : lo.get("sha256").getAsString();
                if (lo.has("size")) {
                    size = lo.get("size").getAsLong();
                }
            }
            return Optional.of(new TreeFile(path, size, oid, lfs));
        } catch (RuntimeException bad) {
            throw new HubException(HubException.Kind.PROTOCOL, 200, "malformed entry in " + what + ": " + truncate(e.toString()));
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Errors and retries

    /** A body that broke off: how far it got, and why. */
    private static final class PartialIOException extends IOException {
        final long position;

        PartialIOException(long position, IOException cause) {
            super(cause.getMessage(), cause);
            this.position = position;
        }

        @Override
        public synchronized IOException getCause() {
            return (IOException) super.getCause();
        }
    }

    private HubException errorFrom(Response r, String what, String repoId, boolean tokenSent) throws IOException {
        String body = "";
        ResponseBody rb = r.body();
        if (rb != null) {
            BufferedSource s = rb.source();
            // Only the start of an error body is quoted; never read a huge body.
            s.request(4096);
            body = s.getBuffer().readString(Math.min(4096, s.getBuffer().size()), StandardCharsets.UTF_8);
        }
        HubException e = HubErrors.fromResponse(r.code(), r.header("X-Error-Code"), r.header("X-Error-Message"),
                body, what, repoId, tokenSent, endpoint());
        if (e.retryable()) {
            return new HubException(e.kind(), e.status(), e.getMessage(), r.header("RateLimit"), r.header("Retry-After"));
        }
        return e;
    }

    /**
     * Counts a failure and sleeps before the next attempt, or rethrows when the budget is spent.
     * An attempt that made progress resets the budget and retries at once (huggingface_hub resets
     * its budget when bytes arrive), so a flaky connection that keeps delivering never gives up.
     */
    private int retryOrThrow(RemoteFile file, IOException e, int failures, boolean progressed, HubException told) throws IOException {
        if (progressed) {
            LOG.debug("resuming {} after: {}", file == null ? "request" : file.describe(), e.toString());
            return 1;
        }
        int next = failures + 1;
        if (next > options.retry().maxRetries()) {
            if (e instanceof HubException) {
                throw e;
            }
            throw new IOException("giving up after " + options.retry().maxRetries() + " retries"
                    + (file == null ? "" : " downloading " + file.describe()) + " from " + endpoint() + ": " + e.getMessage(), e);
        }
        Duration d = options.retry().delay(next, told == null ? null : told.rateLimit(), told == null ? null : told.retryAfter());
        LOG.debug("retry {} of {} in {} ms after: {}", next, file == null ? "request" : file.describe(), d.toMillis(), e.toString());
        try {
            options.sleeper().sleep(d);
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting to retry");
        }
        return next;
    }

    private void acquirePermit() throws InterruptedIOException {
        try {
            permits.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted waiting for a Hub connection");
        }
    }

    private void checkOffline(String what) throws HubException {
        if (options.offline()) {
            throw new HubException(HubException.Kind.OFFLINE, 0,
                    "HF_HUB_OFFLINE is set, so the Hub is not asked for " + what
                            + "; unset it, or start once online so the manifest and blobs are cached");
        }
    }

    private static long contentRangeStart(String contentRange) throws HubException {
        // "bytes a-b/T"
        if (contentRange != null && contentRange.startsWith("bytes ")) {
            int dash = contentRange.indexOf('-');
            if (dash > 6) {
                try {
                    return Long.parseLong(contentRange.substring(6, dash).strip());
                } catch (NumberFormatException ignored) {
                    // fall through
                }
            }
        }
        throw new HubException(HubException.Kind.PROTOCOL, 206, "206 answer with a bad Content-Range: '" + contentRange + "'");
    }

    static boolean sameOrigin(HttpUrl a, HttpUrl b) {
        return a.scheme().equals(b.scheme()) && a.host().equalsIgnoreCase(b.host()) && a.port() == b.port();
    }

    /** {@code quote(s, safe="")}: every reserved character, {@code /} included, percent-encoded. */
    static String encodeAll(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String truncate(String s) {
        return s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }

    /** Adds the common headers, and the token only for the Hub's own origin. */
    private final class HubHeaders implements Interceptor {
        @Override
        public Response intercept(Chain chain) throws IOException {
            Request req = chain.request();
            Request.Builder b = req.newBuilder()
                    .header("User-Agent", userAgent)
                    .header("X-Amzn-Trace-Id", UUID.randomUUID().toString());
            Token token = req.tag(Token.class);
            if (token != null && sameOrigin(req.url(), endpoint)) {
                b.header("Authorization", "Bearer " + token.value());
            } else {
                b.removeHeader("Authorization");
            }
            return chain.proceed(b.build());
        }
    }
}
