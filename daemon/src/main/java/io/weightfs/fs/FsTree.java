package io.weightfs.fs;

import io.weightfs.manifest.ManifestFile;
import io.weightfs.manifest.ResolvedEntry;
import io.weightfs.source.RepoFile;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.ToLongFunction;

/**
 * The immutable directory tree of a mount, built once from the pinned manifests before the mount
 * answers: every entry's files under its folder, plus the control folder {@code /.weightfs}.
 * Lookups are one hash-map probe by full path.
 */
final class FsTree {
    /** The control folder at the mount root. Config validation keeps entries out of it. */
    static final String CONTROL_DIR = ".weightfs";
    static final String STATUS_FILE = "status.json";
    static final String WAIT_FILE = "wait";

    /** A node of the tree. */
    sealed interface Node permits Dir, FileNode, ControlNode {
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

    private final Map<String, Node> byPath;
    private final List<FileNode> files;
    private final long totalBytes;

    private FsTree(Map<String, Node> byPath, List<FileNode> files) {
        this.byPath = byPath;
        this.files = files;
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
        return new FsTree(Collections.unmodifiableMap(byPath), List.copyOf(files));
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
        return byPath.get(path);
    }

    List<FileNode> files() {
        return files;
    }

    long totalBytes() {
        return totalBytes;
    }

    int nodeCount() {
        return byPath.size();
    }
}
