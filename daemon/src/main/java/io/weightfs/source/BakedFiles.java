package io.weightfs.source;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.weightfs.config.RepoEntry;
import io.weightfs.config.RepoType;
import io.weightfs.manifest.ContentHash;
import io.weightfs.manifest.ContentHasher;
import io.weightfs.manifest.ManifestFile;
import io.weightfs.manifest.ManifestStore;
import io.weightfs.manifest.ResolvedEntry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The files {@code weightfs bake} leaves at build time for the entries marked {@code use_volume:
 * false}, and the one place that reads and writes that layout:
 * <pre>
 *   DEST/&lt;volume_folder&gt;/&lt;repo path&gt;                     the verified files, as weightfs fetch writes them
 *   DEST/.weightfs-baked/baked.json                        which entries were baked at which commit
 *   DEST/.weightfs-baked/manifests/...                     their manifests (a {@link ManifestStore})
 *   DEST/.weightfs-baked/blocks/&lt;sha256|sha1&gt;/&lt;hex&gt;.blocks  each file's per-block sha256 ({@link BlockList})
 * </pre>
 * At run time a mount given the directory resolves a baked entry from its manifests with no Hub,
 * and reads its files through {@link BakedSource}, which checks every block against the file's block
 * list before handing out a byte of it. The node store then verifies each whole blob against the
 * manifest's hash, as for bytes from anywhere else. A file that is missing, of the wrong size or
 * with a block that does not match is never served from here: its bytes come from the next tier
 * (the Hub), or the read fails if there is none.
 *
 * <p>{@code baked.json} carries a magic and a version and is validated, never guessed at.
 */
public final class BakedFiles {
    /** The hidden folder beside the baked volume folders. */
    public static final String DIR = ".weightfs-baked";
    private static final String MAGIC = "weightfs-baked";
    private static final int FORMAT_VERSION = 1;
    /** Block size of the lists: the node store's default block, the unit the fetcher asks for. */
    public static final int BLOCK_SIZE = 8 << 20;
    private static final int READ_BUFFER = 8 << 20;

    /** One baked entry: which repo at which commit, under which folder of DEST. */
    public record Entry(RepoType repoType, String repoId, String revision, String commit, String folder, int files, long bytes) {
        boolean matches(RepoEntry e) {
            return e.repoType() == repoType && e.repoId().equals(repoId) && e.revision().equals(revision) && e.folder().equals(folder);
        }
    }

    private final Path dest;
    private final List<Entry> entries;

    private BakedFiles(Path dest, List<Entry> entries) {
        this.dest = dest;
        this.entries = List.copyOf(entries);
    }

    public Path dest() {
        return dest;
    }

    public List<Entry> entries() {
        return entries;
    }

    /** The baked manifests: resolve a baked entry's commit from here, with no Hub. */
    public ManifestStore manifests() {
        return new ManifestStore(dest.resolve(DIR).resolve("manifests"));
    }

    /** Where {@code weightfs bake} keeps its manifests while it resolves (the same folder). */
    public static ManifestStore manifestsAt(Path dest) {
        return new ManifestStore(dest.resolve(DIR).resolve("manifests"));
    }

    /** The baked entry that a config entry names (same repo, revision and folder), if it was baked. */
    public Optional<Entry> find(RepoEntry e) {
        return entries.stream().filter(b -> b.matches(e)).findFirst();
    }

    /** The baked copy of one file of an entry. */
    public Path fileOf(String folder, ManifestFile f) {
        return dest.resolve(folder).resolve(f.path());
    }

    Path blockListOf(ContentHash h) {
        return dest.resolve(DIR).resolve("blocks").resolve(h.algorithm().label()).resolve(h.hex() + ".blocks");
    }

    /** The block list of a baked blob of {@code size} bytes; throws if it is missing or does not fit. */
    BlockList blockList(ContentHash h, long size) throws IOException {
        return BlockList.decode(Files.readAllBytes(blockListOf(h)), size);
    }

