package io.weightfs.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.weightfs.config.RepoEntry;
import io.weightfs.config.RepoType;
import io.weightfs.control.MountStatus;
import io.weightfs.fetch.BlockFetcher;
import io.weightfs.fetch.PrefetchOrder;
import io.weightfs.fetch.Prefetcher;
import io.weightfs.fetch.Reader;
import io.weightfs.manifest.ContentHash;
import io.weightfs.manifest.LfsPointer;
import io.weightfs.manifest.Manifest;
import io.weightfs.manifest.ManifestFile;
import io.weightfs.manifest.ResolvedEntry;
import io.weightfs.store.BlockStore;
import io.weightfs.store.StoreOptions;
import io.weightfs.testing.FakeSource;
import io.weightfs.testing.PatternContent;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Hugging Face cache view of a mount (FsTree + WeightFs, no FUSE): what huggingface_hub reads offline. */
class HfCacheViewTest {
    private static final int BLOCK = 64 * 1024;
    private static final String MAIN = "0123456789abcdef0123456789abcdef01234567";
    private static final String PR = "89abcdef0123456789abcdef0123456789abcdef";
    private static final String PINNED = "fedcba9876543210fedcba9876543210fedcba98";
    private static final PatternContent WEIGHTS = new PatternContent(5, 3L * BLOCK + 77);
    private static final PatternContent CONFIG = new PatternContent(6, 300);
    private static final PatternContent README = new PatternContent(7, 40);
    private static final String REPO = "/hub/models--acme--m";

    @TempDir
    Path dir;

    private final FakeSource source = new FakeSource().put("model.safetensors", WEIGHTS).put("config.json", CONFIG)
            .put("docs/README.md", README);
    private final ManifestFile config = CONFIG.manifestFile("config.json", ContentHash.Algorithm.GIT_SHA1);
    private final ManifestFile weights = WEIGHTS.manifestFile("model.safetensors", ContentHash.Algorithm.SHA256);
    private final ManifestFile readme = README.manifestFile("docs/README.md", ContentHash.Algorithm.GIT_SHA1);
    private BlockStore store;
    private BlockFetcher fetcher;
    private Prefetcher prefetcher;
    private WeightFs fs;

    /**
     * Three entries: acme/m at main (the README left out by a pattern) in "llama", acme/m at
     * refs/pr/1 in "pr", acme/d, a dataset pinned at a commit, in "data".
     */
    private void start() throws Exception {
        List<ManifestFile> all = List.of(config, readme, weights);
        List<ResolvedEntry> entries = List.of(
                entry("llama", "acme/m", "main", MAIN, RepoType.MODEL, all, List.of(config, weights)),
                entry("pr", "acme/m", "refs/pr/1", PR, RepoType.MODEL, List.of(config), List.of(config)),
                entry("data", "acme/d", PINNED, PINNED, RepoType.DATASET, List.of(config), List.of(config)));
        store = BlockStore.open(dir, new StoreOptions(BLOCK, 0));
        fetcher = new BlockFetcher(source, BlockFetcher.Options.of(2, true), Clock.systemUTC());
        Prefetcher[] fill = new Prefetcher[1];
        Reader reader = new Reader(store, fetcher, h -> fill[0].failure(h), null, Reader.Options.DEFAULTS.withReadThrough(false));
        prefetcher = new Prefetcher(store, fetcher, PrefetchOrder.order(entries), List.of(), 16, Duration.ofMillis(1));
        fill[0] = prefetcher;
        fs = new WeightFs(entries, r -> 1_700_000_000_000L, reader,
                mounted -> new MountStatus(mounted, store, fetcher, prefetcher, reader, Optional.empty(), Clock.systemUTC()), BLOCK,
                Clock.systemUTC(), Optional.of("hub"));
        prefetcher.watchOnly();
    }

