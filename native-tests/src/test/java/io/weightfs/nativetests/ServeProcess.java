package io.weightfs.nativetests;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code weightfs serve} as a real process on a free loopback port. */
final class ServeProcess implements AutoCloseable {
    private static final Pattern LISTENING =
            Pattern.compile("weightfs serve: listening on (http://\\S+) \\(cdn (http://\\S+)\\)");
    /** Hashing a 2 GiB test file happens before the server listens. */
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    private final WeightfsProcess process;
    private final String endpoint;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private ServeProcess(WeightfsProcess process, String endpoint) {
        this.process = process;
        this.endpoint = endpoint;
    }

    static ServeProcess start(Path repos, String... extraArgs) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("serve", "--repos", repos.toString(), "--port", "0", "--bind", "127.0.0.1"));
        args.addAll(List.of(extraArgs));
        WeightfsProcess p = WeightfsProcess.start(Map.of(), args.toArray(String[]::new));
        try {
            Matcher m = p.awaitLine(LISTENING, START_TIMEOUT);
            return new ServeProcess(p, m.group(1));
        } catch (AssertionError | RuntimeException e) {
            p.close();
            throw e;
        }
    }

    String endpoint() {
        return endpoint;
    }

    /** The server's request counters ({@code GET /_weightfs/stats}). */
    JsonObject stats() throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(endpoint + "/_weightfs/stats"))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        return JsonParser.parseString(r.body()).getAsJsonObject();
    }

    /** Forgets the counters so far ({@code POST /_weightfs/stats/reset}). */
    void resetStats() throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(endpoint + "/_weightfs/stats/reset"))
                .POST(HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2) {
            throw new IOException("stats reset answered " + r.statusCode());
        }
    }

    String output() {
        return process.stdout() + process.stderr();
    }

    @Override
    public void close() throws InterruptedException {
        process.close();
    }
}
