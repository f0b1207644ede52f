package io.weightfs.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weightfs.config.RepoType;
import io.weightfs.config.Token;
import io.weightfs.serve.Fault;
import io.weightfs.serve.HubServer;
import io.weightfs.serve.ServeOptions;
import io.weightfs.testing.PatternContent;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Hub client against {@code weightfs serve} in-process on loopback, and against raw sockets for header checks. */
class HubClientTest {
    private static final PatternContent WEIGHTS = new PatternContent(9, 3 * 1024 * 1024 + 5);

    @TempDir
    Path dir;

    private final List<Duration> sleeps = Collections.synchronizedList(new ArrayList<>());

    private HubClient client(String endpoint) {
        return new HubClient(new HubClient.Options(endpoint, 4, Duration.ofSeconds(5), Duration.ofSeconds(5),
                new RetryPolicy(5, Duration.ofMillis(100), () -> 0.5), sleeps::add, Clock.systemUTC(), false));
    }

    private HubServer serve() throws IOException {
        Path repo = dir.resolve("repos/acme/m");
        Files.createDirectories(repo.resolve("sub"));
        Files.writeString(repo.resolve("config.json"), "{}\n");
        Files.writeString(repo.resolve("sub/notes.txt"), "notes\n");
        WEIGHTS.writeTo(repo.resolve("model.safetensors"));
        return HubServer.start(ServeOptions.of(dir.resolve("repos")).withPort(0).withPageSize(2));
    }

    private static byte[] download(HubClient c, RemoteFile f, long offset, int length) throws IOException {
        ByteBuffer out = ByteBuffer.allocate(length);
        c.download(f, offset, length, (pos, bytes) -> out.put(bytes));
        return out.array();
    }

    @Test
    void resolvesListsAcrossPages_andDownloadsARangeOfAnLfsFile() throws Exception {
        try (HubServer server = serve(); HubClient c = client(server.endpoint().toString())) {
            String commit = c.resolveCommit("acme/m", "main", Optional.empty());
            assertEquals(server.commit("acme/m"), commit);
            assertEquals(commit, c.resolveCommit("acme/m", commit, Optional.empty()), "a commit needs no request");
            List<TreeFile> files = c.listFiles("acme/m", commit, Optional.empty());
            assertEquals(List.of("config.json", "model.safetensors", "sub/notes.txt"), files.stream().map(TreeFile::path).sorted().toList());
            TreeFile w = files.stream().filter(f -> f.path().equals("model.safetensors")).findFirst().orElseThrow();
            assertEquals(WEIGHTS.hash(io.weightfs.manifest.ContentHash.Algorithm.SHA256).hex(), w.lfsSha256());
            RemoteFile rf = new RemoteFile("acme/m", commit, "model.safetensors", WEIGHTS.size(), Optional.empty());
            assertArrayEquals(WEIGHTS.bytes(1_000_000, 300_000), download(c, rf, 1_000_000, 300_000));
        }
    }

    @Test
    void aDatasetRepo_isResolvedListedAndDownloadedThroughTheDatasetUrls() throws Exception {
        Path repo = dir.resolve("repos/datasets/acme/m");
        Files.createDirectories(repo);
        Files.writeString(repo.resolve("train.csv"), "a,b\n1,2\n");
        WEIGHTS.writeTo(repo.resolve("data.bin"));
        Files.createDirectories(dir.resolve("repos/acme/m"));
        Files.writeString(dir.resolve("repos/acme/m/config.json"), "{}\n");
        try (HubServer server = HubServer.start(ServeOptions.of(dir.resolve("repos")).withPort(0));
                HubClient c = client(server.endpoint().toString())) {
            String commit = c.resolveCommit(RepoType.DATASET, "acme/m", "main", Optional.empty());
            assertFalse(commit.equals(server.commit("acme/m")), "the dataset, not the model of the same name");
            List<TreeFile> files = c.listFiles(RepoType.DATASET, "acme/m", commit, Optional.empty());
            assertEquals(List.of("data.bin", "train.csv"), files.stream().map(TreeFile::path).sorted().toList());
            RemoteFile csv = new RemoteFile("acme/m", commit, "train.csv", 8, Optional.empty(), RepoType.DATASET);
            assertArrayEquals("a,b\n1,2\n".getBytes(StandardCharsets.UTF_8), download(c, csv, 0, 8));
            RemoteFile lfs = new RemoteFile("acme/m", commit, "data.bin", WEIGHTS.size(), Optional.empty(), RepoType.DATASET);
            assertArrayEquals(WEIGHTS.bytes(5, 1000), download(c, lfs, 5, 1000));
            assertTrue(lfs.describe().contains("datasets/acme/m"), lfs.describe());
        }
    }

    @Test
    void transientStatuses_areRetriedWithBackoff_andRetryAfterIsHonoured() throws Exception {
        try (HubServer server = serve(); HubClient c = client(server.endpoint().toString())) {
            String commit = c.resolveCommit("acme/m", "main", Optional.empty());
            server.setFaults(List.of(Fault.parse("status:503:1:*model.safetensors"), Fault.parse("status:500:1:*model.safetensors")));
            RemoteFile rf = new RemoteFile("acme/m", commit, "model.safetensors", WEIGHTS.size(), Optional.empty());
            assertArrayEquals(WEIGHTS.bytes(0, 1000), download(c, rf, 0, 1000));
            // 503 carries Retry-After: 1 -> 2 s; the 500 that follows backs off 2 x base with half jitter.
            assertEquals(List.of(Duration.ofSeconds(2), Duration.ofMillis(150)), sleeps);
            assertEquals(java.util.Map.of("500", 1L, "503", 1L), c.retryCounts().byStatus(), "each retry counted by its status");
        }
    }

