package io.weightfs.serve;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Which refs a served repo has, from its sidecar {@code .weightfs-refs.json}; each ref is a folder
 * of the repo directory whose files are that ref's snapshot:
 *
 * <pre>{@code
 * {
 *   "branches":      {"main": ".", "dev": "branches/dev"},
 *   "tags":          {"v1.0": "snapshots/v1.0"},
 *   "pull_requests": {"1": "prs/1"}
 * }
 * }</pre>
 *
 * <p>A folder is relative to the repo directory; {@code "."} is the directory itself, less every
 * other ref's folder below it (so {@code branches/dev} is not also part of {@code main}). Several
 * refs may name the same folder (a tag on a branch's head): they resolve to the same commit. A repo
 * without the sidecar has the one branch {@code main} at {@code "."}; {@code main} is always there
 * ({@code "."} unless the sidecar says otherwise). Pull requests are {@code refs/pr/<N>}, as on the
 * Hub; a folder can be a copy of a Hugging Face cache snapshot, links and all.
 *
 * @param refs full ref name ({@code refs/heads/main}, {@code refs/tags/v1.0}, {@code refs/pr/1})
 *     to the folder, relative and normalised ({@code ""} for the repo directory itself), in file order
 */
record RepoRefs(Map<String, String> refs) {
    static final String SIDECAR = ".weightfs-refs.json";
    static final String HEADS = "refs/heads/";
    static final String TAGS = "refs/tags/";
    static final String PULLS = "refs/pr/";
    static final String MAIN = HEADS + "main";
    static final RepoRefs MAIN_ONLY = new RepoRefs(Map.of(MAIN, ""));
    /** git's rules for a ref name, narrowed: no spaces, control characters, {@code ..}, {@code ~^:?*[\}. */
    private static final Pattern REF_NAME = Pattern.compile("(?!.*\\.\\.)(?!.*//)(?!/)(?!.*/$)(?!.*\\.lock$)[^\\s~^:?*\\[\\\\\\x00-\\x1f\\x7f]+");
    private static final Pattern PR_NUMBER = Pattern.compile("[1-9][0-9]{0,8}");

    RepoRefs {
        refs = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(refs));
    }

    /** The distinct folders, in first-mention order. */
    Set<String> folders() {
        return new LinkedHashSet<>(refs.values());
    }

    static RepoRefs read(Path repoDir) throws IOException {
        Path sidecar = repoDir.resolve(SIDECAR);
        if (!Files.isRegularFile(sidecar)) {
            return MAIN_ONLY;
        }
        try {
            JsonElement root = JsonParser.parseString(Files.readString(sidecar, StandardCharsets.UTF_8));
            if (!root.isJsonObject()) {
                throw new IllegalArgumentException("want a JSON object");
            }
            JsonObject o = root.getAsJsonObject();
            for (String key : o.keySet()) {
                if (!key.equals("branches") && !key.equals("tags") && !key.equals("pull_requests")) {
                    throw new IllegalArgumentException("unknown key \"" + key + "\" (allowed: branches, tags, pull_requests)");
                }
            }
            Map<String, String> refs = new LinkedHashMap<>();
            refs.put(MAIN, "");
            section(o, "branches", HEADS, refs, repoDir);
            section(o, "tags", TAGS, refs, repoDir);
            section(o, "pull_requests", PULLS, refs, repoDir);
            return new RepoRefs(refs);
        } catch (JsonParseException | IllegalStateException | UnsupportedOperationException | ClassCastException
                | IllegalArgumentException e) {
            throw new IOException("bad sidecar " + sidecar + ": " + e.getMessage()
                    + " (want e.g. {\"branches\": {\"main\": \".\", \"dev\": \"dev\"}, \"tags\": {\"v1\": \"v1\"},"
                    + " \"pull_requests\": {\"1\": \"pr1\"}}, each value a folder of the repo)", e);
        }
    }

    private static void section(JsonObject o, String key, String prefix, Map<String, String> refs, Path repoDir) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            return;
        }
        if (!e.isJsonObject()) {
            throw new IllegalArgumentException("\"" + key + "\" must map names to folders");
        }
        for (Map.Entry<String, JsonElement> ref : e.getAsJsonObject().entrySet()) {
            String name = ref.getKey();
            if (prefix.equals(PULLS) ? !PR_NUMBER.matcher(name).matches() : !REF_NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("\"" + key + "\": '" + name + "' is not a valid "
                        + (prefix.equals(PULLS) ? "pull request number (1, 2, ...)" : "ref name"));
            }
            if (!ref.getValue().isJsonPrimitive() || !ref.getValue().getAsJsonPrimitive().isString()) {
                throw new IllegalArgumentException("\"" + key + "\": the folder of '" + name + "' must be a string");
            }
            String folder = normalise(ref.getValue().getAsString(), key + "." + name);
            if (!folder.isEmpty() && !Files.isDirectory(repoDir.resolve(folder))) {
                throw new IllegalArgumentException("\"" + key + "\": folder '" + folder + "' of '" + name
                        + "' does not exist in " + repoDir);
            }
            refs.put(prefix + name, folder);
        }
    }

    /** A folder relative to the repo, without {@code .} segments; refuses absolute paths and {@code ..}. */
    private static String normalise(String raw, String what) {
        if (raw.startsWith("/") || raw.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(what + ": '" + raw + "' must be a folder relative to the repo directory");
        }
        Deque<String> parts = new ArrayDeque<>();
        for (String seg : raw.split("/")) {
            if (seg.isEmpty() || seg.equals(".")) {
                continue;
            }
            if (seg.equals("..") || seg.equals(".git")) {
                throw new IllegalArgumentException(what + ": '" + raw + "' may not contain '" + seg + "'");
            }
            parts.add(seg);
        }
        return String.join("/", parts);
    }
}
