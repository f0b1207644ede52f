package io.weightfs.cli;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code weightfs status}: a mount's progress as a table. */
@Command(name = "status", mixinStandardHelpOptions = true, description = "Show a mount's per-file and total progress, sources and errors.")
final class StatusCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MOUNTPOINT")
    Path mountpoint;

    @Option(names = "--json", description = "Print status.json as it is.")
    boolean json;

    @Override
    public Integer call() {
        PrintStream out = System.out;
        JsonObject s;
        try {
            s = MountStatus.read(mountpoint);
        } catch (IOException e) {
            System.err.println("weightfs status: " + e.getMessage());
            return Main.EXIT_FAILED;
        }
        if (json) {
            out.println(s);
            return 0;
        }
        int pathWidth = 20;
        for (JsonElement f : s.getAsJsonArray("fileStatus")) {
            pathWidth = Math.max(pathWidth, f.getAsJsonObject().get("path").getAsString().length());
        }
        pathWidth = Math.min(pathWidth, 80);
        String fmt = "%-" + pathWidth + "s  %10s  %6s  %-8s  %s%n";
        out.printf(fmt, "FILE", "SIZE", "LOCAL", "STATE", "");
        for (JsonElement f : s.getAsJsonArray("fileStatus")) {
            JsonObject o = f.getAsJsonObject();
            long size = o.get("size").getAsLong();
            long present = o.get("present").getAsLong();
            String state = o.has("error") ? "FAILED" : o.get("verified").getAsBoolean() ? "verified" : present > 0 ? "partial" : "remote";
            out.printf(fmt, o.get("path").getAsString(), Sizes.format(size),
                    size == 0 ? "100%" : String.format(Locale.ROOT, "%.0f%%", 100.0 * present / size), state,
                    o.has("error") ? o.get("error").getAsString() : "");
        }
        JsonObject errors = s.getAsJsonObject("errors");
        out.printf("%ntotal: %d/%d files verified, %s of %s local, %s fetched (hub) in %.1f s, average %s%n",
                s.get("filesVerified").getAsInt(), s.get("files").getAsInt(), Sizes.format(s.get("bytesPresent").getAsLong()),
                Sizes.format(s.get("bytes").getAsLong()), Sizes.format(s.get("bytesFetched").getAsLong()),
                s.get("elapsedMillis").getAsLong() / 1000.0, Sizes.rate(s.get("bytesFetched").getAsLong(),
                        s.get("elapsedMillis").getAsLong() * 1_000_000));
        out.printf("state: %s; errors: %d fetch failures, %d hash mismatches, %d CRC mismatches%n",
                s.get("complete").getAsBoolean() ? "complete" : s.get("done").getAsBoolean() ? "done with failures" : "filling",
                errors.get("fetchFailures").getAsLong(), errors.get("hashMismatches").getAsLong(), errors.get("crcMismatches").getAsLong());
        StringBuilder profiles = new StringBuilder();
        if (s.has("profiles")) {
            for (JsonElement p : s.getAsJsonArray("profiles")) {
                JsonObject o = p.getAsJsonObject();
                profiles.append(profiles.isEmpty() ? "" : ", ").append(o.get("repo").getAsString()).append(" (")
                        .append(o.get("blocks").getAsInt()).append(" blocks)");
            }
        }
        out.printf("scheduler: %s, %d background connections, %d reads served by read-through; access profile used: %s%n",
                s.has("scheduler") ? s.get("scheduler").getAsString() : "?", s.has("connections") ? s.get("connections").getAsInt() : 0,
                s.has("readThroughs") ? s.get("readThroughs").getAsLong() : 0, profiles.isEmpty() ? "none" : profiles);
        return 0;
    }
}
