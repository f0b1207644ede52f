package io.weightfs.hub;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.weightfs.config.Redactor;
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
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
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
    /** The buffer of {@link #download}'s convenience loop; the fetch workers bring their own. */
    static final int BULK_READ_BYTES = 1 << 20;
    private static final Pattern CONTENT_RANGE = Pattern.compile("(\\d{1,19})-(\\d{1,19})/(\\d{1,19}|\\*)");
    /**
     * Signed CDN URLs on the real Hub stay valid for about an hour; re-resolving a little more
     * often than that costs one HEAD and avoids a failed ranged GET.
     */
    private static final Duration DOWNLOAD_URL_TTL = Duration.ofMinutes(30);

    /** Largest JSON answer read (see {@link #boundedBody}). */
    private static final long MAX_JSON_BYTES = 64L << 20;

    private static final Pattern LINK_NEXT = Pattern.compile("<([^>]+)>\\s*;\\s*rel=\"?next\"?");

    /**
     * Client settings.
     *
     * @param endpoint the Hub, e.g. {@code https://huggingface.co} (trailing {@code /} removed)
     * @param maxConnections requests in flight at once, downloads and API calls together
     * @param connectTimeout TCP/TLS connect timeout
     * @param readTimeout longest silence on a socket before the attempt counts as failed
     * @param offline {@code HF_HUB_OFFLINE}: every call fails at once with a clear error
     * @param minBytesPerSecond a download slower than this over {@code slowWindow} is abandoned and
     *     retried on another connection (0: never)
     * @param tls the TLS context for https (null: the JDK's default, which trusts the system's CAs)
     */
    public record Options(
            String endpoint,
            int maxConnections,
            Duration connectTimeout,
            Duration readTimeout,
            RetryPolicy retry,
            Sleeper sleeper,
            Clock clock,
            boolean offline,
            long minBytesPerSecond,
            Duration slowWindow,
            javax.net.ssl.SSLContext tls) {

        public static final String DEFAULT_ENDPOINT = "https://huggingface.co";
        public static final int DEFAULT_MAX_CONNECTIONS = 16;
        /**
         * The transfer floor: 64 KiB/s is a thousandth of what a CDN delivers; a connection that
         * slow for 10 s is stuck behind something, and another one (or the other tier) does better.
         */
        public static final long DEFAULT_MIN_BYTES_PER_SECOND = 64 * 1024;
        public static final Duration DEFAULT_SLOW_WINDOW = Duration.ofSeconds(10);

        public Options(String endpoint, int maxConnections, Duration connectTimeout, Duration readTimeout, RetryPolicy retry,
                Sleeper sleeper, Clock clock, boolean offline) {
            this(endpoint, maxConnections, connectTimeout, readTimeout, retry, sleeper, clock, offline, DEFAULT_MIN_BYTES_PER_SECOND,
                    DEFAULT_SLOW_WINDOW, null);
        }

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
            long minRate = DEFAULT_MIN_BYTES_PER_SECOND;
            String floor = env.get("WEIGHTFS_MIN_TRANSFER_RATE");
            if (floor != null && !floor.isBlank()) {
                try {
                    minRate = Long.parseLong(floor.strip());
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("WEIGHTFS_MIN_TRANSFER_RATE is not a number of bytes per second: '" + floor + "'");
                }
            }
            return new Options(endpoint, DEFAULT_MAX_CONNECTIONS, Duration.ofSeconds(10), readTimeout,
                    retry, Sleeper.REAL, Clock.systemUTC(), offline, minRate, DEFAULT_SLOW_WINDOW, null);
        }

        public Options withMaxConnections(int n) {
            return new Options(endpoint, n, connectTimeout, readTimeout, retry, sleeper, clock, offline, minBytesPerSecond, slowWindow, tls);
        }

        public Options withRetry(RetryPolicy r, Sleeper s) {
            return new Options(endpoint, maxConnections, connectTimeout, readTimeout, r, s, clock, offline, minBytesPerSecond, slowWindow, tls);
        }

        public Options withEndpoint(String e) {
            return new Options(e, maxConnections, connectTimeout, readTimeout, retry, sleeper, clock, offline, minBytesPerSecond, slowWindow, tls);
        }

        public Options withOffline(boolean o) {
            return new Options(endpoint, maxConnections, connectTimeout, readTimeout, retry, sleeper, clock, o, minBytesPerSecond, slowWindow, tls);
        }

        public Options withReadTimeout(Duration t) {
            return new Options(endpoint, maxConnections, connectTimeout, t, retry, sleeper, clock, offline, minBytesPerSecond, slowWindow, tls);
        }

        /** The transfer floor: abandon a download slower than {@code bytesPerSecond} over {@code window}. */
        public Options withTransferFloor(long bytesPerSecond, Duration window) {
            return new Options(endpoint, maxConnections, connectTimeout, readTimeout, retry, sleeper, clock, offline, bytesPerSecond, window, tls);
        }

        public Options withTls(javax.net.ssl.SSLContext context) {
            return new Options(endpoint, maxConnections, connectTimeout, readTimeout, retry, sleeper, clock, offline, minBytesPerSecond, slowWindow,
                    context);
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
    private final BulkClient bulk;
    private final ConcurrentHashMap<String, CompletableFuture<DownloadUrl>> downloadUrls = new ConcurrentHashMap<>();
    private final String userAgent;
    private final RetryCounts retryCounts = new RetryCounts();

    public HubClient(Options options) {
        this.options = options;
        this.endpoint = HttpUrl.get(options.endpoint());
        this.permits = new Semaphore(options.maxConnections(), true);
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
        this.bulk = new BulkClient(new BulkClient.Options(options.connectTimeout(), options.readTimeout(), options.minBytesPerSecond(),
                options.slowWindow(), options.tls()), userAgent);
    }

    public String endpoint() {
        return options.endpoint();
    }

    /** Every retry this client made, by the status it followed (for metrics). */
    public RetryCounts retryCounts() {
        return retryCounts;
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
        JsonElement shaField = json.isJsonObject() ? json.getAsJsonObject().get("sha") : null;
        if (shaField == null || !shaField.isJsonPrimitive() || !shaField.getAsJsonPrimitive().isString()) {
            throw new HubException(HubException.Kind.PROTOCOL, 200,
                    "the Hub's answer for " + what + " has no 'sha' string: is HF_ENDPOINT (" + endpoint() + ") a Hub?");
        }
        String sha = shaField.getAsString();
        if (!sha.matches("^[0-9a-f]{40}$")) {
            throw new HubException(HubException.Kind.PROTOCOL, 200, "the Hub resolved " + what + " to '" + truncate(sha) + "', not a commit");
        }
        return sha;
    }

    /**
     * Every file of the repo at a commit, following {@code Link: rel="next"} pages. Each entry is
     * checked for its JSON shape here ({@link #parseTreeEntry}); what its path, size and oid may be
     * is the manifest layer's rule. A {@code Link} back to a page already fetched is refused at once.
     */
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
        Set<HttpUrl> fetched = new HashSet<>();
        for (int page = 0; url != null; page++) {
            if (page >= MAX_TREE_PAGES) {
                throw new HubException(HubException.Kind.BAD_LISTING, 200, "more than " + MAX_TREE_PAGES + " pages listing " + what);
            }
            if (!fetched.add(url)) {
                throw new HubException(HubException.Kind.BAD_LISTING, 200, "page " + (page + 1) + " of " + what
                        + " links back to a page already fetched (" + Redactor.redact(url.toString()) + "): a pagination loop");
            }
            Page p = getJsonPage(url, token, repoId, what);
            if (!p.json().isJsonArray()) {
                throw new HubException(HubException.Kind.BAD_LISTING, 200, "the Hub's tree page for " + what + " is not a JSON array");
            }
            JsonArray entries = p.json().getAsJsonArray();
            for (int i = 0; i < entries.size(); i++) {
                parseTreeEntry(entries.get(i), page + 1, i).ifPresent(files::add);
            }
            url = p.next();
        }
        return files;
    }

    /**
     * Opens {@code [offset, offset + length)} of a file as a stream of bytes, pulled by the caller
     * in large reads through the bulk client. The stream resumes by itself after a cut connection,
     * from the first byte not yet delivered, retrying transient failures with backoff
     * ({@link Retrier}), never past {@code deadline}; a response whose range, length or encoding is
     * not exactly what was asked is refused, never delivered.
     */
    public ByteStream openRange(RemoteFile file, long offset, long length, Deadline deadline) {
        if (offset < 0 || length < 0 || offset + length > file.size()) {
            throw new IllegalArgumentException("range [" + offset + ", " + (offset + length) + ") outside "
                    + file.describe() + " of " + file.size() + " bytes");
        }
        return new RangeStream(file, offset, offset + length, deadline);
    }

    /**
     * Downloads {@code [offset, offset + length)} of a file into {@code sink} (a convenience over
     * {@link #openRange} for small ranges and tests).
     *
     * @return the number of bytes written (always {@code length} on success)
     */
    public long download(RemoteFile file, long offset, long length, RangeSink sink) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect((int) Math.max(1, Math.min(length, BULK_READ_BYTES)));
        try (ByteStream s = openRange(file, offset, length, Deadline.NONE)) {
            while (true) {
                long pos = s.position();
                buf.clear();
                int n = s.read(buf);
                if (n < 0) {
                    return length;
                }
                buf.flip();
                sink.write(pos, buf);
            }
        }
    }

    /** Drops the cached download URL of a file (after its signed URL was refused). */
    void forgetDownloadUrl(RemoteFile file) {
        downloadUrls.remove(cacheKey(file));
    }

    @Override
    public void close() {
        bulk.close();
        apiClient.dispatcher().executorService().shutdown();
        apiClient.connectionPool().evictAll();
    }

    // ---------------------------------------------------------------------------------------------
    // Downloads

    /**
     * The bytes of one range, pulled through the bulk client: one GET per attempt, resumed from the
     * first byte not yet delivered.
     */
    private final class RangeStream implements ByteStream {
        private final RemoteFile file;
        private final long end;
        private final Deadline deadline;
        private final Retrier retrier;
        private long pos;
        private BulkClient.Response response;
        private long attemptStart;
        private boolean refreshedUrl;
        /** Bytes of a 200 answer (the server ignored Range) still to skip before our position. */
        private long skip;

        RangeStream(RemoteFile file, long offset, long end, Deadline deadline) {
            this.file = file;
            this.pos = offset;
            this.end = end;
            this.deadline = deadline;
            this.retrier = new Retrier(options.retry(), options.sleeper(), deadline, "downloading " + file.describe(), retryCounts);
        }

        @Override
        public long position() {
            return pos;
        }

        @Override
        public long end() {
            return end;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            while (true) {
                if (pos >= end) {
                    return -1;
                }
                if (!dst.hasRemaining()) {
                    return 0;
                }
                try {
                    if (response == null) {
                        open();
                    }
                    if (skip > 0) {
                        skipIgnoredPrefix(dst);
                        continue;
                    }
                    int oldLimit = dst.limit();
                    dst.limit((int) Math.min(oldLimit, dst.position() + (end - pos)));
                    int n;
                    try {
                        n = response.read(dst);
                    } finally {
                        dst.limit(oldLimit);
                    }
                    if (n < 0) {
                        throw new EOFException("the body ended at byte " + pos + " of a range ending at byte " + end);
                    }
                    pos += n;
                    if (pos == end) {
                        closeResponse();
                    }
                    return n;
                } catch (IOException e) {
                    closeResponse();
                    handle(e);
                }
            }
        }

        private void handle(IOException e) throws IOException {
            if (e instanceof HubException h && h.kind() == HubException.Kind.DOWNLOAD_URL_EXPIRED && !refreshedUrl) {
                refreshedUrl = true;
                forgetDownloadUrl(file);
                return;
            }
            if (e instanceof InterruptedIOException && Thread.currentThread().isInterrupted()) {
                throw e;
            }
            retrier.failed(e, pos > attemptStart, e instanceof BulkClient.SlowTransferException);
        }

        private void open() throws IOException {
            checkOffline(file.describe());
            attemptStart = pos;
            DownloadUrl target = downloadUrl(file);
            HttpUrl url = target.url();
            boolean auth = target.sendAuth();
            for (int hop = 0; ; hop++) {
                Map<String, String> headers = new java.util.LinkedHashMap<>();
                headers.put("Range", "bytes=" + pos + "-" + (end - 1));
                headers.put("X-Amzn-Trace-Id", UUID.randomUUID().toString());
                if (auth && sameOrigin(url, endpoint) && file.token().isPresent()) {
                    headers.put("Authorization", "Bearer " + file.token().get().value());
                }
                BulkClient.Response r = bulk.get(url, headers, deadline);
                int code = r.head.status();
                if (code >= 300 && code < 400 && r.head.anyHeader("location") != null && hop < MAX_REDIRECTS) {
                    // A CDN's own redirect (a regional bucket, say): follow it; the token never goes
                    // to another origin.
                    HttpUrl next = url.resolve(r.head.anyHeader("location"));
                    r.close();
                    if (next == null) {
                        throw new HubException(HubException.Kind.PROTOCOL, code, "redirect to an unusable Location downloading " + file.describe());
                    }
                    auth = auth && sameOrigin(next, url);
                    url = next;
                    continue;
                }
                try {
                    accept(r, target, auth);
                } catch (IOException | RuntimeException e) {
                    r.close();
                    throw e;
                }
                response = r;
                return;
            }
        }

        /** Checks that the response is exactly the bytes asked for; throws (refusing it) otherwise. */
        private void accept(BulkClient.Response r, DownloadUrl target, boolean auth) throws IOException {
            ResponseHead h = r.head;
            int code = h.status();
            String host = target.url().host();
            if (code != 200 && code != 206) {
                if (!auth && (code == 403 || code == 404 || code == 410)) {
                    throw new HubException(HubException.Kind.DOWNLOAD_URL_EXPIRED, code,
                            "the download URL of " + file.describe() + " was refused (HTTP " + code + ")");
                }
                String body = r.readText(4096);
                HubException e = HubErrors.fromResponse(code, h.anyHeader("x-error-code"), h.anyHeader("x-error-message"), body,
                        file.describe(), file.repoId(), auth && file.token().isPresent(), endpoint());
                throw e.retryable() ? new HubException(e.kind(), code, e.getMessage(), h.anyHeader("ratelimit"), h.anyHeader("retry-after")) : e;
            }
            String encoding = h.header("content-encoding");
            if (encoding != null && !encoding.equalsIgnoreCase("identity")) {
                throw new HubException(HubException.Kind.PROTOCOL, code, host + " answered with Content-Encoding "
                        + ResponseHead.quote(encoding) + " although the request said identity; refusing the bytes of " + file.describe());
            }
            if (h.anyHeader("transfer-encoding") != null) {
                throw new HubException(HubException.Kind.PROTOCOL, code, host + " sent a range of " + file.describe()
                        + " with Transfer-Encoding " + ResponseHead.quote(h.anyHeader("transfer-encoding")) + "; a range body has a length");
            }
            long length = h.contentLength();
            if (code == 206) {
                long[] range = parseContentRange(h.header("content-range"));
                if (range == null || range[0] != pos || range[1] != end - 1 || (range[2] >= 0 && range[2] != file.size())) {
                    throw new HubException(HubException.Kind.PROTOCOL, code, host + " answered bytes " + pos + "-" + (end - 1) + " of "
                            + file.describe() + " with Content-Range " + ResponseHead.quote(String.valueOf(h.anyHeader("content-range")))
                            + ": not the range asked for (file size " + file.size() + ")");
                }
                if (length >= 0 && length != end - pos) {
                    throw new HubException(HubException.Kind.PROTOCOL, code, host + " sent Content-Length " + length
                            + " for a range of " + (end - pos) + " bytes of " + file.describe());
                }
                if (length < 0) {
                    throw new HubException(HubException.Kind.PROTOCOL, code, host + " sent a range of " + file.describe()
                            + " without Content-Length");
                }
                return;
            }
            // 200: the server ignored Range and sends the whole file. Correct but costly: skip to our position.
            if (length != file.size()) {
                throw new HubException(HubException.Kind.PROTOCOL, code, host + " sent " + (length < 0 ? "a body of unknown length" : length + " bytes")
                        + " for " + file.describe() + " of " + file.size() + " bytes");
            }
            LOG.debug("server ignored Range for {}; skipping {} bytes", file.describe(), pos);
            skip = pos;
        }

        private void skipIgnoredPrefix(ByteBuffer scratch) throws IOException {
            ByteBuffer tmp = scratch.slice();
            tmp.limit((int) Math.min(tmp.capacity(), skip));
            int n = response.read(tmp);
            if (n < 0) {
                throw new EOFException("the body ended while skipping to byte " + pos);
            }
            skip -= n;
        }

        private void closeResponse() {
            if (response != null) {
                response.close();
                response = null;
            }
        }

        @Override
        public void close() {
            closeResponse();
        }
    }

    /** {@code bytes S-E/T} as {S, E, T} (T = -1 for {@code *}), or null if malformed. */
    static long[] parseContentRange(String v) {
        if (v == null || !v.startsWith("bytes ")) {
            return null;
        }
        Matcher m = CONTENT_RANGE.matcher(v.substring(6).strip());
        if (!m.matches()) {
            return null;
        }
        try {
            long s = Long.parseLong(m.group(1));
            long e = Long.parseLong(m.group(2));
            long t = m.group(3).equals("*") ? -1 : Long.parseLong(m.group(3));
            return e < s || (t >= 0 && e >= t) ? null : new long[] {s, e, t};
        } catch (NumberFormatException tooLong) {
            return null;
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
        return f.repoType() + ":" + f.repoId() + "@" + f.commit() + ":" + f.path();
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
        Retrier retrier = new Retrier(options.retry(), options.sleeper(), Deadline.NONE, "resolving " + file.describe(), retryCounts);
        while (true) {
            checkOffline(file.describe());
            try {
                return followToDownload(file, url);
            } catch (IOException e) {
                if (e instanceof InterruptedIOException && Thread.currentThread().isInterrupted()) {
                    throw e;
                }
                retrier.failed(e, false, false);
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
            throw new HubException(HubException.Kind.PROTOCOL, 0, "bad size '" + truncate(header) + "' for " + file.describe());
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
        Retrier retrier = new Retrier(options.retry(), options.sleeper(), Deadline.NONE, "fetching " + what, retryCounts);
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
                    String body = boundedBody(r, what);
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
                if (e.kind() == HubException.Kind.PROTOCOL) {
                    throw e; // not JSON: retrying the same endpoint will not make it a Hub
                }
                retrier.failed(e, false, false);
            } catch (IOException e) {
                if (e instanceof InterruptedIOException && Thread.currentThread().isInterrupted()) {
                    throw e;
                }
                retrier.failed(e, false, false);
            }
        }
    }

    /**
     * A JSON answer's text, refused beyond {@link #MAX_JSON_BYTES}: a page of 1000 entries is about
     * 300 KB, and a server that sends more must not fill the heap.
     */
    private static String boundedBody(Response r, String what) throws IOException {
        BufferedSource src = r.body().source();
        if (src.request(MAX_JSON_BYTES + 1)) {
            throw new HubException(HubException.Kind.BAD_LISTING, r.code(), "the Hub's answer for " + what
                    + " is larger than " + (MAX_JSON_BYTES >> 20) + " MiB; no Hub page is that large");
        }
        return src.getBuffer().readUtf8();
    }

    static HttpUrl nextLink(String link, HttpUrl base) {
        if (link == null) {
            return null;
        }
        Matcher m = LINK_NEXT.matcher(link);
        return m.find() ? base.resolve(m.group(1)) : null;
    }

    /**
     * One tree entry's JSON shape (HUB-PROTOCOL.md §2): {@code type}, {@code path} and {@code oid}
     * strings, {@code size} an integer, {@code lfs.oid} (or {@code lfs.sha256}) a string and
     * {@code lfs.size} an integer when {@code lfs} is there. Directory entries are skipped. Values
     * are not judged here: {@code manifest.ListingRules} does that, in one place.
     */
    static Optional<TreeFile> parseTreeEntry(JsonElement e, int page, int index) throws HubException {
        String where = "entry " + (index + 1) + " of page " + page;
        if (!e.isJsonObject()) {
            throw badEntry(where, "is not a JSON object: " + truncate(e.toString()));
        }
        JsonObject o = e.getAsJsonObject();
        String type = string(o, "type", where);
        if (!type.equals("file")) {
            if (type.equals("directory")) {
                return Optional.empty();
            }
            throw badEntry(where, "has type '" + truncate(type) + "', neither 'file' nor 'directory'");
        }
        String path = string(o, "path", where);
        where = "entry '" + truncate(path) + "'";
        String oid = string(o, "oid", where);
        long size = integer(o, "size", where);
        String lfs = null;
        JsonElement l = o.get("lfs");
        if (l != null && !l.isJsonNull()) {
            if (!l.isJsonObject()) {
                throw badEntry(where, "has an 'lfs' field that is not an object");
            }
            JsonObject lo = l.getAsJsonObject();
            lfs = string(lo, lo.has("oid") ? "oid" : "sha256", where + " (lfs)");
            if (lo.has("size")) {
                size = integer(lo, "size", where + " (lfs)");
            }
        }
        return Optional.of(new TreeFile(path, size, oid, lfs));
    }

    private static String string(JsonObject o, String key, String where) throws HubException {
        JsonElement v = o.get(key);
        if (v == null || !v.isJsonPrimitive() || !v.getAsJsonPrimitive().isString()) {
            throw badEntry(where, v == null ? "has no '" + key + "'" : "has a '" + key + "' that is not a string: " + truncate(v.toString()));
        }
        return v.getAsString();
    }

    private static long integer(JsonObject o, String key, String where) throws HubException {
        JsonElement v = o.get(key);
        if (v == null || !v.isJsonPrimitive() || !v.getAsJsonPrimitive().isNumber()) {
            throw badEntry(where, v == null ? "has no '" + key + "'" : "has a '" + key + "' that is not a number: " + truncate(v.toString()));
        }
        try {
            // Exact: 1.5 or 1e30 is no size, and Gson's getAsLong would quietly truncate either.
            return v.getAsBigDecimal().longValueExact();
        } catch (ArithmeticException | NumberFormatException notALong) {
            throw badEntry(where, "has a '" + key + "' that is not a whole number of bytes: " + truncate(v.toString()));
        }
    }

    private static HubException badEntry(String where, String problem) {
        return new HubException(HubException.Kind.BAD_LISTING, 200, where + " " + problem);
    }

    // ---------------------------------------------------------------------------------------------
    // Errors and retries

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

    static boolean sameOrigin(HttpUrl a, HttpUrl b) {
        return a.scheme().equals(b.scheme()) && a.host().equalsIgnoreCase(b.host()) && a.port() == b.port();
    }

    /** {@code quote(s, safe="")}: every reserved character, {@code /} included, percent-encoded. */
    static String encodeAll(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** Server text quoted in a message: tokens removed, control characters escaped, at most 200 characters. */
    private static String truncate(String text) {
        String s = Redactor.redact(text);
        StringBuilder sb = new StringBuilder();
        s.codePoints().limit(200).forEach(c -> {
            if (Character.isISOControl(c)) {
                sb.append(String.format("\\u%04x", c));
            } else {
                sb.appendCodePoint(c);
            }
        });
        return s.codePointCount(0, s.length()) > 200 ? sb + "..." : sb.toString();
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
