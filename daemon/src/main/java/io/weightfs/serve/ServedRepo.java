package io.weightfs.serve;

import io.weightfs.config.RepoType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One served repo: its id and type, who may read it, and its refs, each pointing at a
 * {@link ServedSnapshot} (see {@link RepoRefs} for how a repo directory declares them). Immutable; a
 * rescan builds a new one.
 */
final class ServedRepo {
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

    private final String id;
    private final RepoType type;
    private final Path dir;
    private final RepoAccess access;
    /** Full ref name to snapshot, in the sidecar's order, {@code refs/heads/main} first. */
    private final Map<String, ServedSnapshot> refs;
    private final Map<String, ServedSnapshot> byCommit;
    private final Map<Path, ServedFile> byDiskPath;

    ServedRepo(String id, RepoType type, Path dir, RepoAccess access, Map<String, ServedSnapshot> refs) {
        if (!refs.containsKey(RepoRefs.MAIN)) {
            throw new IllegalArgumentException(id + " has no main branch");
        }
        this.id = id;
        this.type = type;
        this.dir = dir;
        this.access = access;
        this.refs = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(refs));
        Map<String, ServedSnapshot> commits = new HashMap<>();
        for (ServedSnapshot s : refs.values()) {
            commits.putIfAbsent(s.commit(), s);
        }
        this.byCommit = Map.copyOf(commits);
        Map<Path, ServedFile> disk = new HashMap<>();
        for (ServedSnapshot s : byCommit.values()) {
            s.files().forEach(f -> disk.put(f.file(), f));
        }
        this.byDiskPath = Map.copyOf(disk);
    }

    /** {@code org/name}, as clients name it. */
    String id() {
        return id;
    }

    RepoType type() {
        return type;
    }

    /** The catalog key, unique across types: {@code org/name} or {@code datasets/org/name}. */
    String key() {
        return type.qualify(id);
    }

    Path dir() {
        return dir;
    }

    RepoAccess access() {
        return access;
    }

    /** The default branch, {@code main}. */
    ServedSnapshot main() {
        return refs.get(RepoRefs.MAIN);
    }

    /** The commit of {@code main}. */
    String commit() {
        return main().commit();
    }

    /** A file of {@code main}, or null. */
    ServedFile file(String path) {
        return main().file(path);
    }

    /** Every ref (full name) and its snapshot. */
    Map<String, ServedSnapshot> refs() {
        return refs;
    }

    /** Every distinct snapshot. */
    Collection<ServedSnapshot> snapshots() {
        return byCommit.values();
    }

    /**
     * The snapshot a revision names, or null: {@code main}/{@code HEAD}; a full ref
     * ({@code refs/heads/x}, {@code refs/tags/x}, {@code refs/pr/N}); a short branch or tag name
     * (branches win, as git's lookup order has it); or a 40-hex commit of one of the refs.
     */
    ServedSnapshot snapshot(String revision) {
        if (revision.equals("HEAD")) {
            return main();
        }
        ServedSnapshot s = refs.get(revision);
        if (s == null) {
            s = refs.get(RepoRefs.HEADS + revision);
        }
        if (s == null) {
            s = refs.get(RepoRefs.TAGS + revision);
        }
        if (s == null && COMMIT.matcher(revision).matches()) {
            s = byCommit.get(revision);
        }
        return s;
    }

    /** The file scanned from {@code onDisk} in any snapshot, or null (a rescan reuses its hash). */
    ServedFile fileOnDisk(Path onDisk) {
        return byDiskPath.get(onDisk);
    }

    /** Every file of every snapshot. */
    List<ServedFile> allFiles() {
        List<ServedFile> out = new ArrayList<>();
        byCommit.values().forEach(s -> out.addAll(s.files()));
        return out;
    }
}
