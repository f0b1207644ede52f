package io.weightfs.fetch;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Access profiles on disk: {@code <dir>/<org>--<name>/<commit>.json}, written to a temporary file and
 * renamed into place. A file that fails validation is ignored (and the default order used), never
 * guessed at.
 */
public final class ProfileStore {
    private static final Logger LOG = LoggerFactory.getLogger(ProfileStore.class);
    private static final String MAGIC = "weightfs-profile";
    private static final int VERSION = 1;

    private final Path dir;

    public ProfileStore(Path dir) {
        this.dir = dir;
    }

    private Path file(String repoId, String commit) {
        return dir.resolve(repoId.replace("/", "--")).resolve(commit + ".json");
    }

    public Optional<AccessProfile> load(String repoId, String commit) {
        Path f = file(repoId, commit);
        try {
            JsonObject o = JsonParser.parseString(Files.readString(f, StandardCharsets.UTF_8)).getAsJsonObject();
            if (!MAGIC.equals(o.get("format").getAsString()) || o.get("version").getAsInt() != VERSION
                    || !repoId.equals(o.get("repoId").getAsString()) || !commit.equals(o.get("commit").getAsString())) {
                throw new IllegalArgumentException("not a version " + VERSION + " profile of " + repoId + "@" + commit);
            }
            List<AccessProfile.Read> reads = new ArrayList<>();
            for (JsonElement e : o.getAsJsonArray("reads")) {
                JsonArray a = e.getAsJsonArray();
                reads.add(new AccessProfile.Read(a.get(0).getAsString(), a.get(1).getAsLong()));
            }
            return Optional.of(new AccessProfile(repoId, commit, reads));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            LOG.warn("ignoring access profile {}: {}", f, e.getMessage());
            return Optional.empty();
        }
    }

    public void save(AccessProfile p) throws IOException {
        JsonObject o = new JsonObject();
        o.addProperty("format", MAGIC);
        o.addProperty("version", VERSION);
        o.addProperty("repoId", p.repoId());
        o.addProperty("commit", p.commit());
        JsonArray reads = new JsonArray();
        for (AccessProfile.Read r : p.reads()) {
            JsonArray a = new JsonArray();
            a.add(r.path());
            a.add(r.offset());
            reads.add(a);
        }
        o.add("reads", reads);
        io.weightfs.manifest.ManifestStore.writeAtomically(file(p.repoId(), p.commit()), o.toString());
    }
}
