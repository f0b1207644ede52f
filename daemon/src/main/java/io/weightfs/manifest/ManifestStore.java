package io.weightfs.manifest;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.weightfs.config.RepoType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Manifests on disk, one JSON file per repo@commit, plus the last commit each branch resolved to:
 * <pre>
 *   &lt;dir&gt;/&lt;org&gt;--&lt;name&gt;/&lt;commit&gt;.json
 *   &lt;dir&gt;/&lt;org&gt;--&lt;name&gt;/refs/&lt;revision, percent-encoded&gt;     the commit, no newline
 *   &lt;dir&gt;/datasets--&lt;org&gt;--&lt;name&gt;/...                            the same for a dataset repo
 * </pre>
 * Every write goes to a temporary file and is renamed into place, so a crash never leaves a torn
 * manifest. A file that fails validation is reported and ignored, never guessed at.
 *
 * <p>Thread-safe: writes are atomic renames; two writers of the same manifest write the same bytes.
 */
public final class ManifestStore {
    private static final Logger LOG = LoggerFactory.getLogger(ManifestStore.class);
    /** Bumped when the JSON shape changes; files of another version are ignored and refetched. */
    static final int FORMAT_VERSION = 1;
    private static final String MAGIC = "weightfs-manifest";

    private final Path dir;

    public ManifestStore(Path dir) {
        this.dir = dir;
    }

    public Path dir() {
        return dir;
    }

    /** The stored manifest of model repo@commit, if present and valid. */
    public Optional<Manifest> load(String repoId, String commit) {
        return load(RepoType.MODEL, repoId, commit);
    }

    /** The stored manifest of repo@commit, if present and valid. */
    public Optional<Manifest> load(RepoType type, String repoId, String commit) {
        Path file = repoDir(type, repoId).resolve(commit + ".json");
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            LOG.warn("cannot read manifest {}: {}; it will be fetched again", file, e.toString());
            return Optional.empty();
        }
        try {
            Manifest m = fromJson(text);
            if (!m.repoId().equals(repoId) || !m.commit().equals(commit) || m.repoType() != type) {
                throw new IllegalArgumentException("it describes " + m.repoType().qualify(m.repoId()) + "@" + m.commit());
            }
            return Optional.of(m);
        } catch (RuntimeException e) {
            LOG.warn("ignoring invalid manifest {} ({}); it will be fetched again", file, e.getMessage());
            return Optional.empty();
        }
    }

    /**
     * When repo@commit was first pinned here (the manifest file's mtime): a stable modification
     * time for the files of that commit, the same after every restart.
     */
    public Optional<java.time.Instant> pinnedAt(String repoId, String commit) {
        // A commit names one repo's snapshot: whichever type's folder holds it is the one.
        return pinnedAt(RepoType.MODEL, repoId, commit).or(() -> pinnedAt(RepoType.DATASET, repoId, commit));
    }

    public Optional<java.time.Instant> pinnedAt(RepoType type, String repoId, String commit) {
        try {
            return Optional.of(Files.getLastModifiedTime(repoDir(type, repoId).resolve(commit + ".json")).toInstant());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The commit a branch or tag resolved to last time, if recorded. */
    public Optional<String> loadRef(String repoId, String revision) {
        return loadRef(RepoType.MODEL, repoId, revision);
    }

    public Optional<String> loadRef(RepoType type, String repoId, String revision) {
        Path file = refFile(type, repoId, revision);
        try {
            String commit = Files.readString(file, StandardCharsets.US_ASCII).strip();
            return Manifest.isCommit(commit) ? Optional.of(commit) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    public void save(Manifest m) throws IOException {
        writeAtomically(repoDir(m.repoType(), m.repoId()).resolve(m.commit() + ".json"), toJson(m));
        if (!m.revision().equals(m.commit())) {
            writeAtomically(refFile(m.repoType(), m.repoId(), m.revision()), m.commit());
        }
    }

    /** {@code org--name} for a model (as always), {@code datasets--org--name} for a dataset. */
    private Path repoDir(RepoType type, String repoId) {
        return dir.resolve(type.qualify(repoId).replace("/", "--"));
    }

    private Path refFile(RepoType type, String repoId, String revision) {
        return repoDir(type, repoId).resolve("refs").resolve(java.net.URLEncoder.encode(revision, StandardCharsets.UTF_8));
    }

    /**
     * Writes to a sibling temporary file, syncs it, and renames it over {@code target}: readers see
     * the old content or the new, never a torn file. Shared by every small JSON file weightfs keeps.
     */
    public static void writeAtomically(Path target, String content) throws IOException {
        Files.createDirectories(target.getParent());
        Path tmp = target.resolveSibling("." + target.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
        try {
            try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.CREATE_NEW,
                    java.nio.file.StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.wrap(content.getBytes(StandardCharsets.UTF_8)));
                ch.force(true);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    static String toJson(Manifest m) {
        JsonObject o = new JsonObject();
        o.addProperty("format", MAGIC);
        o.addProperty("version", FORMAT_VERSION);
        o.addProperty("repoId", m.repoId());
        if (m.repoType() != RepoType.MODEL) {
            // Absent means a model: the files written before datasets existed stay valid.
            o.addProperty("repoType", m.repoType().singular());
        }
        o.addProperty("revision", m.revision());
        o.addProperty("commit", m.commit());
        JsonArray files = new JsonArray();
        for (ManifestFile f : m.files()) {
            JsonObject fo = new JsonObject();
            fo.addProperty("path", f.path());
            fo.addProperty("size", f.size());
            fo.addProperty("hash", f.hash().toString());
            files.add(fo);
        }
        o.add("files", files);
        return o.toString();
    }

    static Manifest fromJson(String text) {
        JsonObject o;
        try {
            o = JsonParser.parseString(text).getAsJsonObject();
        } catch (JsonParseException | IllegalStateException e) {
            throw new IllegalArgumentException("not a JSON object");
        }
        if (!MAGIC.equals(str(o, "format"))) {
            throw new IllegalArgumentException("not a weightfs manifest (format is '" + str(o, "format") + "')");
        }
        JsonElement v = o.get("version");
        if (v == null || v.getAsInt() != FORMAT_VERSION) {
            throw new IllegalArgumentException("manifest version " + v + ", this build reads " + FORMAT_VERSION);
        }
        List<ManifestFile> files = new ArrayList<>();
        for (JsonElement e : o.getAsJsonArray("files")) {
            JsonObject fo = e.getAsJsonObject();
            files.add(new ManifestFile(str(fo, "path"), fo.get("size").getAsLong(), ContentHash.parse(str(fo, "hash"))));
        }
        RepoType type = RepoType.MODEL;
        if (o.has("repoType")) {
            type = RepoType.parse(str(o, "repoType"))
                    .orElseThrow(() -> new IllegalArgumentException("unknown repoType '" + str(o, "repoType") + "'"));
        }
        return new Manifest(str(o, "repoId"), str(o, "revision"), str(o, "commit"), files, type);
    }

    private static String str(JsonObject o, String key) {
        JsonElement e = o.get(key);
        if (e == null || !e.isJsonPrimitive()) {
            throw new IllegalArgumentException("missing field '" + key + "'");
        }
        return e.getAsString();
    }
}
