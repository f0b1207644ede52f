package io.weightfs.serve;

import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A server under test on free loopback ports, and a plain client for it that never follows
 * redirects (so tests see the 302s). Every request is bounded by {@link #TIMEOUT}.
 */
final class ServeFixture implements AutoCloseable {
    static final Duration TIMEOUT = Duration.ofSeconds(20);

    final Path root;
    final HubServer server;
    final HttpClient http;

    private ServeFixture(Path root, HubServer server) {
        this.root = root;
        this.server = server;
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(TIMEOUT)
                .build();
    }

    static ServeFixture start(ServeOptions options) throws IOException {
        return new ServeFixture(options.repos(), HubServer.start(options));
    }

    static ServeFixture start(Path root) throws IOException {
        return start(ServeOptions.of(root));
    }

    /** Writes a repo file, creating folders. */
    static Path write(Path root, String repo, String path, byte[] content) throws IOException {
        Path file = root.resolve(repo).resolve(path);
        Files.createDirectories(file.getParent());
        Files.write(file, content);
        return file;
    }

    static Path write(Path root, String repo, String path, String content) throws IOException {
        return write(root, repo, path, content.getBytes(StandardCharsets.UTF_8));
    }

    URI hub(String pathAndQuery) {
        return URI.create(server.endpoint() + pathAndQuery);
    }

    HttpResponse<byte[]> get(String pathAndQuery, String... headers) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(hub(pathAndQuery)).GET(), headers);
    }

    HttpResponse<byte[]> get(URI uri, String... headers) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(uri).GET(), headers);
    }

    HttpResponse<byte[]> head(String pathAndQuery, String... headers) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(hub(pathAndQuery)).method("HEAD", HttpRequest.BodyPublishers.noBody()), headers);
    }

    HttpResponse<byte[]> post(String pathAndQuery, String contentType, String body, String... headers)
            throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(hub(pathAndQuery))
                .header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofString(body)), headers);
    }

    private HttpResponse<byte[]> send(HttpRequest.Builder b, String... headers) throws IOException, InterruptedException {
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return http.send(b.timeout(TIMEOUT).build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    static JsonElement json(HttpResponse<byte[]> response) {
        return JsonParser.parseString(new String(response.body(), StandardCharsets.UTF_8));
    }

    static String header(HttpResponse<?> response, String name) {
        return response.headers().firstValue(name).orElse(null);
    }

    @Override
    public void close() {
        server.close();
        http.close();
    }
}
