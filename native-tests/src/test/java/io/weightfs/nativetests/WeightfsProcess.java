package io.weightfs.nativetests;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The real {@code weightfs} jar run as a separate process, as a user runs it. Output of both
 * streams is collected (for assertions and for failure messages); every wait is bounded, and
 * {@link #close()} kills the process tree.
 */
final class WeightfsProcess implements AutoCloseable {
    private final Process process;
    private final StringBuffer stdout = new StringBuffer();
    private final StringBuffer stderr = new StringBuffer();
    private final LinkedBlockingQueue<String> stdoutLines = new LinkedBlockingQueue<>();
    private final List<Thread> pumps = new ArrayList<>();
    private final String commandLine;

    private WeightfsProcess(Process process, String commandLine) {
        this.process = process;
        this.commandLine = commandLine;
        pumps.add(pump(process.getInputStream(), stdout, stdoutLines));
        pumps.add(pump(process.getErrorStream(), stderr, null));
    }

    static Path jar() {
        String jar = System.getProperty("weightfs.jar");
        if (jar == null || !Files.isRegularFile(Path.of(jar))) {
            throw new IllegalStateException("weightfs.jar not found at '" + jar + "': build mount-cli first (mvn install -DskipTests)");
        }
        return Path.of(jar);
    }

    static String java() {
        String java = System.getProperty("weightfs.java");
        return java != null ? java : Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** Starts {@code weightfs <args>} with extra environment variables. */
    static WeightfsProcess start(Map<String, String> env, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(java(), "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", "-Djava.library.path=/usr/lib/x86_64-linux-gnu", "-XX:+UseSerialGC",
                "-Xmx512m", "-jar", jar().toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        // A test must never reach the real Hub: the endpoint is always given, and offline wins otherwise.
        pb.environment().remove("HF_TOKEN");
        pb.environment().remove("HUGGING_FACE_HUB_TOKEN");
        pb.environment().put("HF_HOME", System.getProperty("java.io.tmpdir") + "/weightfs-test-no-hf-home");
        pb.environment().putIfAbsent("HF_ENDPOINT", "http://127.0.0.1:9");
        pb.environment().putAll(env);
        return new WeightfsProcess(pb.start(), String.join(" ", args));
    }

    /** Runs {@code weightfs <args>} to completion (bounded) and returns its result. */
    static Result run(Duration timeout, Map<String, String> env, String... args) throws IOException, InterruptedException {
        try (WeightfsProcess p = start(env, args)) {
            int exit = p.waitFor(timeout);
            return new Result(exit, p.stdout(), p.stderr());
        }
    }

    record Result(int exit, String stdout, String stderr) {
        String all() {
            return stdout + stderr;
        }
    }

    /** Waits for a stdout line matching {@code pattern}; fails with the output so far if it does not come. */
    Matcher awaitLine(Pattern pattern, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            String line = left > 0 ? stdoutLines.poll(left, TimeUnit.NANOSECONDS) : null;
            if (line == null) {
                throw new AssertionError("'weightfs " + commandLine + "' printed no line matching " + pattern + " within "
                        + timeout + (process.isAlive() ? "" : " (exited " + process.exitValue() + ")")
                        + "\nstdout:\n" + stdout + "\nstderr:\n" + stderr);
            }
            Matcher m = pattern.matcher(line);
            if (m.find()) {
                return m;
            }
        }
    }

    int waitFor(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("'weightfs " + commandLine + "' did not finish within " + timeout
                    + "\nstdout:\n" + stdout + "\nstderr:\n" + stderr);
        }
        for (Thread t : pumps) {
            t.join(5_000);
        }
        return process.exitValue();
    }

    long pid() {
        return process.pid();
    }

    Process process() {
        return process;
    }

    String stdout() {
        return stdout.toString();
    }

    String stderr() {
        return stderr.toString();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        }
        for (Thread t : pumps) {
            t.join(5_000);
        }
    }

    private static Thread pump(InputStream in, StringBuffer sink, LinkedBlockingQueue<String> lines) {
        return Thread.ofPlatform().daemon(true).start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    sink.append(line).append('\n');
                    if (lines != null) {
                        lines.add(line);
                    }
                }
            } catch (IOException e) {
                // the process went away
            }
        });
    }
}
