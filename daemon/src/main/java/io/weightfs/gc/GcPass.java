package io.weightfs.gc;

import io.weightfs.gc.SharedGc.Failure;
import io.weightfs.gc.SharedGc.Kept;
import io.weightfs.gc.SharedGc.Kind;
import io.weightfs.gc.SharedGc.Removed;
import io.weightfs.manifest.Manifest;
import io.weightfs.source.SharedTier;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One run of {@link SharedGc} over one or more namespace directories: the walk, the per-file
 * decisions and what they came to. Single-threaded; lives for one run.
 */
final class GcPass {
    private static final Logger LOG = LoggerFactory.getLogger(GcPass.class);
    /** A blob's file name: its hash in lower-case hex (sha1 is 40 digits, sha256 64). */
    private static final Pattern HASH = Pattern.compile("[0-9a-f]{16,128}");
    /**
     * {@link SharedTier#quarantine} names a file {@code <name>.<epochMillis>.<random hex>}: the
     * rename keeps the blob's old mtime, so the time it was quarantined is read from the name.
     */
    private static final Pattern QUARANTINED_AT = Pattern.compile("\\.(\\d{1,19})\\.[0-9a-f]+$");
    /** A lease file holds two short lines; anything longer is not one, and is not read. */
    private static final int MAX_LEASE_BYTES = 4096;
    private static final int MAX_REF_BYTES = 256;

    private final Path root;
    private final long now;
    private final long cutoff;
    private final long tmpCutoff;
    private final boolean dryRun;
    private final List<Removed> removed = new ArrayList<>();
    private final EnumMap<Kept, Integer> kept = new EnumMap<>(Kept.class);
    private final List<Failure> failures = new ArrayList<>();
    private Path namespaceDir;

    GcPass(Path root, long now, long cutoff, long tmpCutoff, boolean dryRun) {
        this.root = root;
        this.now = now;
        this.cutoff = cutoff;
        this.tmpCutoff = tmpCutoff;
        this.dryRun = dryRun;
    }

    List<Removed> removed() {
        return removed;
    }

    Map<Kept, Integer> kept() {
        return kept;
    }

    List<Failure> failures() {
        return failures;
    }

    /** Collects one namespace directory; blobs first, while the leases that protect them are all there. */
    void namespace(Path dir) {
        namespaceDir = dir;
        blobs(dir.resolve("blobs"), dir.resolve("leases"));
        leases(dir.resolve("leases"));
        tmp(dir.resolve("tmp"));
        quarantine(dir.resolve("quarantine"));
        commits(dir.resolve("manifests"), Kind.MANIFEST, Kept.MANIFEST_RECENT);
        commits(dir.resolve("profiles"), Kind.PROFILE, Kept.PROFILE_RECENT);
    }

    // ---- blobs ------------------------------------------------------------------------------

    /** A blob's files, as found in one {@code ab/} directory; any of them may be missing. */
    private static final class Group {
        Entry blob;
        Entry blocks;
        Entry used;

        long lastUse() {
            long t = Long.MIN_VALUE;
            for (Entry e : new Entry[] {blob, blocks, used}) {
                if (e != null) {
                    t = Math.max(t, e.mtime());
                }
            }
            return t;
        }
    }

    private void blobs(Path blobsDir, Path leasesDir) {
        for (Entry algo : list(blobsDir)) {
            if (!algo.attrs.isDirectory()) {
                keep(Kept.UNRECOGNISED, algo.path);
                continue;
            }
            for (Entry fan : list(algo.path)) {
                if (!fan.attrs.isDirectory()) {
                    keep(Kept.UNRECOGNISED, fan.path);
                    continue;
                }
                Map<String, Group> groups = new TreeMap<>();
                for (Entry e : list(fan.path)) {
                    String name = e.name();
                    if (!e.attrs.isRegularFile()) {
                        keep(Kept.UNRECOGNISED, e.path);
                    } else if (HASH.matcher(name).matches()) {
                        groups.computeIfAbsent(name, n -> new Group()).blob = e;
                    } else if (name.endsWith(".blocks") && HASH.matcher(stem(name, ".blocks")).matches()) {
                        groups.computeIfAbsent(stem(name, ".blocks"), n -> new Group()).blocks = e;
                    } else if (name.endsWith(".used") && HASH.matcher(stem(name, ".used")).matches()) {
                        groups.computeIfAbsent(stem(name, ".used"), n -> new Group()).used = e;
                    } else {
                        keep(Kept.UNRECOGNISED, e.path);
                    }
                }
                for (Map.Entry<String, Group> g : groups.entrySet()) {
                    Path lease = leasesDir.resolve(algo.name() + "-" + g.getKey() + ".lease");
                    blob(fan.path.resolve(g.getKey()), g.getValue(), lease);
                }
            }
        }
    }

