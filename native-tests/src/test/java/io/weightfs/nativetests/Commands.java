package io.weightfs.nativetests;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs programs other than weightfs (python, node, npm) for the native tests: bounded, output kept. */
final class Commands {
    private Commands() {}

    record Result(int exit, String stdout, String stderr) {
        /** The last non-empty line of stdout (where the drivers print their JSON). */
        String lastLine() {
            String[] lines = stdout.strip().split("\n");
            return lines[lines.length - 1];
        }
    }

    /** Runs {@code command} in {@code dir} with {@code env} added; fails the test unless it exits 0 within {@code timeout}. */
    static Result run(List<String> command, Path dir, Map<String, String> env, Duration timeout, String what) throws Exception {
        Result r = runAllowingFailure(command, dir, env, timeout, what);
        if (r.exit() != 0) {
            fail(what + ": exit " + r.exit() + "\nstdout:\n" + r.stdout() + "\nstderr:\n" + r.stderr());
        }
        return r;
    }

    /** Like {@link #run} but returns a non-zero exit instead of failing; a timeout still fails. */
    static Result runAllowingFailure(List<String> command, Path dir, Map<String, String> env, Duration timeout, String what)
            throws Exception {
        Path out = Files.createTempFile("weightfs-cmd", ".out");
        Path err = Files.createTempFile("weightfs-cmd", ".err");
        try {
            ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile())
                    .redirectOutput(out.toFile()).redirectError(err.toFile());
            // A test must never reach the real Hub, nor pick up a developer's token.
            pb.environment().remove("HF_TOKEN");
            pb.environment().remove("HUGGING_FACE_HUB_TOKEN");
            pb.environment().put("HF_HUB_DISABLE_TELEMETRY", "1");
            pb.environment().putIfAbsent("HF_ENDPOINT", "http://127.0.0.1:9");
            pb.environment().putAll(env);
            Process p = pb.start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                fail(what + ": did not finish within " + timeout + "\nstdout:\n" + Files.readString(out)
                        + "\nstderr:\n" + Files.readString(err));
            }
            return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** The program's path if it is on {@code PATH}, else null. */
    static Path onPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) {
            return null;
        }
        for (String dir : path.split(File.pathSeparator)) {
            Path candidate = Path.of(dir, program);
            if (Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        return null;
    }

    /**
     * Whether a tool the suite needs is there; in CI (where {@code ./test.sh} installs it) its
     * absence fails the test, elsewhere the test is skipped visibly.
     */
    static boolean require(boolean present, String testName, String what) {
        if (!present && System.getenv("CI") != null) {
            throw new AssertionError(what + " although ./test.sh installs it (CI is set)");
        }
        if (!present) {
            System.err.println("SKIPPED " + testName + ": " + what + "; ./test.sh installs it");
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(present, what);
        return true;
    }
}