    @Test
    void aMissingRepo_saysWhetherATokenWasSent_andNeverShowsIt() throws Exception {
        Token token = new Token("hf_VerySecretValue123", "test");
        try (HubServer server = serve(); HubClient c = client(server.endpoint().toString())) {
            HubException anon = assertThrows(HubException.class, () -> c.resolveCommit("acme/nope", "main", Optional.empty()));
            assertEquals(HubException.Kind.REPO_NOT_FOUND, anon.kind());
            assertTrue(anon.getMessage().contains("no token was sent"), anon.getMessage());
            HubException withToken = assertThrows(HubException.class, () -> c.resolveCommit("acme/nope", "main", Optional.of(token)));
            assertFalse(withToken.getMessage().contains(token.value()));
            HubException rev = assertThrows(HubException.class, () -> c.resolveCommit("acme/m", "no-such-branch", Optional.empty()));
            assertEquals(HubException.Kind.REVISION_NOT_FOUND, rev.kind());
            assertTrue(sleeps.isEmpty(), "answers that say what is wrong are not retried");
        }
    }

    /** A one-connection-at-a-time raw HTTP server that records each request's header lines. */
    private static final class RawServer implements AutoCloseable {
        final ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        final Map<String, List<String>> headersByPath = new ConcurrentHashMap<>();
        final Thread thread;

        RawServer(java.util.function.Function<String, String> respond) throws IOException {
            thread = Thread.ofPlatform().daemon(true).start(() -> {
                while (!socket.isClosed()) {
                    try (Socket s = socket.accept()) {
                        BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
                        String requestLine = in.readLine();
                        List<String> headers = new ArrayList<>();
                        String line;
                        while ((line = in.readLine()) != null && !line.isEmpty()) {
                            headers.add(line.toLowerCase(java.util.Locale.ROOT));
                        }
                        String path = requestLine.split(" ")[1];
                        headersByPath.put(requestLine.split(" ")[0] + " " + path, headers);
                        OutputStream out = s.getOutputStream();
                        out.write(respond.apply(requestLine).getBytes(StandardCharsets.ISO_8859_1));
                        out.flush();
                    } catch (IOException e) {
                        // closed
                    }
                }
            });
        }

        int port() {
            return socket.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    @Test
    void theToken_goesToTheHub_butNeverToTheCdnADownloadIsRedirectedTo() throws Exception {
        try (RawServer cdn = new RawServer(req -> "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-3/4\r\n"
                        + "Content-Length: 4\r\nConnection: close\r\n\r\nabcd");
                RawServer hub = new RawServer(req -> "HTTP/1.1 302 Found\r\nLocation: http://localhost:" + cdn.port()
                        + "/blob?sig=1\r\nX-Linked-Size: 4\r\nX-Repo-Commit: " + "a".repeat(40)
                        + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                HubClient c = client("http://127.0.0.1:" + hub.port())) {
            RemoteFile f = new RemoteFile("acme/m", "a".repeat(40), "w.bin", 4, Optional.of(new Token("hf_abc123", "test")));
            assertArrayEquals("abcd".getBytes(), download(c, f, 0, 4));
            List<String> toHub = hub.headersByPath.get("HEAD /acme/m/resolve/" + "a".repeat(40) + "/w.bin");
            assertTrue(toHub.contains("authorization: bearer hf_abc123"), "the Hub gets the token: " + toHub);
            List<String> toCdn = cdn.headersByPath.get("GET /blob?sig=1");
            assertTrue(toCdn.stream().noneMatch(h -> h.startsWith("authorization")), "the CDN must not: " + toCdn);
            assertTrue(toCdn.contains("range: bytes=0-3") && toCdn.contains("accept-encoding: identity"), toCdn.toString());
        }
    }

    @Test
    void serverTextEchoingTheToken_inXErrorMessageAndBody_neverReachesTheMessage() throws Exception {
        Token token = new Token("hf_EchoedBackByAHostileHub42", "test");
        try (io.weightfs.testing.HostileHub evil = io.weightfs.testing.HostileHub.start(r -> {
            String auth = r.header("authorization");
            return io.weightfs.testing.HostileHub.response(r.path().contains("/resolve/") ? 403 : 401,
                    "{\"error\":\"refused " + auth + "\",\"error_description\":\"token=" + token.value() + "\"}",
                    "X-Error-Code: " + (r.path().contains("/resolve/") ? "Forbidden" : "RepoNotFound"),
                    "X-Error-Message: you sent " + auth);
        }); HubClient c = client(evil.endpoint())) {
            HubException rev = assertThrows(HubException.class, () -> c.resolveCommit("acme/m", "main", Optional.of(token)));
            RemoteFile f = new RemoteFile("acme/m", "a".repeat(40), "w.bin", 4, Optional.of(token));
            HubException get = assertThrows(HubException.class, () -> download(c, f, 0, 4));
            for (HubException e : List.of(rev, get)) {
                assertFalse(e.getMessage().contains(token.value()), e.getMessage());
                assertTrue(e.getMessage().contains("you sent Bearer " + io.weightfs.config.Redactor.MASK), e.getMessage());
            }
            assertTrue(evil.requests().stream().allMatch(r -> ("Bearer " + token.value()).equals(r.header("authorization"))),
                    "the Hub did get the token, so the echo was real");
        }
    }
}
