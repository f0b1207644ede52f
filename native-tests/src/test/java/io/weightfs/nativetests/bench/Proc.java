package io.weightfs.nativetests.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A child process whose output goes to a log file (never into this JVM's memory), with its stdout
 * lines also offered to {@link #awaitLine}. {@link #close()} ends it and its descendants.
 *
 * <p>Threads: one daemon pump thread per process, owned by this object, copies stdout to the log.
 */
final class Proc implements AutoCloseable {
    private final Process process;
    private final String name;
    private final Path log;
    private final long startNanos;
    private final long startWallMillis = System.currentTimeMillis();
    /** Stdout lines with the System.nanoTime at which the pump read them. */
    private final LinkedBlockingQueue<Line> lines = new LinkedBlockingQueue<>();

    record Line(long nanos, String text) {}
    private final Thread pump;

    private Proc(Process process, String name, Path log, long startNanos) {
        this.process = process;
        this.name = name;
        this.log = log;
        this.startNanos = startNanos;
        this.pump = Thread.ofPlatform().daemon(true).name("pump-" + name).start(this::pump);
    }

    /** Starts {@code cmd}; stderr is appended to {@code log}, stdout too (through the pump). */
    static Proc start(String name, List<String> cmd, Path log, Map<String, String> env) throws IOException {
        Files.createDirectories(log.getParent());
        Files.writeString(log, "$ " + String.join(" ", cmd) + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        // The benchmark never talks to the real Hub: the endpoint is always given, and no token travels.
        for (String k : List.of("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE")) {
            pb.environment().remove(k);
        }
        pb.environment().putAll(env);
        pb.redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        long t0 = System.nanoTime();
        return new Proc(pb.start(), name, log, t0);
    }

    /** Runs {@code cmd} to completion with all output to {@code log}; returns its exit status. */
    static int run(List<String> cmd, Path log, Duration timeout) throws IOException, InterruptedException {
        return run(cmd, Map.of(), log, timeout);
    }

    /** As above, with extra environment variables. */
    static int run(List<String> cmd, Map<String, String> env, Path log, Duration timeout) throws IOException, InterruptedException {
        Files.createDirectories(log.getParent());
        Files.writeString(log, "$ " + String.join(" ", cmd) + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            throw new IOException("'" + String.join(" ", cmd) + "' did not finish within " + timeout + "; see " + log);
        }
        return p.exitValue();
    }

    /** As {@link #run}, failing unless the exit status is 0. */
    static void check(List<String> cmd, Path log, Duration timeout) throws IOException, InterruptedException {
        check(cmd, Map.of(), log, timeout);
    }

    static void check(List<String> cmd, Map<String, String> env, Path log, Duration timeout) throws IOException, InterruptedException {
        int rc = run(cmd, env, log, timeout);
        if (rc != 0) {
            throw new IOException("'" + String.join(" ", cmd) + "' exited " + rc + "; see " + log + ":\n" + tail(log, 15));
        }
    }

    private void pump() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
                OutputStream out = Files.newOutputStream(log, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            String line;
            while ((line = r.readLine()) != null) {
                long seen = System.nanoTime();
                out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
                lines.add(new Line(seen, line));
            }
        } catch (IOException e) {
            // the process went away
        }
    }

    /** Waits for a stdout line matching {@code pattern}. */
    Matcher awaitLine(Pattern pattern, Duration timeout) throws IOException, InterruptedException {
        return awaitTimedLine(pattern, timeout).getValue();
    }

    /** As {@link #awaitLine}, with the System.nanoTime at which the line was read. */
    Map.Entry<Long, Matcher> awaitTimedLine(Pattern pattern, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            Line line = left > 0 ? lines.poll(Math.min(left, 200_000_000L), TimeUnit.NANOSECONDS) : null;
            if (line == null) {
                if (left <= 0 || !process.isAlive() && lines.isEmpty()) {
                    throw new IOException(name + " printed no line matching " + pattern + " within " + timeout
                            + (process.isAlive() ? "" : " (exited " + process.exitValue() + ")") + "; its log " + log
                            + " ends with:\n" + tail(log, 20));
                }
                continue;
            }
            Matcher m = pattern.matcher(line.text());
            if (m.find()) {
                return Map.entry(line.nanos(), m);
            }
        }
    }

    long pid() {
        return process.pid();
    }

    long startNanos() {
        return startNanos;
    }

    /**
     * Seconds from this process's start to the first log line matching {@code pattern}, read from
     * the HH:mm:ss.SSS timestamp weightfs's log lines start with; -1 if there is none.
     */
    double secondsToLogLine(Pattern pattern) {
        try {
            for (String l : Files.readAllLines(log, StandardCharsets.UTF_8)) {
                if (l.length() > 12 && l.charAt(2) == ':' && l.charAt(8) == '.' && pattern.matcher(l).find()) {
                    java.time.LocalTime t = java.time.LocalTime.parse(l.substring(0, 12));
                    java.time.ZonedDateTime start = java.time.Instant.ofEpochMilli(startWallMillis).atZone(java.time.ZoneId.systemDefault());
                    long ms = java.time.Duration.between(start.toLocalTime(), t).toMillis();
                    return ms / 1000.0;
                }
            }
        } catch (IOException | RuntimeException e) {
            // no such line
        }
        return -1;
    }

    /** CPU seconds (user + system) a live process has used so far; -1 if it is gone. */
    static double cpuSeconds(long pid) {
        return statTicks(Path.of("/proc/" + pid + "/stat"), 14, 15); // utime, stime
    }

    /** CPU seconds of this JVM's children that have exited and been waited for (curl, aria2c...). */
    static double childrenCpuSeconds() {
        return statTicks(Path.of("/proc/self/stat"), 16, 17); // cutime, cstime
    }

    /** The sum of two 1-based fields of a /proc/PID/stat line, in seconds. */
    private static double statTicks(Path stat, int fieldA, int fieldB) {
        try {
            String s = Files.readString(stat);
            // Fields after the command name, which is in parentheses and may hold blanks.
            String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
            // f[0] is field 3 (state): field n is f[n - 3].
            return (Long.parseLong(f[fieldA - 3]) + Long.parseLong(f[fieldB - 3])) / (double) CLOCK_TICKS;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** USER_HZ: 100 on every Linux this runs on (sysconf(_SC_CLK_TCK)). */
    private static final int CLOCK_TICKS = 100;

    Path log() {
        return log;
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** The exit status, or -1 while it runs. */
    int exitStatus() {
        return process.isAlive() ? -1 : process.exitValue();
    }

    boolean waitFor(Duration timeout) throws InterruptedException {
        return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The first pid among this process and its descendants whose command line contains {@code marker}. */
    long pidOf(String marker) {
        if (cmdline(process.pid()).contains(marker)) {
            return process.pid();
        }
        return process.descendants().filter(h -> cmdline(h.pid()).contains(marker)).mapToLong(ProcessHandle::pid)
                .findFirst().orElse(process.pid());
    }

    static String cmdlineOf(long pid) {
        return cmdline(pid);
    }

    private static String cmdline(long pid) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline")), StandardCharsets.UTF_8).replace('\0', ' ');
        } catch (IOException e) {
            return "";
        }
    }

    /** Peak resident set size ({@code VmHWM}) of a live process, in bytes; -1 if it is gone. */
    static long peakRss(long pid) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (l.startsWith("VmHWM:")) {
                    return Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // gone
        }
        return -1;
    }

    /** SIGTERM to the process and its descendants, then SIGKILL to whatever is left after 10 s. */
    @Override
    public void close() throws InterruptedException {
        List<ProcessHandle> kids = process.descendants().toList();
        process.destroy();
        kids.forEach(ProcessHandle::destroy);
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        kids.forEach(ProcessHandle::destroyForcibly);
        pump.join(2_000);
    }

    static String tail(Path log, int n) {
        try {
            List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - n), all.size()));
        } catch (IOException e) {
            return "(cannot read " + log + ": " + e + ")";
        }
    }
}
