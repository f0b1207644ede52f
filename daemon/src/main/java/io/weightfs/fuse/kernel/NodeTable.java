package io.weightfs.fuse.kernel;

import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The kernel's node IDs and the paths they stand for, with the kernel's lookup count of each (every
 * LOOKUP reply and every READDIRPLUS entry with a node ID adds one; FORGET takes its count off).
 * A node whose count reaches zero is dropped; its ID is never handed out again (IDs count up, so the
 * generation is always 0). The root (ID 1) is never dropped.
 *
 * <p>Thread-safe: the maps are concurrent for readers; counts and removal change under this
 * object's lock, which guards nothing but these two maps and covers no I/O.
 */
final class NodeTable {
    /** One node the kernel knows of. Open counts are guarded by the node itself (see FuseProtocol). */
    static final class Node {
        final long id;
        final String path;
        /** Guarded by the table. */
        long lookups;
        /** Opens served through the page cache, not passthrough; guarded by this node. */
        int cachedOpens;
        /** Opens served by passthrough, all with {@link #backingId}; guarded by this node. */
        int passthroughOpens;
        /** The kernel's backing ID while {@link #passthroughOpens} &gt; 0; guarded by this node. */
        int backingId;

        Node(long id, String path) {
            this.id = id;
            this.path = path;
        }

        @Override
        public String toString() {
            return "node " + id + " " + path;
        }
    }

    private final ConcurrentHashMap<Long, Node> byId = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Node> byPath = new ConcurrentHashMap<>();
    /** Guarded by this. */
    private long nextId = Proto.ROOT_ID + 1;

    NodeTable() {
        Node root = new Node(Proto.ROOT_ID, "/");
        root.lookups = 1;
        byId.put(root.id, root);
        byPath.put(root.path, root);
    }

    /** The node of {@code path}, made if new, with one more lookup counted: for a reply the kernel will count. */
    synchronized Node lookup(String path) {
        Node n = byPath.get(path);
        if (n == null) {
            n = new Node(nextId++, path);
            byId.put(n.id, n);
            byPath.put(path, n);
        }
        n.lookups++;
        return n;
    }

    /** FORGET: the kernel dropped {@code count} of its lookups of {@code id}. */
    synchronized void forget(long id, long count) {
        Node n = byId.get(id);
        if (n == null || n.id == Proto.ROOT_ID) {
            return;
        }
        n.lookups -= count;
        if (n.lookups <= 0) {
            byId.remove(id);
            byPath.remove(n.path, n);
        }
    }

    Node get(long id) {
        return byId.get(id);
    }

    /** The node the kernel has for {@code path}, if it has one (for notifications). */
    Optional<Node> find(String path) {
        return Optional.ofNullable(byPath.get(path));
    }

    int size() {
        return byId.size();
    }

    /** The lookup count of {@code id}; 0 when unknown. For tests. */
    synchronized long lookups(long id) {
        Node n = byId.get(id);
        return n == null ? 0 : n.lookups;
    }

    static String child(String dir, String name) {
        return dir.equals("/") ? "/" + name : dir + "/" + name;
    }
}
