package io.weightfs.gc;

import io.weightfs.source.SharedTier;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code weightfs gc} for the shared cache tier: removes what no node has used for a given age.
 *
 * <p><b>What counts as use.</b> A blob's last use is the newest mtime of the blob, its
 * {@code .blocks} list and its {@code .used} marker. Nodes touch {@code .used} at most hourly, so
 * normally that is the marker's mtime; the blob's and the list's own mtimes are their publish time,
 * which is a use too (and they cover a marker that a quarantine left behind, or a touch that
 * failed). A manifest or profile is re-published on use, so its mtime is its last use.
 *
 * <p><b>What is never removed.</b> A blob whose lease ({@code leases/<algo>-<hash>.lease}) has not
 * expired: an upload or a refresh of it is in progress. Nothing outside the namespace directories
 * that were asked for; no symbolic link is followed or removed; no directory is removed (an empty
 * {@code ab/} or repo directory costs nothing, and removing one could fail another node's rename
 * into it).
 *
 * <p><b>Order and races.</b> The tier has no lock, and other nodes (and other gcs) keep working
 * while this runs. Just before removing a blob its mtimes and lease are read again, which narrows
 * the window for a use that came in during the walk to microseconds; a node that still loses that
 * race falls back to the Hub and re-publishes. A blob is removed before its list (a reader that
 * sees a blob must always find its list; a list without a blob is harmless), and the list only if
 * it is itself older than the age, no live lease exists and no blob is back: a publish in progress
 * writes a fresh list before it renames its blob into place, so its list is never taken. Every
 * removal is {@link Files#deleteIfExists}: a file another gc removed first is not an error.
 *
 * <p>Not for concurrent use of one instance; two instances (on two nodes) may run on one tier at
 * once. Time comes from the injected {@link Clock} only.
 */
public final class SharedGc {
    private static final Logger LOG = LoggerFactory.getLogger(SharedGc.class);
    /**
     * Floor on the age of an abandoned upload in {@code tmp/}: an upload in progress writes its part
     * file continuously, so its mtime is fresh; a day is far beyond any upload, even with a short
     * {@code --unused-for}.
     */
    public static final Duration TMP_MIN_AGE = Duration.ofDays(1);
    /**
     * {@link SharedTier}'s rule for a namespace (an organisation name), repeated here: constructing a
     * SharedTier to check a name would start its lease renewer. Keep the two in step.
     */
    private static final Pattern NAMESPACE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private final Path root;
    private final Optional<String> namespace;
    private final Clock clock;

    /**
     * @param root the shared tier's root, the directory that holds one directory per namespace
     * @param namespace the one namespace to collect; every namespace under the root when empty
     * @throws IllegalArgumentException if the namespace is not a valid organisation name
     */
    public SharedGc(Path root, Optional<String> namespace, Clock clock) {
        this.root = Objects.requireNonNull(root, "root");
        this.namespace = Objects.requireNonNull(namespace, "namespace");
        this.clock = Objects.requireNonNull(clock, "clock");
        namespace.ifPresent(ns -> {
            if (!NAMESPACE.matcher(ns).matches()) {
                throw new IllegalArgumentException("namespace '" + ns + "' must be letters, digits, '.', '_' or '-' (an organisation name)");
            }
        });
    }

    /**
     * Removes (or, with {@code dryRun}, only lists) everything unused for longer than
     * {@code unusedFor}.
     *
     * @throws IllegalArgumentException if the age is not positive, or the root does not look like a
     *     shared tier (no namespace directory with {@code blobs/} or {@code manifests/} under it), or
     *     the namespace asked for is not there
     * @throws IOException if the root cannot be read at all; a file that cannot be removed is a
     *     {@link Failure} in the report instead, and the rest is still collected
     */
    public Report run(Duration unusedFor, boolean dryRun) throws IOException {
        if (unusedFor.isNegative() || unusedFor.isZero()) {
            throw new IllegalArgumentException("the age must be more than zero, not " + unusedFor);
        }
        Path realRoot;
        try {
            realRoot = root.toRealPath();
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(root + " does not exist; give the shared tier's root directory");
        }
        if (!Files.isDirectory(realRoot)) {
            throw new IllegalArgumentException(root + " is not a directory; give the shared tier's root directory");
        }
        List<Path> dirs = namespaceDirs(realRoot);
        Instant now = clock.instant();
        long cutoff = now.toEpochMilli() - unusedFor.toMillis();
        long tmpCutoff = now.toEpochMilli() - max(unusedFor, TMP_MIN_AGE).toMillis();
        GcPass pass = new GcPass(realRoot, now.toEpochMilli(), cutoff, tmpCutoff, dryRun);
        List<String> names = new ArrayList<>();
        for (Path dir : dirs) {
            names.add(dir.getFileName().toString());
            pass.namespace(dir);
        }
        Report report = new Report(realRoot, names, now, Instant.ofEpochMilli(cutoff), dryRun,
                pass.removed(), pass.kept(), pass.failures());
        LOG.debug("{} {} files ({} bytes) unused since {} from the shared tier {} ({}); {} failures",
                dryRun ? "would remove" : "removed", report.removed().size(), report.bytesFreed(), report.cutoff(),
                realRoot, String.join(", ", names), report.failures().size());
        return report;
    }

    private List<Path> namespaceDirs(Path realRoot) throws IOException {
        if (namespace.isPresent()) {
            String ns = namespace.get();
            Path dir = realRoot.resolve(ns);
            BasicFileAttributes a = GcPass.attrsOrNull(dir);
            if (a != null && a.isSymbolicLink()) {
                throw new IllegalArgumentException(dir + " is a symbolic link; weightfs gc never follows links out of the tier");
            }
            if (a == null || !looksLikeNamespace(dir)) {
                List<String> found = new ArrayList<>();
                for (Path d : discover(realRoot)) {
                    found.add(d.getFileName().toString());
                }
                throw new IllegalArgumentException("no namespace '" + ns + "' (a directory with blobs/ or manifests/) in the shared tier "
                        + realRoot + (found.isEmpty() ? "; that directory does not look like a shared tier at all"
                                : "; it has " + String.join(", ", found)));
            }
            return List.of(dir);
        }
        List<Path> all = discover(realRoot);
        if (all.isEmpty()) {
            throw new IllegalArgumentException(realRoot + " does not look like a weightfs shared tier: no <namespace>/blobs or "
                    + "<namespace>/manifests directory under it; give the directory that --shared names when mounting");
        }
        return all;
    }

    /** The namespace directories under the root, sorted by name; links are skipped, never followed. */
    private List<Path> discover(Path realRoot) throws IOException {
        List<Path> found = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(realRoot)) {
            for (Path p : s) {
                BasicFileAttributes a = GcPass.attrsOrNull(p);
                if (a == null || !a.isDirectory() || !NAMESPACE.matcher(p.getFileName().toString()).matches()) {
                    if (a != null && a.isSymbolicLink()) {
                        LOG.warn("skipping {}: a symbolic link, and weightfs gc never follows links out of the tier", p);
                    }
                    continue;
                }
                if (looksLikeNamespace(p)) {
                    found.add(p);
                }
            }
        }
        found.sort(null);
        return found;
    }

    private static boolean looksLikeNamespace(Path dir) {
        return Files.isDirectory(dir.resolve("blobs"), LinkOption.NOFOLLOW_LINKS)
                || Files.isDirectory(dir.resolve("manifests"), LinkOption.NOFOLLOW_LINKS);
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    /** What a removed file was. */
    public enum Kind {
        /** A blob, removed with its list and marker (which are reported on their own). */
        BLOB,
        /** The {@code .blocks} list of a removed blob. */
        BLOCK_LIST,
        /** The {@code .used} marker of a removed blob. */
        USE_MARKER,
        /** A {@code .blocks} or {@code .used} whose blob was gone. */
        ORPHAN,
        /** An abandoned upload in {@code tmp/}, or a torn manifest or profile write. */
        TMP,
        /** An expired lease file. */
        LEASE,
        /** A quarantined blob or list. */
        QUARANTINE,
        /** A manifest, {@code manifests/<org>--<name>/<commit>.json}. */
        MANIFEST,
        /** A branch or tag ref whose manifest is gone. */
        REF,
        /** An access profile, {@code profiles/<org>--<name>/<commit>.json}. */
        PROFILE
    }

    /** Why something old enough to look at was kept, or was not looked at. */
    public enum Kept {
        BLOB_LIVE_LEASE("protected by a live lease"),
        BLOB_RECENTLY_USED("recently used"),
        ORPHAN_PROTECTED("list or marker without its blob, recent or under a live lease"),
        TMP_RECENT("upload younger than the age (and at least a day)"),
        LEASE_LIVE("lease not expired"),
        LEASE_RECENT("lease expired less than the age ago"),
        QUARANTINE_RECENT("quarantined less than the age ago"),
        MANIFEST_RECENT("manifest used recently"),
        REF_KEPT("ref to a kept manifest, or recent"),
        PROFILE_RECENT("profile used recently"),
        SYMLINK("symbolic link, left alone"),
        UNRECOGNISED("not part of the tier's layout, left alone");

        private final String description;

        Kept(String description) {
            this.description = description;
        }

        public String description() {
            return description;
        }
    }

    /** One file removed (or, in a dry run, that would be), its path relative to the tier's root. */
    public record Removed(Path path, Kind kind, long bytes) {}

    /** A file that could not be removed or read; everything else was still collected. */
    public record Failure(Path path, String reason) {}

    /**
     * What a run did.
     *
     * @param root the tier's root, links resolved; {@link Removed#path()} is relative to it
     * @param namespaces the namespaces collected
     * @param cutoff anything last used before this instant was removed
     * @param removed in walk order: per namespace blobs, leases, tmp, quarantine, manifests, profiles
     * @param kept how many files were kept, by reason
     */
    public record Report(Path root, List<String> namespaces, Instant now, Instant cutoff, boolean dryRun,
            List<Removed> removed, Map<Kept, Integer> kept, List<Failure> failures) {
        public Report {
            namespaces = List.copyOf(namespaces);
            removed = List.copyOf(removed);
            EnumMap<Kept, Integer> k = new EnumMap<>(Kept.class);
            k.putAll(kept);
            kept = Collections.unmodifiableMap(k);
            failures = List.copyOf(failures);
        }

        /** Bytes freed (or that a dry run would free). */
        public long bytesFreed() {
            return removed.stream().mapToLong(Removed::bytes).sum();
        }

        public int removedCount(Kind kind) {
            return (int) removed.stream().filter(r -> r.kind() == kind).count();
        }

        public int keptCount(Kept reason) {
            return kept.getOrDefault(reason, 0);
        }

        /** Blobs kept, for either reason. */
        public int keptBlobs() {
            return keptCount(Kept.BLOB_LIVE_LEASE) + keptCount(Kept.BLOB_RECENTLY_USED);
        }
    }
}