    private void blob(Path blobPath, Group g, Path lease) {
        if (g.blob == null) {
            orphan(g.blocks, lease, blobPath);
            orphan(g.used, lease, blobPath);
            return;
        }
        if (g.lastUse() >= cutoff) {
            keep(Kept.BLOB_RECENTLY_USED, blobPath);
            return;
        }
        if (leaseLive(lease)) {
            keep(Kept.BLOB_LIVE_LEASE, blobPath);
            return;
        }
        if (!dryRun) {
            // Look again just before removing: a node may have used it or begun a refresh while we walked.
            g = reread(g);
            if (g.blob != null && g.lastUse() >= cutoff) {
                keep(Kept.BLOB_RECENTLY_USED, blobPath);
                return;
            }
            if (leaseLive(lease)) {
                keep(Kept.BLOB_LIVE_LEASE, blobPath);
                return;
            }
        }
        if (g.blob != null && !remove(g.blob, Kind.BLOB)) {
            return; // could not remove it: its list must stay beside it
        }
        companion(g.blocks, Kind.BLOCK_LIST, lease, blobPath);
        companion(g.used, Kind.USE_MARKER, lease, blobPath);
    }

    /** The list or marker of a blob just removed: only if nothing has been published again since. */
    private void companion(Entry e, Kind kind, Path lease, Path blobPath) {
        if (e == null) {
            return;
        }
        if (!dryRun) {
            e = reread(e);
            if (e == null) {
                return;
            }
            if (e.mtime() >= cutoff || leaseLive(lease) || Files.exists(blobPath, LinkOption.NOFOLLOW_LINKS)) {
                LOG.debug("leaving {}: a node published or used {} again while it was being removed", e.path, blobPath);
                return;
            }
        }
        remove(e, kind);
    }

    private void orphan(Entry e, Path lease, Path blobPath) {
        if (e == null) {
            return;
        }
        // A publish renames its list into place just before its blob, under a live lease.
        if (e.mtime() >= cutoff || leaseLive(lease)) {
            keep(Kept.ORPHAN_PROTECTED, e.path);
            return;
        }
        if (!dryRun) {
            e = reread(e);
            if (e == null) {
                return;
            }
            if (e.mtime() >= cutoff || leaseLive(lease) || Files.exists(blobPath, LinkOption.NOFOLLOW_LINKS)) {
                keep(Kept.ORPHAN_PROTECTED, e.path);
                return;
            }
        }
        remove(e, Kind.ORPHAN);
    }

    private Group reread(Group g) {
        Group fresh = new Group();
        fresh.blob = reread(g.blob);
        fresh.blocks = reread(g.blocks);
        fresh.used = reread(g.used);
        return fresh;
    }

    // ---- leases, tmp, quarantine ------------------------------------------------------------

    private boolean leaseLive(Path lease) {
        BasicFileAttributes a = attrs(lease);
        return a != null && a.isRegularFile() && leaseExpiry(lease, a) > now;
    }

    /**
     * The format of {@code SharedTier.Lease}: a line {@code expires=<epochMillis>}. A lease without
     * one, or one that cannot be read, is taken to expire {@link SharedTier#LEASE_TTL} after its
     * mtime: a lease caught between its creation and its first write is live, not expired.
     */
    private long leaseExpiry(Path lease, BasicFileAttributes a) {
        long fallback = a.lastModifiedTime().toMillis() + SharedTier.LEASE_TTL.toMillis();
        if (a.size() > MAX_LEASE_BYTES) {
            return fallback;
        }
        try {
            for (String line : Files.readAllLines(lease, StandardCharsets.UTF_8)) {
                if (line.startsWith("expires=")) {
                    return Long.parseLong(line.substring("expires=".length()).strip());
                }
            }
        } catch (NoSuchFileException gone) {
            return Long.MIN_VALUE;
        } catch (IOException | NumberFormatException e) {
            LOG.debug("cannot read the lease {}: {}", lease, e.toString());
        }
        return fallback;
    }