    private static ResolvedEntry entry(String folder, String repo, String revision, String commit, RepoType type, List<ManifestFile> all,
            List<ManifestFile> selected) {
        RepoEntry e = new RepoEntry(0, "model_cache", repo, revision, folder, Optional.empty(), List.of(), Optional.empty(), type);
        return new ResolvedEntry(e, new Manifest(repo, revision, commit, all, type), selected, Optional.empty());
    }

    @AfterEach
    void stop() {
        for (AutoCloseable c : new AutoCloseable[] {fs, prefetcher, fetcher, store}) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // best effort
                }
            }
        }
    }

    private byte[] readAll(String path) throws Exception {
        long h = fs.open(path, false);
        try {
            // Control files say size 0 (they are rendered at open): read them with room to spare.
            ByteBuffer buf = ByteBuffer.allocate((int) fs.getattr(path).size() + (1 << 16));
            int n = fs.read(h, buf, 0);
            byte[] out = new byte[Math.max(0, n)];
            buf.flip().get(out);
            return out;
        } finally {
            fs.release(h);
        }
    }

    private List<String> names(String path) throws FsException {
        return fs.readdir(path).stream().map(DirEntry::name).toList();
    }

    @Test
    void theView_hasHuggingfaceHubsLayout_perRepoAndType() throws Exception {
        start();
        assertEquals(List.of(".weightfs", "data", "hub", "llama", "pr"), names("/"));
        assertEquals(List.of("datasets--acme--d", "models--acme--m"), names("/hub"));
        assertEquals(List.of(".no_exist", "refs", "snapshots", "trees"), names(REPO));
        assertEquals(List.of(MAIN, PR), names(REPO + "/snapshots"));
        assertEquals(List.of("config.json", "model.safetensors"), names(REPO + "/snapshots/" + MAIN));
        assertEquals(List.of("config.json"), names("/hub/datasets--acme--d/snapshots/" + PINNED));
        assertEquals(WEIGHTS.size(), fs.getattr(REPO + "/snapshots/" + MAIN + "/model.safetensors").size());
        assertTrue(source.reads().isEmpty(), "listing fetches nothing");
    }

    @Test
    void refs_holdTheCommitWithNoNewline_andAPullRequestSitsUnderRefsRefsPr() throws Exception {
        start();
        assertEquals(MAIN, new String(readAll(REPO + "/refs/main"), StandardCharsets.US_ASCII));
        assertEquals(40, fs.getattr(REPO + "/refs/main").size());
        assertEquals(PR, new String(readAll(REPO + "/refs/refs/pr/1"), StandardCharsets.US_ASCII));
        assertEquals(List.of("trees", "snapshots", ".no_exist").stream().sorted().toList(),
                names("/hub/datasets--acme--d"), "an entry pinned at a commit has no ref");
        assertFalse(fs.directIo(fs.open(REPO + "/refs/main", false)), "refs never change: the page cache may keep them");
    }

    @Test
    void aSnapshotFile_isTheEntrysOwnFile_fetchedAndStoredOnce_whicheverPathReadsIt() throws Exception {
        start();
        assertArrayEquals(CONFIG.bytes(0, (int) CONFIG.size()), readAll(REPO + "/snapshots/" + MAIN + "/config.json"));
        assertArrayEquals(CONFIG.bytes(0, (int) CONFIG.size()), readAll("/llama/config.json"));
        assertArrayEquals(CONFIG.bytes(0, (int) CONFIG.size()), readAll("/pr/config.json"));
        assertArrayEquals(CONFIG.bytes(0, (int) CONFIG.size()), readAll("/hub/datasets--acme--d/snapshots/" + PINNED + "/config.json"));
        assertEquals(List.of("config.json@0+300"), source.reads(), "one content, one download");
        byte[] tail = new byte[100];
        long h = fs.open(REPO + "/snapshots/" + MAIN + "/model.safetensors", false);
        fs.read(h, ByteBuffer.wrap(tail), WEIGHTS.size() - 100);
        fs.release(h);
        assertArrayEquals(WEIGHTS.bytes(WEIGHTS.size() - 100, 100), tail);
        assertEquals("sha256:" + weights.hash().hex(), xattr(REPO + "/snapshots/" + MAIN + "/model.safetensors"));
    }

    @Test
    void theStatus_countsEachFileOnce_notAgainForItsViews() throws Exception {
        start();
        JsonObject status = JsonParser.parseString(new String(readAll("/.weightfs/status.json"), StandardCharsets.UTF_8)).getAsJsonObject();
        assertEquals(4, status.get("files").getAsInt(), status.toString());
        List<String> paths = new ArrayList<>();
        status.getAsJsonArray("fileStatus").forEach(f -> paths.add(f.getAsJsonObject().get("path").getAsString()));
        assertTrue(paths.stream().noneMatch(p -> p.startsWith("/hub/")), paths.toString());
    }

    @Test
    void theTreeListing_namesEveryFileOfTheCommit_evenThoseThePatternsLeftOut() throws Exception {
        start();
        JsonObject tree = JsonParser.parseString(new String(readAll(REPO + "/trees/" + MAIN + ".json"), StandardCharsets.UTF_8))
                .getAsJsonObject();
        assertEquals(1, tree.get("format_version").getAsInt());
        JsonObject files = tree.getAsJsonObject("files");
        assertEquals(List.of("config.json", "docs/README.md", "model.safetensors"), files.keySet().stream().sorted().toList());
        JsonObject w = files.getAsJsonObject("model.safetensors");
        assertEquals(WEIGHTS.size(), w.get("size").getAsLong());
        assertEquals(weights.hash().hex(), w.get("lfs_sha256").getAsString());
        assertEquals(WEIGHTS.size(), w.get("lfs_size").getAsLong());
        assertEquals(LfsPointer.gitOid(LfsPointer.text(weights.hash().hex(), WEIGHTS.size())), w.get("blob_id").getAsString());
        JsonObject c = files.getAsJsonObject("config.json");
        assertEquals(config.hash().hex(), c.get("blob_id").getAsString());
        assertFalse(c.has("lfs_sha256"));
    }

    @Test
    void noExist_answersEmptyFilesForWhatTheRepoLacks_andNothingForWhatItHas() throws Exception {
        start();
        String neg = REPO + "/.no_exist/" + MAIN;
        assertEquals(List.of(), names(neg), "nothing is listed: names are answered when asked for");
        Attr missing = fs.getattr(neg + "/adapter_config.json");
        assertFalse(missing.directory());
        assertEquals(0, missing.size());
        assertEquals(missing.inode(), fs.getattr(neg + "/adapter_config.json").inode(), "the same name, the same inode");
        assertEquals(0, readAll(neg + "/adapter_config.json").length);
        assertTrue(fs.getattr(neg + "/docs").directory(), "a folder of the repo, so deeper names can be asked");
        assertEquals(0, fs.getattr(neg + "/docs/other.md").size());
        for (String there : List.of("config.json", "docs/README.md", "model.safetensors", "nothere/deeper.json")) {
            assertEquals(FsException.Kind.NOT_FOUND, assertThrows(FsException.class, () -> fs.getattr(neg + "/" + there)).kind(), there);
        }
        assertEquals(FsException.Kind.NOT_FOUND, assertThrows(FsException.class, () -> fs.getattr(REPO + "/.no_exist/" + PINNED + "/x"))
                .kind(), "only the commits of the view have one");
        assertEquals(FsException.Kind.NOT_FOUND, assertThrows(FsException.class, () -> fs.getattr("/llama/.no_exist/x")).kind());
    }

    private String xattr(String path) throws FsException {
        ByteBuffer b = ByteBuffer.allocate(100);
        int n = fs.getxattr(path, "user.weightfs.hash", b);
        return new String(b.array(), 0, n, StandardCharsets.US_ASCII);
    }
}
