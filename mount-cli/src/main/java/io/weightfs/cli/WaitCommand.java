package io.weightfs.cli;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code weightfs wait}: blocks until every file of a mount is local and verified. */
@Command(name = "wait", mixinStandardHelpOptions = true, description = {
    "Block until every file of the mount is local and verified, with progress. Exit status 0 when",
    "complete, 1 when a file failed (named), 3 on timeout. Reading MOUNTPOINT/.weightfs/wait does the",
    "same from any language."
})
final class WaitCommand implements Callable<Integer> {
    static final int EXIT_TIMEOUT = 3;
    /** Often enough to look live; a status render walks every file, so not much more often. */
    private static final long POLL_MILLIS = 250;

    @Parameters(index = "0", paramLabel = "MOUNTPOINT")
    Path mountpoint;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = Durations.class,
            description = "Give up after this long (e.g. 10m); default: wait as long as it takes.")
    Duration timeout;

    @Option(names = "--progress", paramLabel = "MODE", defaultValue = "auto",
            description = "auto (a bar on a terminal, a line every 5 s otherwise), bar, lines or none.")
    String progressMode;

    @Override
    public Integer call() throws Exception {
        PrintStream err = System.err;
        boolean terminal = switch (progressMode) {
            case "bar" -> true;
            case "lines", "none" -> false;
            default -> ProgressPrinter.stderrIsTerminal();
        };
        long start = System.nanoTime();
        long lastLine = 0;
        long lastBytes = -1;
        long lastNanos = start;
        double rate = 0;
        while (true) {
            JsonObject s;
            try {
                s = MountStatus.read(mountpoint);
            } catch (IOException e) {
                err.println("weightfs wait: " + e.getMessage());
                return Main.EXIT_FAILED;
            }
            long now = System.nanoTime();
            long present = s.get("bytesPresent").getAsLong();
            if (lastBytes >= 0 && now > lastNanos) {
                double instant = (present - lastBytes) / ((now - lastNanos) / 1e9);
                rate = rate == 0 ? instant : 0.7 * rate + 0.3 * instant;
            }
            lastBytes = present;
            lastNanos = now;
            String line = progress(s, rate);
            if (!progressMode.equals("none")) {
                if (terminal) {
                    err.print("\r" + line + "\u001b[K");
                } else if (now - lastLine > 5_000_000_000L) {
                    err.println("progress: " + line);
                    lastLine = now;
                }
            }
            if (s.get("done").getAsBoolean()) {
                if (terminal) {
                    err.println();
                }
                if (s.getAsJsonArray("failed").isEmpty()) {
                    err.printf("weightfs wait: complete: %d files, %s, all verified%n",
                            s.get("files").getAsInt(), Sizes.format(s.get("bytes").getAsLong()));
                    return 0;
                }
                err.println("weightfs wait: these files FAILED:");
                for (JsonElement f : s.getAsJsonArray("fileStatus")) {
                    JsonObject o = f.getAsJsonObject();
                    if (o.has("error")) {
                        err.println("  " + o.get("path").getAsString() + ": " + o.get("error").getAsString());
                    }
                }
                return Main.EXIT_FAILED;
            }
            if (s.has("stalled")) {
                if (terminal) {
                    err.println();
                }
                err.println("weightfs wait: " + s.get("stalled").getAsString());
                return Main.EXIT_FAILED;
            }
            if (timeout != null && now - start > timeout.toNanos()) {
                if (terminal) {
                    err.println();
                }
                err.println("weightfs wait: timed out after " + timeout.toSeconds() + " s at " + line
                        + (s.has("problem") ? " (" + s.get("problem").getAsString() + ")" : ""));
                return EXIT_TIMEOUT;
            }
            Thread.sleep(POLL_MILLIS);
        }
    }

    static String progress(JsonObject s, double rate) {
        long bytes = s.get("bytes").getAsLong();
        long present = s.get("bytesPresent").getAsLong();
        double frac = bytes == 0 ? 1 : (double) present / bytes;
        int width = 30;
        int filled = (int) Math.round(Math.min(1, frac) * width);
        return String.format(Locale.ROOT, "[%s%s] %3.0f%% %s / %s, %.0f MB/s, %d/%d files verified",
                "#".repeat(filled), ".".repeat(width - filled), frac * 100, Sizes.format(present), Sizes.format(bytes),
                rate / 1e6, s.get("filesVerified").getAsInt(), s.get("files").getAsInt());
    }
}