    private void leases(Path dir) {
        for (Entry e : list(dir)) {
            if (!e.attrs.isRegularFile()) {
                keep(Kept.UNRECOGNISED, e.path);
            } else if (leaseExpiry(e.path, e.attrs) > now) {
                keep(Kept.LEASE_LIVE, e.path);
            } else if (e.mtime() >= cutoff) {
                keep(Kept.LEASE_RECENT, e.path);
            } else if (!dryRun && leaseLive(e.path)) {
                // Taken over since we looked: SharedTier renames an expired lease away and creates a fresh one.
                keep(Kept.LEASE_LIVE, e.path);
            } else {
                remove(e, Kind.LEASE);
            }
        }
    }

    private void tmp(Path dir) {
        for (Entry e : list(dir)) {
            tmpFile(e);
        }
    }

    /** An upload's part or list, or a manifest's or profile's write, that was never renamed into place. */
    private void tmpFile(Entry e) {
        if (!e.attrs.isRegularFile()) {
            keep(Kept.UNRECOGNISED, e.path);
            return;
        }
        if (e.mtime() >= tmpCutoff) {
            keep(Kept.TMP_RECENT, e.path);
            return;
        }
        if (!dryRun) {
            e = reread(e);
            if (e == null) {
                return;
            }
            if (e.mtime() >= tmpCutoff) {
                keep(Kept.TMP_RECENT, e.path);
                return;
            }
        }
        remove(e, Kind.TMP);
    }

    private void quarantine(Path dir) {
        for (Entry e : list(dir)) {
            if (!e.attrs.isRegularFile()) {
                keep(Kept.UNRECOGNISED, e.path);
                continue;
            }
            long at = e.mtime();
            Matcher m = QUARANTINED_AT.matcher(e.name());
            if (m.find()) {
                try {
                    at = Math.max(at, Long.parseLong(m.group(1)));
                } catch (NumberFormatException tooBig) {
                    // not a time; the mtime stands
                }
            }
            if (at >= cutoff) {
                keep(Kept.QUARANTINE_RECENT, e.path);
            } else {
                remove(e, Kind.QUARANTINE);
            }
        }
    }

    // ---- manifests and profiles -------------------------------------------------------------

    private void commits(Path dir, Kind kind, Kept recent) {
        for (Entry repo : list(dir)) {
            if (!repo.attrs.isDirectory()) {
                keep(Kept.UNRECOGNISED, repo.path);
                continue;
            }
            Set<String> removedCommits = new HashSet<>();
            Entry refs = null;
            for (Entry e : list(repo.path)) {
                String name = e.name();
                if (kind == Kind.MANIFEST && name.equals("refs") && e.attrs.isDirectory()) {
                    refs = e;
                } else if (e.attrs.isRegularFile() && name.startsWith(".") && name.endsWith(".tmp")) {
                    tmpFile(e);
                } else if (e.attrs.isRegularFile() && name.endsWith(".json") && !name.startsWith(".")) {
                    if (commitFile(e, kind, recent)) {
                        removedCommits.add(stem(name, ".json"));
                    }
                } else {
                    keep(Kept.UNRECOGNISED, e.path);
                }
            }
            if (refs != null) {
                refs(refs.path, repo.path, removedCommits);
            }
        }
    }

    /** Whether the manifest or profile is gone now (removed, or in a dry run would be). */
    private boolean commitFile(Entry e, Kind kind, Kept recent) {
        if (e.mtime() >= cutoff) {
            keep(recent, e.path);
            return false;
        }
        if (!dryRun) {
            // Re-published on use: look again, a node may have written it while we walked.
            e = reread(e);
            if (e == null) {
                return true;
            }
            if (e.mtime() >= cutoff) {
                keep(recent, e.path);
                return false;
            }
        }
        return remove(e, kind);
    }

    /**
     * A ref goes with the manifest it points to; one that points to no manifest at all (a torn
     * save, an older gc's race) goes once it is older than the age.
     */
    private void refs(Path refsDir, Path repoDir, Set<String> removedCommits) {
        for (Entry e : list(refsDir)) {
            if (!e.attrs.isRegularFile()) {
                keep(Kept.UNRECOGNISED, e.path);
                continue;
            }
            String commit = readRef(e);
            Path target = Manifest.isCommit(commit) ? repoDir.resolve(commit + ".json") : null;
            boolean toRemoved = commit != null && removedCommits.contains(commit);
            boolean dangling = target == null || !Files.exists(target, LinkOption.NOFOLLOW_LINKS);
            if (!toRemoved && !(dangling && e.mtime() < cutoff)) {
                keep(Kept.REF_KEPT, e.path);
            } else if (!dryRun && target != null && Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                keep(Kept.REF_KEPT, e.path); // the manifest was published again meanwhile
            } else {
                remove(e, Kind.REF);
            }
        }
    }

