package io.weightfs.nativetests.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A bandwidth-limited link: a network namespace holding the server's end of a veth pair, with a
 * {@code tbf} shaper on that end (a shaper limits what leaves an interface, so it sits where the
 * server's bytes leave: PLATFORM.md measured that shaping the host side limits nothing). The host
 * end is {@link #HOST_ADDR}, the server binds {@link #SERVER_ADDR}. {@link #close()} deletes the
 * namespace, which takes the veth pair with it.
 */
final class ShapedLink implements AutoCloseable {
    static final String NETNS = "wfsbench";
    static final String SERVER_ADDR = "10.213.0.1";
    static final String HOST_ADDR = "10.213.0.2";
    private static final String HOST_IF = "wfsb0";
    private static final String NS_IF = "wfsb1";
    /**
     * tbf parameters: a 256 KiB bucket lets a TSO super-packet (64 KiB) through without the shaper
     * stalling on it; 50 ms of queue keeps TCP's window from building a long standing queue, so a
     * new request is not stuck behind seconds of queued bytes at the shaper itself.
     */
    private static final String BURST = "256kb";
    private static final String LATENCY = "50ms";

    private final Path log;
    private final String rate;

    private ShapedLink(Path log, String rate) {
        this.log = log;
        this.rate = rate;
    }

    /** Creates the namespace, the veth pair and the shaper; cleans up and throws if any step fails. */
    static ShapedLink create(String rate, Path log) throws IOException, InterruptedException {
        deleteQuietly(log);
        ShapedLink l = new ShapedLink(log, rate);
        try {
            l.ip("netns", "add", NETNS);
            l.ip("link", "add", HOST_IF, "type", "veth", "peer", "name", NS_IF);
            l.ip("link", "set", NS_IF, "netns", NETNS);
            l.ip("addr", "add", HOST_ADDR + "/30", "dev", HOST_IF);
            l.ip("link", "set", HOST_IF, "up");
            l.inNs("ip", "addr", "add", SERVER_ADDR + "/30", "dev", NS_IF);
            l.inNs("ip", "link", "set", NS_IF, "up");
            l.inNs("ip", "link", "set", "lo", "up");
            l.inNs("tc", "qdisc", "add", "dev", NS_IF, "root", "tbf", "rate", rate, "burst", BURST, "latency", LATENCY);
            return l;
        } catch (IOException | RuntimeException e) {
            l.close();
            throw e;
        }
    }

    /** The command prefix that runs a program inside the namespace. */
    List<String> prefix() {
        return List.of("ip", "netns", "exec", NETNS);
    }

    String describe() {
        return "tc tbf rate " + rate + " burst " + BURST + " latency " + LATENCY + " on the server's veth inside netns " + NETNS;
    }

    /** The shaper's own counters (sent bytes, drops, overlimits), for the log. */
    void logStats() throws IOException, InterruptedException {
        Proc.run(List.of("ip", "netns", "exec", NETNS, "tc", "-s", "qdisc", "show", "dev", NS_IF), log, Duration.ofSeconds(10));
    }

    private void ip(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        cmd.addAll(List.of(args));
        Proc.check(cmd, log, Duration.ofSeconds(20));
    }

    private void inNs(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(prefix());
        cmd.addAll(List.of(args));
        Proc.check(cmd, log, Duration.ofSeconds(20));
    }

    /** Removes a namespace left by an earlier run that died (its veth pair goes with it). */
    static void deleteQuietly(Path log) throws IOException, InterruptedException {
        Proc.run(List.of("ip", "netns", "del", NETNS), log, Duration.ofSeconds(20));
        Proc.run(List.of("ip", "link", "del", HOST_IF), log, Duration.ofSeconds(20));
    }

    @Override
    public void close() throws IOException, InterruptedException {
        deleteQuietly(log);
    }
}
