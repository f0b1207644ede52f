package io.weightfs.config;

import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where a Prometheus endpoint listens: {@code ADDR:PORT} as in {@code --metrics 127.0.0.1:9400},
 * {@code [::1]:9400} for IPv6, {@code :9400} for every interface. Port 0 takes a free port (the
 * daemon says which).
 *
 * @param host an IP address or host name; empty for every interface
 * @param port 0 to 65535
 */
public record MetricsAddress(String host, int port) {
    private static final Pattern FORM = Pattern.compile("^(?:\\[([0-9A-Fa-f:.]+)\\]|([A-Za-z0-9.-]*)):([0-9]{1,5})$");
    private static final int MAX_PORT = 65535;

    public MetricsAddress {
        Objects.requireNonNull(host, "host");
        if (port < 0 || port > MAX_PORT) {
            throw new IllegalArgumentException("port " + port + " is not in 0-" + MAX_PORT);
        }
    }

    /** Why {@code text} is not an address, or empty if it is one. */
    public static Optional<String> problem(String text) {
        Matcher m = FORM.matcher(text.strip());
        if (!m.matches()) {
            return Optional.of("'" + text + "' is not ADDR:PORT: give e.g. 127.0.0.1:9400, [::1]:9400, or :9400 for every interface");
        }
        int port = Integer.parseInt(m.group(3));
        if (port > MAX_PORT) {
            return Optional.of("'" + text + "': port " + port + " is not in 0-" + MAX_PORT);
        }
        return Optional.empty();
    }

    /** Parses a text {@link #problem} accepts. */
    public static MetricsAddress parse(String text) {
        Optional<String> p = problem(text);
        if (p.isPresent()) {
            throw new IllegalArgumentException(p.get());
        }
        Matcher m = FORM.matcher(text.strip());
        m.matches();
        return new MetricsAddress(m.group(1) != null ? m.group(1) : m.group(2), Integer.parseInt(m.group(3)));
    }

    /** The address to bind: the host, or every interface when it is empty. */
    public String bindHost() {
        return host.isEmpty() ? "0.0.0.0" : host;
    }

    @Override
    public String toString() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