    /**
     * Reads {@code DEST/.weightfs-baked/baked.json}.
     *
     * @throws IOException naming the file and what is wrong with it (absent, not ours, another version)
     */
    public static BakedFiles open(Path dest) throws IOException {
        Path file = dest.resolve(DIR).resolve("baked.json");
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new IOException(dest + " holds no baked weights (no " + file + "); bake them with: weightfs bake --config CONFIG --dest " + dest);
        }
        try {
            JsonObject o = JsonParser.parseString(text).getAsJsonObject();
            if (!MAGIC.equals(o.get("format").getAsString())) {
                throw new IOException(file + " is not a weightfs baked-weights file");
            }
            int version = o.get("version").getAsInt();
            if (version != FORMAT_VERSION) {
                throw new IOException(file + " has format version " + version + ", this weightfs reads " + FORMAT_VERSION
                        + "; bake again with this weightfs");
            }
            List<Entry> entries = new ArrayList<>();
            for (JsonElement el : o.getAsJsonArray("entries")) {
                JsonObject e = el.getAsJsonObject();
                RepoType type = RepoType.parse(e.get("repo_type").getAsString())
                        .orElseThrow(() -> new IOException(file + ": unknown repo_type " + e.get("repo_type")));
                entries.add(new Entry(type, e.get("repo_id").getAsString(), e.get("revision").getAsString(), e.get("commit").getAsString(),
                        e.get("folder").getAsString(), e.get("files").getAsInt(), e.get("bytes").getAsLong()));
            }
            return new BakedFiles(dest, entries);
        } catch (JsonParseException | IllegalStateException | NullPointerException | UnsupportedOperationException e) {
            throw new IOException(file + " is malformed (" + e.getMessage() + "); bake again");
        }
    }

    /**
     * Records what was baked: checks each file (present, its size, its whole hash, read once), writes
     * its block list, then {@code baked.json} last, so that a bake that failed part-way leaves no
     * record claiming it worked. The manifests are already in {@link #manifestsAt} (the bake resolved
     * into it).
     *
     * @throws IOException naming the first file that is missing or not what its manifest says
     */
    public static BakedFiles write(Path dest, List<ResolvedEntry> resolved) throws IOException {
        List<Entry> entries = new ArrayList<>();
        BakedFiles layout = new BakedFiles(dest, List.of());
        ByteBuffer buf = ByteBuffer.allocate(READ_BUFFER);
        for (ResolvedEntry r : resolved) {
            manifestsAt(dest).save(r.manifest());
            long bytes = 0;
            for (ManifestFile f : r.files()) {
                Path file = layout.fileOf(r.entry().folder(), f);
                BlockList list = blockListOfFile(file, f, buf);
                Path target = layout.blockListOf(f.hash());
                Files.createDirectories(target.getParent());
                Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
                Files.write(tmp, list.encode());
                Files.move(tmp, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                bytes += f.size();
            }
            entries.add(new Entry(r.manifest().repoType(), r.manifest().repoId(), r.entry().revision(), r.manifest().commit(),
                    r.entry().folder(), r.files().size(), bytes));
        }
        JsonObject o = new JsonObject();
        o.addProperty("format", MAGIC);
        o.addProperty("version", FORMAT_VERSION);
        JsonArray arr = new JsonArray();
        for (Entry e : entries) {
            JsonObject j = new JsonObject();
            j.addProperty("repo_type", e.repoType().name().toLowerCase(java.util.Locale.ROOT));
            j.addProperty("repo_id", e.repoId());
            j.addProperty("revision", e.revision());
            j.addProperty("commit", e.commit());
            j.addProperty("folder", e.folder());
            j.addProperty("files", e.files());
            j.addProperty("bytes", e.bytes());
            arr.add(j);
        }
        o.add("entries", arr);
        ManifestStore.writeAtomically(dest.resolve(DIR).resolve("baked.json"), new com.google.gson.GsonBuilder().setPrettyPrinting().create().toJson(o) + "\n");
        return new BakedFiles(dest, entries);
    }

    /** Reads a baked file once: its whole hash must be the manifest's, and its block list is built on the way. */
    private static BlockList blockListOfFile(Path file, ManifestFile f, ByteBuffer buf) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            if (ch.size() != f.size()) {
                throw new IOException(file + " is " + ch.size() + " bytes, its manifest says " + f.size());
            }
            ContentHasher whole = ContentHasher.of(f.hash().algorithm(), f.size());
            BlockList.Builder blocks = new BlockList.Builder(BLOCK_SIZE, f.size());
            long pos = 0;
            while (pos < f.size()) {
                buf.clear();
                int n = ch.read(buf, pos);
                if (n < 0) {
                    throw new IOException(file + " shrank while being read (at byte " + pos + ")");
                }
                pos += n;
                buf.flip();
                blocks.update(buf);
                whole.update(buf);
            }
            ContentHash got = whole.finish();
            if (!got.equals(f.hash())) {
                throw new IOException(file + " has hash " + got + ", its manifest says " + f.hash());
            }
            return blocks.build();
        }
    }
}
