package io.weightfs.serveeval;

import io.weightfs.serve.HubServer;
import io.weightfs.serve.ServeOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;

/**
 * A server for {@code run.sh} to measure, printing {@code URL <url>} once it listens:
 * <ul>
 *   <li>{@code weightfs REPOS}: today's {@code weightfs serve} ({@link HubServer}); the URL is the
 *       CDN link of {@code REPOS/bench/eval/blob.bin}, as a client gets it from {@code /resolve};
 *   <li>{@code jetty FILE}: Jetty 12's server with the body written the way a port of
 *       {@code FileResponder} onto Jetty would write it: {@link Content#copy} of a path content
 *       source in pooled direct buffers (Jetty 12 has no sendfile path).
 * </ul>
 */
public final class ServeEval {
    private ServeEval() {}

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "weightfs" -> weightfs(Path.of(args[1]));
            case "jetty" -> jetty(Path.of(args[1]), args.length > 2 ? Integer.parseInt(args[2]) : 64 * 1024);
            default -> throw new IllegalArgumentException("weightfs REPOS | jetty FILE [BUFFER_BYTES]");
        }
    }

    private static void weightfs(Path repos) throws Exception {
        HubServer server = HubServer.start(ServeOptions.of(repos));
        String commit = server.commit("bench/eval");
        java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder().followRedirects(java.net.http.HttpClient.Redirect.NEVER).build();
        var r = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(server.endpoint() + "/bench/eval/resolve/" + commit
                + "/blob.bin")).method("HEAD", java.net.http.HttpRequest.BodyPublishers.noBody()).build(),
                java.net.http.HttpResponse.BodyHandlers.discarding());
        System.out.println("URL " + r.headers().firstValue("location").orElseThrow());
        new CountDownLatch(1).await();
    }

    private static void jetty(Path file, int bufferBytes) throws Exception {
        Server server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        server.addConnector(connector);
        long size = Files.size(file);
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                response.setStatus(200);
                response.getHeaders().put(HttpHeader.CONTENT_LENGTH, size);
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/octet-stream");
                Content.Source body = Content.Source.from(new ByteBufferPool.Sized(server.getByteBufferPool(), true, bufferBytes),
                        file, 0, size);
                Content.copy(body, response, callback);
                return true;
            }
        });
        server.start();
        System.out.println("URL http://127.0.0.1:" + connector.getLocalPort() + "/blob.bin");
        server.join();
    }
}
