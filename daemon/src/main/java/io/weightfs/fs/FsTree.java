package io.weightfs.fs;

import io.weightfs.manifest.Manifest;
import io.weightfs.manifest.ManifestFile;
import io.weightfs.manifest.ResolvedEntry;
import io.weightfs.source.RepoFile;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.ToLongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The immutable directory tree of a mount, built once from the pinned manifests before the mount
 * answers: every entry's files under its folder, plus the control folder {@code /.weightfs}, plus,
 * when asked for, the same files again in huggingface_hub's cache layout ({@link HfCacheLayout}).
 * Lookups are one hash-map probe by full path; only a miss below a cache view's {@code .no_exist}
 * folder looks further (at most one probe per level of the path).
 */
final class FsTree {
    private static final Logger LOG = LoggerFactory.getLogger(FsTree.class);
    /** The control folder at the mount root. Config validation keeps entries out of it. */
    static final String CONTROL_DIR = ".weightfs";
    static final String STATUS_FILE = "status.json";
    static final String WAIT_FILE = "wait";

    /** A node of the tree. */
    sealed interface Node permits Dir, FileNode, ControlNode, StaticNode {
        long inode();

        long mtimeMillis();
    }

    /** A directory; children sorted by name. */
    static final class Dir implements Node {
        final long inode;
        final long mtimeMillis;
        final TreeMap<String, Node> children = new TreeMap<>();

        Dir(long inode, long mtimeMillis) {
            this.inode = inode;
            this.mtimeMillis = mtimeMillis;
        }

        @Override
        public long inode() {
            return inode;
        }

        @Override
        public long mtimeMillis() {
            return mtimeMillis;
        }
    }

    /** A file of a repo. */
    record FileNode(long inode, long mtimeMillis, RepoFile file, String mountPath) implements Node {}

    /** A control file whose content the daemon renders. */
    record ControlNode(long inode, long mtimeMillis, String name) implements Node {}

    /** A small file whose content is known when the tree is built and never changes (the cache view's refs and listings). */
    record StaticNode(long inode, long mtimeMillis, byte[] content) implements Node {}

    /**
     * Inode numbers of names made up on lookup ({@code .no_exist}) have this bit set: the built
     * tree counts up from 1 and never gets there.
     */
    private static final long LOOKUP_INODE_BIT = 1L << 62;

    private final Map<String, Node> byPath;
    private final List<FileNode> files;
    private final List<FileNode> views;
    /** Each cache view's {@code .no_exist/<commit>} folder (full path) with what it answers. */
    private final Map<String, Negatives> negatives;
    /** {@code /<root>/}, or null without a cache view: paths outside it never look at {@link #negatives}. */
    private final String viewPrefix;
    private final long totalBytes;

    private record Negatives(HfCacheLayout.Negatives names, long mtimeMillis) {}

    private FsTree(Map<String, Node> byPath, List<FileNode> files, List<FileNode> views, Map<String, Negatives> negatives,
            String viewPrefix) {
        this.byPath = byPath;
        this.files = files;
        this.views = views;
        this.negatives = negatives;
        this.viewPrefix = viewPrefix;
        long sum = 0;
        for (FileNode f : files) {
            sum += f.file().size();
        }
        this.totalBytes = sum;
    }

    /**
     * @param mtimes the modification time of an entry's files (stable for a commit: when its
     *     manifest was first pinned)
     * @param startMillis mtime of the directories and control files
     */
    static FsTree build(List<ResolvedEntry> entries, ToLongFunction<ResolvedEntry> mtimes, long startMillis) {
        return build(entries, mtimes, startMillis, Optional.empty());
    }

