package io.weightfs.serve;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What {@link HubServer#start} serves, and how. Immutable and validated on construction; the
 * {@code with...} methods return changed copies.
 *
 * @param repos the directory holding {@code <org>/<name>/...}, one folder per repo
 * @param bind the address both listeners bind to
 * @param port the Hub port; 0 picks a free one
 * @param cdnPort the "CDN" port that LFS downloads are redirected to; 0 picks a free one
 * @param cdnHost the host name LFS redirects point at, or null to choose one per request (see
 *     {@link HubServer}): it must differ from the name clients use for the Hub, since
 *     huggingface_hub 1.3x/2.x follows a redirect to the same host name (ignoring the port) and then
 *     misses the Hub's headers on the CDN's answer
 * @param pageSize entries per tree page; 0 means the Hub's own (1000, or 50 with {@code expand})
 * @param lfsThreshold files larger than this many bytes are served as LFS files (so are weight
 *     formats of any size, see {@link #isLfs})
 * @param tokens server-wide tokens: valid everywhere and granted every private and gated repo
 * @param faults misbehaviours to inject, for tests
 * @param limits timeouts, the connection cap and request sizes ({@link ServeLimits#DEFAULTS})
 */
public record ServeOptions(
        Path repos,
        String bind,
        int port,
        int cdnPort,
        String cdnHost,
        int pageSize,
        long lfsThreshold,
        List<String> tokens,
        List<Fault> faults,
        ServeLimits limits) {

    /**
     * 10 MiB: the Hub's own rule of thumb. Its pre-receive hook refuses non-LFS files above 10 MiB,
     * so every larger file on the real Hub is an LFS file.
     */
    public static final long DEFAULT_LFS_THRESHOLD = 10L * 1024 * 1024;

    /** Loopback only unless asked: the server has no TLS and serves whatever the directory holds. */
    public static final String DEFAULT_BIND = "127.0.0.1";

    /**
     * Extensions the Hub's default {@code .gitattributes} sends to LFS whatever their size, so a
     * tiny test {@code .safetensors} file still takes the redirect-to-CDN path.
     */
    private static final List<String> LFS_EXTENSIONS =
            List.of(".safetensors", ".bin", ".gguf", ".pt", ".pth", ".h5", ".msgpack", ".onnx", ".ckpt");

    public ServeOptions {
        Objects.requireNonNull(repos, "repos");
        Objects.requireNonNull(bind, "bind");
        if (bind.isBlank()) {
            throw new IllegalArgumentException("empty bind address");
        }
        checkPort("port", port);
        checkPort("cdnPort", cdnPort);
        if (cdnHost != null && (cdnHost.isBlank() || cdnHost.contains("/") || cdnHost.contains("@"))) {
            throw new IllegalArgumentException("bad cdnHost '" + cdnHost + "': want a host name or IP address");
        }
        if (pageSize < 0) {
            throw new IllegalArgumentException("pageSize must be 0 (the Hub's default) or positive, got " + pageSize);
        }
        if (lfsThreshold < 0) {
            throw new IllegalArgumentException("lfsThreshold must not be negative, got " + lfsThreshold);
        }
        tokens = List.copyOf(tokens);
        tokens.forEach(io.weightfs.config.Redactor::register); // never in this server's logs
        for (String t : tokens) {
            if (t.isBlank() || !t.strip().equals(t)) {
                throw new IllegalArgumentException("bad token '" + t + "': empty or with surrounding blanks");
            }
        }
        faults = List.copyOf(faults);
        Objects.requireNonNull(limits, "limits");
    }

    /** The constructor as it was before {@code limits}: the defaults. */
    public ServeOptions(Path repos, String bind, int port, int cdnPort, String cdnHost, int pageSize, long lfsThreshold,
            List<String> tokens, List<Fault> faults) {
        this(repos, bind, port, cdnPort, cdnHost, pageSize, lfsThreshold, tokens, faults, ServeLimits.DEFAULTS);
    }

    public ServeOptions withLimits(ServeLimits newLimits) {
        return new ServeOptions(repos, bind, port, cdnPort, cdnHost, pageSize, lfsThreshold, tokens, faults, newLimits);
    }

    /** Defaults for everything but the directory: loopback, free ports, the Hub's page sizes, no faults. */
    public static ServeOptions of(Path repos) {
        return new ServeOptions(repos, DEFAULT_BIND, 0, 0, null, 0, DEFAULT_LFS_THRESHOLD, List.of(), List.of(), ServeLimits.DEFAULTS);
    }

    public ServeOptions withBind(String newBind) {
        return new ServeOptions(repos, newBind, port, cdnPort, cdnHost, pageSize, lfsThreshold, tokens, faults, limits);
    }

    public ServeOptions withPort(int newPort) {
        return new ServeOptions(repos, bind, newPort, cdnPort, cdnHost, pageSize, lfsThreshold, tokens, faults, limits);
    }

    public ServeOptions withCdnPort(int newCdnPort) {
        return new ServeOptions(repos, bind, port, newCdnPort, cdnHost, pageSize, lfsThreshold, tokens, faults, limits);
    }

    public ServeOptions withCdnHost(String newCdnHost) {
        return new ServeOptions(repos, bind, port, cdnPort, newCdnHost, pageSize, lfsThreshold, tokens, faults, limits);
    }

    public ServeOptions withPageSize(int newPageSize) {
        return new ServeOptions(repos, bind, port, cdnPort, cdnHost, newPageSize, lfsThreshold, tokens, faults, limits);
    }

    public ServeOptions withLfsThreshold(long newThreshold) {
        return new ServeOptions(repos, bind, port, cdnPort, cdnHost, pageSize, newThreshold, tokens, faults, limits);
    }

    public ServeOptions withTokens(List<String> newTokens) {
        return new ServeOptions(repos, bind, port, cdnPort, cdnHost, pageSize, lfsThreshold, newTokens, faults, limits);
    }

    public ServeOptions withFaults(List<Fault> newFaults) {
        return new ServeOptions(repos, bind, port, cdnPort, cdnHost, pageSize, lfsThreshold, tokens, newFaults, limits);
    }

    /** A copy with one more fault. */
    public ServeOptions withFault(Fault fault) {
        List<Fault> more = new ArrayList<>(faults);
        more.add(Objects.requireNonNull(fault, "fault"));
        return withFaults(more);
    }

    /** Whether a file of this name and size is served as an LFS file (sha256, redirect to the CDN). */
    public boolean isLfs(String path, long size) {
        if (size > lfsThreshold) {
            return true;
        }
        for (String ext : LFS_EXTENSIONS) {
            if (path.endsWith(ext)) {
                return true;
            }
        }
        return false;
    }

    private static void checkPort(String name, int value) {
        if (value < 0 || value > 65535) {
            throw new IllegalArgumentException(name + " must be 0-65535, got " + value);
        }
    }
}
