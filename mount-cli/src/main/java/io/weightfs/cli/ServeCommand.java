package io.weightfs.cli;

import io.weightfs.serve.Fault;
import io.weightfs.serve.HubServer;
import io.weightfs.serve.ServeLimits;
import io.weightfs.serve.ServeOptions;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code weightfs serve}: a directory served as a local Hugging Face Hub. Prints exactly one line to
 * stdout once both ports accept connections, then serves until SIGTERM or SIGINT.
 */
@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        description = {
            "Serve DIR/<org>/<name>/... (models) and DIR/datasets/<org>/<name>/... (datasets) over the Hugging"
                    + " Face Hub's HTTP protocol, so that any Hub client (HF_ENDPOINT=http://HOST:PORT) can list and"
                    + " download it. LFS files are redirected to a second, \"CDN\" port. Every file is hashed before"
                    + " the server listens.",
            "A repo's .weightfs-refs.json gives it more refs than main, each a folder of the repo:"
                    + " {\"branches\": {\"dev\": \"dev\"}, \"tags\": {\"v1\": \".\"}, \"pull_requests\": {\"1\": \"pr1\"}}.",
            "A repo's .weightfs-repo.json can make it private or gated: {\"private\": true, \"tokens\": [\"hf_...\"]}"
                    + " or {\"gated\": \"manual\", \"tokens\": [...]}.",
            "When ready it prints one line, then serves until SIGTERM or SIGINT:",
            "  weightfs serve: listening on http://HOST:PORT (cdn http://HOST:CDNPORT)"
        })
final class ServeCommand implements Callable<Integer> {
    @Option(names = "--repos", required = true, paramLabel = "DIR",
            description = "Directory holding <org>/<name>/<files>, one folder per repo (datasets under datasets/<org>/<name>).")
    Path repos;

    @Option(names = "--bind", paramLabel = "ADDRESS", defaultValue = ServeOptions.DEFAULT_BIND,
            description = "Address both ports listen on (default: ${DEFAULT-VALUE}; 0.0.0.0 for every interface).")
    String bind;

    @Option(names = "--port", paramLabel = "N", defaultValue = "0",
            description = "Hub port; 0 picks a free one and the ready line says which (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--cdn-port", paramLabel = "N", defaultValue = "0",
            description = "Port LFS downloads are redirected to; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int cdnPort;

    @Option(names = "--cdn-host", paramLabel = "HOST",
            description = "Host name LFS redirects point at. It must be another name for this machine than the one"
                    + " clients use for the Hub (huggingface_hub follows same-name redirects and then misses the Hub's"
                    + " headers). Default: localhost for clients that used a loopback IP, the server's IP for clients"
                    + " that used a host name.")
    String cdnHost;

    @Option(names = "--page-size", paramLabel = "N", defaultValue = "0",
            description = "Entries per tree page; 0 keeps the Hub's own 1000 (50 with expand=true).")
    int pageSize;

    @Option(names = "--lfs-threshold", paramLabel = "SIZE", converter = Sizes.class,
            defaultValue = "" + ServeOptions.DEFAULT_LFS_THRESHOLD,
            description = "Files larger than this are LFS files, as are weight formats (.safetensors, .bin, .gguf,"
                    + " .pt, .pth, .h5, .msgpack, .onnx, .ckpt) of any size (default: ${DEFAULT-VALUE} bytes).")
    long lfsThreshold;

    @Option(names = "--token", paramLabel = "TOKEN",
            description = "A server-wide token, valid everywhere and granted every private and gated repo. Repeatable.")
    List<String> tokens = new ArrayList<>();

    @Option(names = "--fault", paramLabel = "SPEC", converter = FaultConverter.class,
            description = "Misbehave on purpose, for tests. Repeatable. " + Fault.FORMS + "."
                    + " Globs match the file's repo path; * matches anything, / included.")
    List<Fault> faults = new ArrayList<>();

    @Option(names = "--max-connections", paramLabel = "N", defaultValue = "" + 512,
            description = "Connections open at once, both ports together; one more is answered 503 with Retry-After"
                    + " (default: ${DEFAULT-VALUE}).")
    int maxConnections;

    @Option(names = "--idle-timeout", paramLabel = "DURATION", converter = Durations.class, defaultValue = "60s",
            description = "Close a kept-alive connection with no request after this long (default: ${DEFAULT-VALUE}).")
    java.time.Duration idleTimeout;

    @Option(names = "--request-timeout", paramLabel = "DURATION", converter = Durations.class, defaultValue = "30s",
            description = "A request's head and body must arrive within this long of its first byte (default: ${DEFAULT-VALUE}).")
    java.time.Duration requestTimeout;

    @Option(names = "--stall-timeout", paramLabel = "DURATION", converter = Durations.class, defaultValue = "60s",
            description = "Abandon a response that makes no progress (a client that stopped reading) for this long"
                    + " (default: ${DEFAULT-VALUE}).")
    java.time.Duration stallTimeout;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Turns a bad {@code --fault} into a usage error that names the spec. */
    static final class FaultConverter implements CommandLine.ITypeConverter<Fault> {
        @Override
        public Fault convert(String value) {
            try {
                return Fault.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    @Override
    public Integer call() {
        PrintStream err = System.err;
        if (!Files.isDirectory(repos)) {
            err.println("weightfs serve: --repos " + repos + " is not a directory (want DIR/<org>/<name>/<files>)");
            return Main.EXIT_USAGE;
        }
        ServeOptions options;
        try {
            options = new ServeOptions(repos, bind, port, cdnPort, cdnHost, pageSize, lfsThreshold, tokens, faults,
                    ServeLimits.DEFAULTS.withMaxConnections(maxConnections).withIdleTimeout(idleTimeout)
                            .withRequestTimeout(requestTimeout).withStallTimeout(stallTimeout));
        } catch (IllegalArgumentException e) {
            err.println("weightfs serve: " + e.getMessage());
            return Main.EXIT_USAGE;
        }
        HubServer server;
        try {
            server = HubServer.start(options);
        } catch (IOException e) {
            err.println("weightfs serve: " + e.getMessage());
            return Main.EXIT_FAILED;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("weightfs-serve-shutdown").unstarted(() -> {
            server.close();
            stopped.countDown();
        }));
        PrintStream out = System.out;
        out.println("weightfs serve: listening on " + server.endpoint() + " (cdn " + server.cdnEndpoint() + ")");
        out.flush();
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            server.close();
        }
        return 0;
    }
}