    /**
     * @param hfCache the folder (relative to the mount root, validated by the config) where the repos
     *     also appear in huggingface_hub's cache layout; empty for none
     */
    static FsTree build(List<ResolvedEntry> entries, ToLongFunction<ResolvedEntry> mtimes, long startMillis, Optional<String> hfCache) {
        Map<String, Node> byPath = new HashMap<>();
        List<FileNode> files = new ArrayList<>();
        long[] nextInode = {1};
        Dir root = new Dir(nextInode[0]++, startMillis);
        byPath.put("/", root);
        for (ResolvedEntry e : entries) {
            long mtime = mtimes.applyAsLong(e);
            for (ManifestFile f : e.files()) {
                String path = "/" + e.entry().folder() + "/" + f.path();
                Dir parent = mkdirs(byPath, root, path.substring(0, path.lastIndexOf('/')), nextInode, startMillis);
                String name = path.substring(path.lastIndexOf('/') + 1);
                RepoFile rf = new RepoFile(e.manifest().repoId(), e.manifest().commit(), f, e.token(), e.manifest().repoType());
                FileNode node = new FileNode(nextInode[0]++, mtime, rf, path);
                if (parent.children.putIfAbsent(name, node) != null) {
                    throw new IllegalStateException(path + " appears twice in the mount");
                }
                byPath.put(path, node);
                files.add(node);
            }
        }
        Dir control = mkdirs(byPath, root, "/" + CONTROL_DIR, nextInode, startMillis);
        for (String name : List.of(STATUS_FILE, WAIT_FILE)) {
            ControlNode n = new ControlNode(nextInode[0]++, startMillis, name);
            control.children.put(name, n);
            byPath.put("/" + CONTROL_DIR + "/" + name, n);
        }
        List<FileNode> views = new ArrayList<>();
        Map<String, Negatives> negatives = new HashMap<>();
        if (hfCache.isPresent()) {
            addCacheView("/" + hfCache.get(), entries, mtimes, startMillis, byPath, root, nextInode, files, views, negatives);
        }
        return new FsTree(Collections.unmodifiableMap(byPath), List.copyOf(files), List.copyOf(views), Map.copyOf(negatives),
                hfCache.map(h -> "/" + h + "/").orElse(null));
    }

    /**
     * The cache view under {@code base}: per repo (entries of the same repo together), a snapshot per
     * commit holding the files of every entry at that commit (each the entry folder's own
     * {@link RepoFile}, so its bytes are stored once), a ref per revision that is not a commit (the
     * first entry wins when two name the same revision), the commit's listing and its {@code .no_exist}.
     */
    private static void addCacheView(String base, List<ResolvedEntry> entries, ToLongFunction<ResolvedEntry> mtimes, long startMillis,
            Map<String, Node> byPath, Dir root, long[] nextInode, List<FileNode> files, List<FileNode> views,
            Map<String, Negatives> negatives) {
        mkdirs(byPath, root, base, nextInode, startMillis);
        Map<String, RepoFile> fileByMountPath = new HashMap<>();
        for (FileNode f : files) {
            fileByMountPath.put(f.mountPath(), f.file());
        }
        Map<String, String> refs = new LinkedHashMap<>();
        for (ResolvedEntry e : entries) {
            Manifest m = e.manifest();
            long mtime = mtimes.applyAsLong(e);
            String repo = base + "/" + HfCacheLayout.repoFolder(m.repoType(), m.repoId());
            String commitDir = repo + "/" + HfCacheLayout.SNAPSHOTS + "/" + m.commit();
            mkdirs(byPath, root, commitDir, nextInode, startMillis);
            for (ManifestFile f : e.files()) {
                String path = commitDir + "/" + f.path();
                if (byPath.containsKey(path)) {
                    continue; // another entry of the same commit has it already: the same file
                }
                Dir parent = mkdirs(byPath, root, path.substring(0, path.lastIndexOf('/')), nextInode, startMillis);
                FileNode node = new FileNode(nextInode[0]++, mtime, fileByMountPath.get("/" + e.entry().folder() + "/" + f.path()), path);
                parent.children.put(path.substring(path.lastIndexOf('/') + 1), node);
                byPath.put(path, node);
                views.add(node);
            }
            String tree = repo + "/" + HfCacheLayout.TREES + "/" + m.commit() + ".json";
            if (!byPath.containsKey(tree)) {
                putStatic(byPath, root, tree, HfCacheLayout.treeJson(m.files()), mtime, nextInode, startMillis);
                String noExist = repo + "/" + HfCacheLayout.NO_EXIST + "/" + m.commit();
                mkdirs(byPath, root, noExist, nextInode, startMillis);
                negatives.put(noExist, new Negatives(HfCacheLayout.Negatives.of(m.files()), mtime));
            }
            if (!Manifest.isCommit(m.revision())) {
                String ref = repo + "/" + HfCacheLayout.REFS + "/" + m.revision();
                String earlier = refs.putIfAbsent(ref, m.commit());
                if (earlier == null) {
                    try {
                        putStatic(byPath, root, ref, m.commit().getBytes(StandardCharsets.US_ASCII), mtime, nextInode, startMillis);
                    } catch (IllegalStateException clash) {
                        // Two revisions of which one is a folder of the other (dev and dev/x): git refuses
                        // such a pair, a config can still name it. The view shows the first.
                        LOG.warn("{}: the cache view has no ref {} for {}: {}", m.repoType().qualify(m.repoId()), m.revision(),
                                e.entry().label(), clash.getMessage());
                    }
                } else if (!earlier.equals(m.commit())) {
                    LOG.warn("{}: {} names {} for {} in one entry and {} in another; the cache view's ref keeps {}",
                            m.repoType().qualify(m.repoId()), m.revision(), earlier, e.entry().label(), m.commit(), earlier);
                }
            }
        }
    }

