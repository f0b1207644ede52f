package io.weightfs.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads a mount's {@code .weightfs/status.json}, the one interface wait and status use. */
final class MountStatus {
    private MountStatus() {}

    static Path statusFile(Path mountpoint) {
        return mountpoint.resolve(".weightfs").resolve("status.json");
    }

    static JsonObject read(Path mountpoint) throws IOException {
        Path f = statusFile(mountpoint);
        if (!Files.exists(f)) {
            throw new IOException(mountpoint + " is not a weightfs mount (no " + f + "); is the daemon running? (weightfs mount ...)");
        }
        try {
            return JsonParser.parseString(Files.readString(f, StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (RuntimeException e) {
            throw new IOException("cannot parse " + f + ": " + e.getMessage());
        }
    }
}