    private String readRef(Entry e) {
        if (e.attrs.size() > MAX_REF_BYTES) {
            return null;
        }
        try (InputStream in = Files.newInputStream(e.path, LinkOption.NOFOLLOW_LINKS)) {
            return new String(in.readNBytes(MAX_REF_BYTES), StandardCharsets.US_ASCII).strip();
        } catch (IOException | UnsupportedOperationException ex) {
            return null;
        }
    }

    // ---- files ------------------------------------------------------------------------------

    /** A directory entry with its own attributes (a link's, never its target's). */
    private record Entry(Path path, BasicFileAttributes attrs) {
        String name() {
            return path.getFileName().toString();
        }

        long mtime() {
            return attrs.lastModifiedTime().toMillis();
        }
    }

    /**
     * The entries of {@code dir} sorted by name, links left out (counted, never followed or
     * removed); empty if {@code dir} is absent or is itself a link.
     */
    private List<Entry> list(Path dir) {
        BasicFileAttributes d = attrs(dir);
        if (d == null) {
            return List.of();
        }
        if (d.isSymbolicLink()) {
            keep(Kept.SYMLINK, dir);
            return List.of();
        }
        if (!d.isDirectory()) {
            keep(Kept.UNRECOGNISED, dir);
            return List.of();
        }
        List<Path> paths = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            for (Path p : s) {
                paths.add(p);
            }
        } catch (NoSuchFileException gone) {
            return List.of();
        } catch (IOException e) {
            fail(dir, "cannot list it: " + e);
            return List.of();
        }
        paths.sort(null);
        List<Entry> entries = new ArrayList<>(paths.size());
        for (Path p : paths) {
            BasicFileAttributes a = attrs(p);
            if (a == null) {
                continue;
            }
            if (a.isSymbolicLink()) {
                keep(Kept.SYMLINK, p);
                continue;
            }
            entries.add(new Entry(p, a));
        }
        return entries;
    }

    /** The entry as it is now; null if it is gone or is no longer a plain file. */
    private Entry reread(Entry e) {
        if (e == null) {
            return null;
        }
        BasicFileAttributes a = attrs(e.path);
        return a == null || !a.isRegularFile() ? null : new Entry(e.path, a);
    }

    /** A path's own attributes; null if it is gone (or unreadable, which is recorded as a failure). */
    private BasicFileAttributes attrs(Path p) {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException gone) {
            return null;
        } catch (IOException e) {
            fail(p, "cannot read its attributes: " + e);
            return null;
        }
    }

    static BasicFileAttributes attrsOrNull(Path p) {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Removes one plain file; whether it is gone now. One that vanished first (another gc, another
     * node) is gone, but not reported as freed by this run.
     */
    private boolean remove(Entry e, Kind kind) {
        Path p = e.path.normalize();
        if (!p.startsWith(namespaceDir) || p.equals(namespaceDir)) {
            throw new IllegalStateException("refusing to remove " + p + ": outside the namespace " + namespaceDir);
        }
        Removed r = new Removed(root.relativize(p), kind, e.attrs.size());
        if (dryRun) {
            removed.add(r);
            return true;
        }
        try {
            if (Files.deleteIfExists(p)) {
                removed.add(r);
                LOG.debug("removed {} ({}, {} bytes)", r.path(), kind, r.bytes());
            }
            return true;
        } catch (IOException ex) {
            fail(p, "cannot remove it: " + ex);
            return false;
        }
    }

    private void keep(Kept reason, Path p) {
        kept.merge(reason, 1, Integer::sum);
        if (reason == Kept.SYMLINK || reason == Kept.UNRECOGNISED) {
            LOG.debug("leaving {}: {}", p, reason.description());
        }
    }

    /** The report carries every failure to the caller, who shows it once (the CLI prints each). */
    private void fail(Path p, String reason) {
        LOG.debug("{}: {}", p, reason);
        failures.add(new Failure(root.relativize(p.normalize()), reason));
    }

    private static String stem(String name, String suffix) {
        return name.substring(0, name.length() - suffix.length());
    }
}