    private static void putStatic(Map<String, Node> byPath, Dir root, String path, byte[] content, long mtime, long[] nextInode,
            long startMillis) {
        Dir parent = mkdirs(byPath, root, path.substring(0, path.lastIndexOf('/')), nextInode, startMillis);
        StaticNode n = new StaticNode(nextInode[0]++, mtime, content);
        if (parent.children.putIfAbsent(path.substring(path.lastIndexOf('/') + 1), n) != null) {
            throw new IllegalStateException(path + " appears twice in the mount");
        }
        byPath.put(path, n);
    }

    private static Dir mkdirs(Map<String, Node> byPath, Dir root, String dirPath, long[] nextInode, long mtime) {
        Dir cur = root;
        StringBuilder sofar = new StringBuilder();
        for (String part : dirPath.split("/")) {
            if (part.isEmpty()) {
                continue;
            }
            sofar.append('/').append(part);
            Node n = cur.children.get(part);
            if (n == null) {
                Dir d = new Dir(nextInode[0]++, mtime);
                cur.children.put(part, d);
                byPath.put(sofar.toString(), d);
                cur = d;
            } else if (n instanceof Dir d) {
                cur = d;
            } else {
                throw new IllegalStateException(sofar + " is both a file and a folder in the mount");
            }
        }
        return cur;
    }

    Node lookup(String path) {
        Node n = byPath.get(path);
        if (n != null || viewPrefix == null || !path.startsWith(viewPrefix) || !path.contains("/" + HfCacheLayout.NO_EXIST + "/")) {
            return n;
        }
        for (int slash = path.lastIndexOf('/'); slash > 0; slash = path.lastIndexOf('/', slash - 1)) {
            Negatives neg = negatives.get(path.substring(0, slash));
            if (neg != null) {
                return switch (neg.names().kind(path.substring(slash + 1))) {
                    case NONE -> null;
                    // A name made up for the asker: its inode comes from its path, so it is the same each time.
                    case DIR -> new Dir(lookupInode(path), neg.mtimeMillis());
                    case MISSING_FILE -> new StaticNode(lookupInode(path), neg.mtimeMillis(), new byte[0]);
                };
            }
        }
        return null;
    }

    /** 64-bit FNV-1a of the path, in the made-up range; a clash only gives two missing names one st_ino. */
    private static long lookupInode(String path) {
        long h = 0xcbf29ce484222325L;
        for (byte b : path.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        return LOOKUP_INODE_BIT | (h & (LOOKUP_INODE_BIT - 1));
    }

    /** Every file of the mount, once: under its entry's folder. */
    List<FileNode> files() {
        return files;
    }

    /** The same files again where the cache view shows them (the same {@link RepoFile}s). */
    List<FileNode> views() {
        return views;
    }

    long totalBytes() {
        return totalBytes;
    }

    int nodeCount() {
        return byPath.size();
    }
}
