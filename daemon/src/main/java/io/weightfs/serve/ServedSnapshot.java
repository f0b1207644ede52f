package io.weightfs.serve;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * One served repo at one commit: the files of one ref's folder and the directories they imply.
 * Immutable; a rescan builds a new one.
 *
 * <p>The commit is a sha1 over the sorted (path, size, hash) list, so the same content always has
 * the same commit and any change gives a new one, across restarts and machines.
 */
final class ServedSnapshot {
    /** Versioned so that a change of the canonical text can never collide with an older commit. */
    private static final String COMMIT_HEADER = "weightfs-commit-v1\n";
    private static final String TREE_HEADER = "weightfs-tree-v1\n";

    private final String commit;
    private final Instant lastModified;
    private final List<ServedFile> files;
    private final List<TreeNode> nodes;
    private final List<String> nodePaths;
    private final Map<String, TreeNode> byPath;

    private ServedSnapshot(String commit, Instant lastModified, List<ServedFile> files, List<TreeNode> nodes) {
        this.commit = commit;
        this.lastModified = lastModified;
        this.files = files;
        this.nodes = nodes;
        List<String> paths = new ArrayList<>(nodes.size());
        Map<String, TreeNode> map = new HashMap<>();
        for (TreeNode n : nodes) {
            paths.add(n.path());
            map.put(n.path(), n);
        }
        this.nodePaths = List.copyOf(paths);
        this.byPath = Map.copyOf(map);
    }

    /** Builds a snapshot from its scanned files (any order). */
    static ServedSnapshot build(List<ServedFile> scanned, Instant lastModified) {
        List<ServedFile> files = new ArrayList<>(scanned);
        files.sort(Comparator.comparing(ServedFile::path));

        MessageDigest commitDigest = sha1();
        commitDigest.update(COMMIT_HEADER.getBytes(StandardCharsets.UTF_8));
        TreeSet<String> dirs = new TreeSet<>();
        for (ServedFile f : files) {
            commitDigest.update(canonicalLine(f.path(), f).getBytes(StandardCharsets.UTF_8));
            for (int slash = f.path().indexOf('/'); slash >= 0; slash = f.path().indexOf('/', slash + 1)) {
                dirs.add(f.path().substring(0, slash));
            }
        }
        String commit = HexFormat.of().formatHex(commitDigest.digest());

        List<String> filePaths = files.stream().map(ServedFile::path).toList();
        List<TreeNode> nodes = new ArrayList<>(files.size() + dirs.size());
        for (ServedFile f : files) {
            nodes.add(new TreeNode(f.path(), f, null));
        }
        for (String d : dirs) {
            MessageDigest treeDigest = sha1();
            treeDigest.update(TREE_HEADER.getBytes(StandardCharsets.UTF_8));
            String prefix = d + "/";
            // Files are sorted by path, so everything below d is one contiguous run.
            for (int i = lowerBound(filePaths, prefix); i < files.size() && files.get(i).path().startsWith(prefix); i++) {
                ServedFile f = files.get(i);
                treeDigest.update(canonicalLine(f.path().substring(prefix.length()), f).getBytes(StandardCharsets.UTF_8));
            }
            nodes.add(new TreeNode(d, null, HexFormat.of().formatHex(treeDigest.digest())));
        }
        nodes.sort(Comparator.comparing(TreeNode::path));
        return new ServedSnapshot(commit, lastModified, List.copyOf(files), List.copyOf(nodes));
    }

    String commit() {
        return commit;
    }

    Instant lastModified() {
        return lastModified;
    }

    /** Every file, sorted by path. */
    List<ServedFile> files() {
        return files;
    }

    /** The file or directory at {@code path}, or null. */
    TreeNode node(String path) {
        return byPath.get(path);
    }

    ServedFile file(String path) {
        TreeNode n = byPath.get(path);
        return n == null ? null : n.file();
    }

    /**
     * The entries below directory {@code dir} ({@code ""} for the root), sorted by path: only its
     * children, or with {@code recursive} everything below it.
     */
    List<TreeNode> list(String dir, boolean recursive) {
        String prefix = dir.isEmpty() ? "" : dir + "/";
        List<TreeNode> out = new ArrayList<>();
        // Sorted by path, so everything below dir is one contiguous run starting at the prefix.
        for (int i = lowerBound(nodePaths, prefix); i < nodes.size(); i++) {
            TreeNode n = nodes.get(i);
            if (!n.path().startsWith(prefix)) {
                break;
            }
            if (recursive || n.path().indexOf('/', prefix.length()) < 0) {
                out.add(n);
            }
        }
        return out;
    }

    private static String canonicalLine(String path, ServedFile f) {
        return path + '\0' + f.size() + '\0' + (f.lfs() ? "sha256:" : "sha1:") + f.contentHash() + '\n';
    }

    /** Index of the first element not less than {@code key} in a sorted list. */
    private static int lowerBound(List<String> sorted, String key) {
        int lo = 0;
        int hi = sorted.size();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (sorted.get(mid).compareTo(key) < 0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    private static MessageDigest sha1() {
        try {
            return MessageDigest.getInstance("SHA-1");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("JDK lacks SHA-1", e);
        }
    }
}
