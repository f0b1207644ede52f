package io.weightfs.fs;

import com.google.gson.JsonObject;
import io.weightfs.config.RepoType;
import io.weightfs.manifest.LfsPointer;
import io.weightfs.manifest.ManifestFile;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The layout of huggingface_hub's cache, as its readers look at it offline: what the cache view of a
 * mount ({@code hf_cache:}, {@code --hf-cache}) must hold, and nothing more. Read from the code of
 * huggingface_hub 1.33 and 2.0 and of transformers 5.17 (README "The Hugging Face cache view"):
 *
 * <pre>
 *   &lt;root&gt;/models--&lt;org&gt;--&lt;name&gt;/            datasets--&lt;org&gt;--&lt;name&gt; for a dataset
 *     refs/&lt;revision&gt;                          the commit, 40 hex, no newline (refs/refs/pr/1 for a PR)
 *     snapshots/&lt;commit&gt;/&lt;path&gt;                 the files: opened by hf_hub_download, snapshot_download,
 *                                                try_to_load_from_cache and transformers' cached_files
 *     trees/&lt;commit&gt;.json                       the commit's whole file list (format_version 1): offline,
 *                                                snapshot_download of a commit reads it instead of listing
 *                                                the repo, and of a branch checks the snapshot against it
 *     .no_exist/&lt;commit&gt;/&lt;path&gt;                 an empty file for a path the repo does not have:
 *                                                try_to_load_from_cache then answers "known missing"
 * </pre>
 *
 * No reader follows the real cache's links into {@code blobs/} (only {@code scan_cache_dir} looks, and
 * it takes a plain file as its own blob), so the snapshot files are plain files and there is no
 * {@code blobs/}: readlink is not needed. The files are the mount's own, by content hash: a file read
 * here or under its entry's folder is fetched and stored once.
 */
final class HfCacheLayout {
    /** What {@code trees/<commit>.json} says it is; readers ignore any other version. */
    static final int TREE_FORMAT_VERSION = 1;
    static final String REFS = "refs";
    static final String SNAPSHOTS = "snapshots";
    static final String TREES = "trees";
    static final String NO_EXIST = ".no_exist";

    private HfCacheLayout() {}

    /** huggingface_hub's {@code repo_folder_name}: {@code models--org--name}, {@code datasets--org--name}. */
    static String repoFolder(RepoType type, String repoId) {
        return type.plural() + "--" + repoId.replace("/", "--");
    }

    /**
     * {@code trees/<commit>.json}: every file of the commit (not only those the entry's patterns keep,
     * as a real cache filled by {@code snapshot_download(allow_patterns=...)} lists them), with its size,
     * git blob id, and for LFS files the sha256 and size. huggingface_hub's {@code _tree_cache.py}.
     */
    static byte[] treeJson(List<ManifestFile> files) {
        JsonObject all = new JsonObject();
        for (ManifestFile f : files) {
            JsonObject o = new JsonObject();
            o.addProperty("size", f.size());
            o.addProperty("blob_id", LfsPointer.gitOid(f));
            if (f.isLfs()) {
                o.addProperty("lfs_sha256", f.hash().hex());
                o.addProperty("lfs_size", f.size());
            }
            all.add(f.path(), o);
        }
        JsonObject doc = new JsonObject();
        doc.addProperty("format_version", TREE_FORMAT_VERSION);
        doc.add("files", all);
        return doc.toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * What {@code .no_exist/<commit>/} answers: a name is an empty file when the repo has no such
     * file and its parent is a folder of the repo (or the top); a folder of the repo is a folder (so
     * deeper names can be looked up); a file the repo has does not exist here. Nothing is listed:
     * the names are answered only when asked for, like the real cache's, which holds only the
     * names that were asked for.
     *
     * @param files every file path of the commit
     * @param dirs every folder path of the commit (the parents of its files)
     */
    record Negatives(Set<String> files, Set<String> dirs) {
        static Negatives of(List<ManifestFile> manifest) {
            Set<String> files = new HashSet<>();
            Set<String> dirs = new HashSet<>();
            for (ManifestFile f : manifest) {
                files.add(f.path());
                for (int i = f.path().indexOf('/'); i >= 0; i = f.path().indexOf('/', i + 1)) {
                    dirs.add(f.path().substring(0, i));
                }
            }
            return new Negatives(Set.copyOf(files), Set.copyOf(dirs));
        }

        /** What {@code rel} (a path below the commit's folder) is: a folder, a known-missing file, or nothing. */
        Kind kind(String rel) {
            if (files.contains(rel)) {
                return Kind.NONE;
            }
            if (dirs.contains(rel)) {
                return Kind.DIR;
            }
            int slash = rel.lastIndexOf('/');
            return slash < 0 || dirs.contains(rel.substring(0, slash)) ? Kind.MISSING_FILE : Kind.NONE;
        }

        enum Kind { NONE, DIR, MISSING_FILE }
    }
}
