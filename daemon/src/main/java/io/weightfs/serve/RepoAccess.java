package io.weightfs.serve;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;

/**
 * Who may read a repo, from its sidecar {@code .weightfs-repo.json}, for example
 * {@code {"private": true, "tokens": ["hf_abc"]}} or {@code {"gated": "manual", "tokens": ["hf_abc"]}}.
 *
 * @param isPrivate a private repo looks exactly like a missing one to anyone without a granted token
 * @param gated null when not gated, else {@code "auto"} or {@code "manual"}; a gated repo's
 *     metadata is public but its files and listings need a granted token
 * @param tokens the tokens granted this repo (server-wide tokens are granted every repo too)
 */
record RepoAccess(boolean isPrivate, String gated, Set<String> tokens) {
    static final String SIDECAR = ".weightfs-repo.json";
    static final RepoAccess PUBLIC = new RepoAccess(false, null, Set.of());

    RepoAccess {
        tokens = Set.copyOf(tokens);
        tokens.forEach(io.weightfs.config.Redactor::register); // never in this server's logs
        if (gated != null && !gated.equals("auto") && !gated.equals("manual")) {
            throw new IllegalArgumentException("gated must be false, \"auto\" or \"manual\", got '" + gated + "'");
        }
    }

    boolean restricted() {
        return isPrivate || gated != null;
    }

    /** The {@code gated} field of model info: false, "auto" or "manual". */
    JsonElement gatedJson() {
        return gated == null ? new JsonPrimitive(false) : new JsonPrimitive(gated);
    }

    /** Reads a repo's sidecar; a repo without one is public. */
    static RepoAccess read(Path repoDir) throws IOException {
        Path sidecar = repoDir.resolve(SIDECAR);
        if (!Files.isRegularFile(sidecar)) {
            return PUBLIC;
        }
        try {
            JsonElement root = JsonParser.parseString(Files.readString(sidecar, StandardCharsets.UTF_8));
            if (!root.isJsonObject()) {
                throw new IllegalArgumentException("want a JSON object");
            }
            JsonObject o = root.getAsJsonObject();
            boolean isPrivate = o.has("private") && o.get("private").getAsBoolean();
            String gated = null;
            JsonElement g = o.get("gated");
            if (g != null && !g.isJsonNull()) {
                JsonPrimitive p = g.getAsJsonPrimitive();
                if (p.isBoolean()) {
                    gated = p.getAsBoolean() ? "auto" : null;
                } else {
                    gated = p.getAsString().toLowerCase(Locale.ROOT);
                }
            }
            Set<String> tokens = new LinkedHashSet<>();
            JsonElement t = o.get("tokens");
            if (t != null && !t.isJsonNull()) {
                for (JsonElement e : t.getAsJsonArray()) {
                    String token = e.getAsString();
                    if (token.isBlank()) {
                        throw new IllegalArgumentException("empty token in \"tokens\"");
                    }
                    tokens.add(token);
                }
            }
            return new RepoAccess(isPrivate, gated, tokens);
        } catch (JsonParseException | IllegalStateException | UnsupportedOperationException | ClassCastException
                | IllegalArgumentException e) {
            throw new IOException("bad sidecar " + sidecar + ": " + e.getMessage()
                    + " (want e.g. {\"private\": true, \"tokens\": [\"hf_abc\"]} or {\"gated\": \"manual\", \"tokens\": [...]})", e);
        }
    }
}
