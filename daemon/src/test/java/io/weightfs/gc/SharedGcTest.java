package io.weightfs.gc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weightfs.gc.SharedGc.Kept;
import io.weightfs.gc.SharedGc.Kind;
import io.weightfs.gc.SharedGc.Removed;
import io.weightfs.gc.SharedGc.Report;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A shared tier built in a temporary directory, every mtime set by hand, collected with a fixed
 * clock: no sleeps, no real days.
 */
class SharedGcTest {
    private static final Instant NOW = Instant.parse("2030-06-01T12:00:00Z");
    private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
    private static final Duration AGE = Duration.ofHours(96);
    /** Well past the age. */
    private static final Instant OLD = NOW.minus(Duration.ofDays(10));
    /** Well within it. */
    private static final Instant RECENT = NOW.minus(Duration.ofHours(2));
    private static final String A = "ab" + "1".repeat(62);
    private static final String B = "cd" + "2".repeat(62);
    private static final String C = "ef" + "3".repeat(62);
    private static final String COMMIT_OLD = "0".repeat(40);
    private static final String COMMIT_NEW = "1".repeat(40);

    @TempDir
    Path root;

    @TempDir
    Path outside;

    /** The tier's one invariant, after every test: a blob is never without its list. */
    @AfterEach
    void everyBlobLeftStillHasItsList() throws IOException {
        try (Stream<Path> files = Files.walk(root)) {
            for (Path p : files.filter(Files::isRegularFile).toList()) {
                String name = p.getFileName().toString();
                if (name.matches("[0-9a-f]{40,64}") && p.getParent().getParent().getParent().endsWith("blobs")) {
                    assertTrue(Files.exists(p.resolveSibling(name + ".blocks")), p + " lost its list");
                }
            }
        }
    }

    @Test
    void anOldBlob_isRemovedWithItsListAndItsUseMarker_andItsBytesAreCounted() throws IOException {
        Path blob = blob("acme", A, 1000, OLD);
        used("acme", A, OLD.plus(Duration.ofDays(1)));

        Report r = gc(Optional.empty(), false);

        assertFalse(Files.exists(blob));
        assertFalse(Files.exists(sibling(blob, ".blocks")));
        assertFalse(Files.exists(sibling(blob, ".used")));
        assertEquals(1, r.removedCount(Kind.BLOB));
        assertEquals(1, r.removedCount(Kind.BLOCK_LIST));
        assertEquals(1, r.removedCount(Kind.USE_MARKER));
        assertEquals(1000 + 32 + 0, r.bytesFreed());
        assertEquals(List.of(rel(blob), rel(sibling(blob, ".blocks")), rel(sibling(blob, ".used"))),
                r.removed().stream().map(Removed::path).toList(), "the blob goes before its list");
        assertTrue(r.failures().isEmpty());
    }

    @Test
    void aBlobUsedRecently_isKept_thoughTheBlobItselfIsOld() throws IOException {
        Path blob = blob("acme", A, 1000, OLD);
        used("acme", A, RECENT);

        Report r = gc(Optional.empty(), false);

        assertTrue(Files.exists(blob));
        assertTrue(Files.exists(sibling(blob, ".used")));
        assertEquals(List.of(), r.removed());
        assertEquals(1, r.keptCount(Kept.BLOB_RECENTLY_USED));
    }

    @Test
    void aBlobWithoutAUseMarker_goesByItsOwnMtime() throws IOException {
        Path fresh = blob("acme", A, 10, RECENT);
        Path old = blob("acme", B, 10, OLD);

        Report r = gc(Optional.empty(), false);

        assertTrue(Files.exists(fresh));
        assertFalse(Files.exists(old));
        assertEquals(1, r.keptCount(Kept.BLOB_RECENTLY_USED));
        assertEquals(1, r.removedCount(Kind.BLOB));
    }

    @Test
    void anOldBlobUnderALiveLease_isKept_andSoIsTheLease() throws IOException {
        Path blob = blob("acme", A, 1000, OLD);
        used("acme", A, OLD);
        Path lease = lease("acme", A, NOW.plus(Duration.ofMinutes(3)), OLD);

        Report r = gc(Optional.empty(), false);

        assertTrue(Files.exists(blob));
        assertTrue(Files.exists(sibling(blob, ".blocks")));
        assertTrue(Files.exists(lease));
        assertEquals(1, r.keptCount(Kept.BLOB_LIVE_LEASE));
        assertEquals(1, r.keptCount(Kept.LEASE_LIVE));
        assertEquals(List.of(), r.removed());
    }

    @Test
    void aLeaseCaughtBeforeItsFirstWrite_countsAsLive() throws IOException {
        Path blob = blob("acme", A, 1000, OLD);
        Path lease = file(root.resolve("acme/leases/sha256-" + A + ".lease"), "", NOW.minusSeconds(1));

        Report r = gc(Optional.empty(), false);

        assertTrue(Files.exists(blob));
        assertTrue(Files.exists(lease));
        assertEquals(1, r.keptCount(Kept.BLOB_LIVE_LEASE));
    }

    @Test
    void anOldBlobWhoseLeaseExpired_isRemoved_andSoIsTheOldLease() throws IOException {
        Path blob = blob("acme", A, 1000, OLD);
        Path lease = lease("acme", A, OLD.plus(Duration.ofMinutes(5)), OLD);
        Path takenOver = file(root.resolve("acme/leases/sha256-" + B + ".lease.expired.1f2e"),
                "owner=n1:1\nexpires=" + OLD.toEpochMilli() + "\n", OLD);
        Path recentlyExpired = lease("acme", C, RECENT, RECENT.minus(Duration.ofMinutes(5)));

        Report r = gc(Optional.empty(), false);

        assertFalse(Files.exists(blob));
        assertFalse(Files.exists(lease));
        assertFalse(Files.exists(takenOver));
        assertTrue(Files.exists(recentlyExpired), "expired, but less than the age ago");
        assertEquals(2, r.removedCount(Kind.LEASE));
        assertEquals(1, r.keptCount(Kept.LEASE_RECENT));
    }

    @Test
    void orphanedListsAndMarkers_andAbandonedUploads_areRemoved_butFreshOnesAreKept() throws IOException {
        Path oldList = file(blobPath("acme", A).resolveSibling(A + ".blocks"), "list", OLD);
        Path oldMarker = file(blobPath("acme", B).resolveSibling(B + ".used"), "", OLD);
        // A publish in progress: its list is renamed into place just before its blob.
        Path publishing = file(blobPath("acme", C).resolveSibling(C + ".blocks"), "list", NOW.minusSeconds(5));
        Path oldPart = file(root.resolve("acme/tmp/" + A + ".n1_1.77.part"), "partial", OLD);
        Path livePart = file(root.resolve("acme/tmp/" + B + ".n2_1.78.part"), "partial", NOW.minusSeconds(30));

        Report r = gc(Optional.empty(), false);

        assertFalse(Files.exists(oldList));
        assertFalse(Files.exists(oldMarker));
        assertTrue(Files.exists(publishing));
        assertFalse(Files.exists(oldPart));
        assertTrue(Files.exists(livePart));
        assertEquals(2, r.removedCount(Kind.ORPHAN));
        assertEquals(1, r.removedCount(Kind.TMP));
        assertEquals(1, r.keptCount(Kept.ORPHAN_PROTECTED));
        assertEquals(1, r.keptCount(Kept.TMP_RECENT));
    }

    @Test
    void anUploadInTmp_isKeptForADay_evenWithAShortAge() throws IOException {
        blob("acme", A, 1, OLD);
        Path hoursOld = file(root.resolve("acme/tmp/x.part"), "partial", NOW.minus(Duration.ofHours(5)));
        Path dayOld = file(root.resolve("acme/tmp/y.part"), "partial", NOW.minus(Duration.ofHours(25)));

        Report r = gc(Optional.empty(), Duration.ofHours(1), false);

        assertTrue(Files.exists(hoursOld));
        assertFalse(Files.exists(dayOld));
        assertEquals(1, r.removedCount(Kind.TMP));
    }

    @Test
    void aQuarantinedFile_goesByWhenItWasQuarantined_notByTheBlobsOldMtime() throws IOException {
        Path justQuarantined = file(root.resolve("acme/quarantine/" + A + "." + RECENT.toEpochMilli() + ".9f"), "bad", OLD);
        Path longAgo = file(root.resolve("acme/quarantine/" + B + ".blocks." + OLD.toEpochMilli() + ".a0"), "bad", OLD);
        blob("acme", C, 1, RECENT);

        Report r = gc(Optional.empty(), false);

        assertTrue(Files.exists(justQuarantined));
        assertFalse(Files.exists(longAgo));
        assertEquals(1, r.removedCount(Kind.QUARANTINE));
        assertEquals(1, r.keptCount(Kept.QUARANTINE_RECENT));
    }

    @Test
    void manifestsAndProfiles_goByAge_andARefGoesWithItsManifest() throws IOException {
        Path repo = root.resolve("acme/manifests/org--model");
        Path oldManifest = file(repo.resolve(COMMIT_OLD + ".json"), "{}", OLD);
        Path newManifest = file(repo.resolve(COMMIT_NEW + ".json"), "{}", RECENT);
        // A ref is saved with its manifest; the one to the old commit is as old, but goes with it regardless.
        Path refToOld = file(repo.resolve("refs/v1"), COMMIT_OLD, RECENT);
        Path refToNew = file(repo.resolve("refs/main"), COMMIT_NEW, OLD);
        Path dangling = file(repo.resolve("refs/gone"), "2".repeat(40), OLD);
        Path tornSave = file(repo.resolve("." + COMMIT_NEW + ".json.5e.tmp"), "{", NOW.minus(Duration.ofDays(5)));
        Path oldProfile = file(root.resolve("acme/profiles/org--model/" + COMMIT_OLD + ".json"), "{}", OLD);
        Path newProfile = file(root.resolve("acme/profiles/org--model/" + COMMIT_NEW + ".json"), "{}", RECENT);

        Report r = gc(Optional.empty(), false);

        assertFalse(Files.exists(oldManifest));
        assertTrue(Files.exists(newManifest));
        assertFalse(Files.exists(refToOld));
        assertTrue(Files.exists(refToNew));
        assertFalse(Files.exists(dangling));
        assertFalse(Files.exists(tornSave));
        assertFalse(Files.exists(oldProfile));
        assertTrue(Files.exists(newProfile));
        assertEquals(1, r.removedCount(Kind.MANIFEST));
        assertEquals(2, r.removedCount(Kind.REF));
        assertEquals(1, r.removedCount(Kind.PROFILE));
        assertEquals(1, r.removedCount(Kind.TMP));
        assertEquals(1, r.keptCount(Kept.MANIFEST_RECENT));
        assertEquals(1, r.keptCount(Kept.PROFILE_RECENT));
        assertEquals(1, r.keptCount(Kept.REF_KEPT));
    }

    @Test
    void aDryRun_removesNothing_butReportsWhatARealRunThenRemoves() throws IOException {
        mixedTier("acme");
        Set<Path> before = allFiles();

        Report dry = gc(Optional.empty(), true);

        assertEquals(before, allFiles(), "a dry run changed the tier");
        assertTrue(dry.dryRun());
        assertFalse(dry.removed().isEmpty());

        Report real = gc(Optional.empty(), false);

        assertEquals(dry.removed(), real.removed());
        assertEquals(dry.kept(), real.kept());
        assertEquals(dry.bytesFreed(), real.bytesFreed());
        Set<Path> gone = new TreeSet<>(before);
        gone.removeAll(allFiles());
        assertEquals(dry.removed().stream().map(x -> root.resolve(x.path())).collect(Collectors.toCollection(TreeSet::new)), gone);
    }

    @Test
    void aSecondRun_findsNothingMore() throws IOException {
        mixedTier("acme");
        gc(Optional.empty(), false);

        Report again = gc(Optional.empty(), false);

        assertEquals(List.of(), again.removed());
    }

    @Test
    void givenANamespace_anotherNamespaceIsUntouched() throws IOException {
        mixedTier("acme");
        mixedTier("other");
        Set<Path> otherBefore = allFiles().stream().filter(p -> p.startsWith(root.resolve("other"))).collect(Collectors.toSet());

        Report r = gc(Optional.of("acme"), false);

        assertEquals(List.of("acme"), r.namespaces());
        assertEquals(otherBefore, allFiles().stream().filter(p -> p.startsWith(root.resolve("other"))).collect(Collectors.toSet()));
        assertTrue(r.removed().stream().allMatch(x -> x.path().startsWith("acme")));
        assertFalse(Files.exists(blobPath("acme", A)));
    }

    @Test
    void withoutANamespace_everyNamespaceIsCollected_andStrayDirectoriesAreLeftAlone() throws IOException {
        mixedTier("acme");
        mixedTier("other");
        Path stray = file(root.resolve("lost+found/old"), "x", OLD);

        Report r = gc(Optional.empty(), false);

        assertEquals(List.of("acme", "other"), r.namespaces());
        assertFalse(Files.exists(blobPath("acme", A)));
        assertFalse(Files.exists(blobPath("other", A)));
        assertTrue(Files.exists(stray));
    }

    @Test
    void aDirectoryThatIsNotATier_isRefused_withItsPathInTheMessage() throws IOException {
        file(root.resolve("home/user/notes.txt"), "x", OLD);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> gc(Optional.empty(), false));
        assertTrue(e.getMessage().contains("does not look like a weightfs shared tier"), e.getMessage());
        assertTrue(e.getMessage().contains(root.toRealPath().toString()), e.getMessage());
        assertTrue(Files.exists(root.resolve("home/user/notes.txt")));

        assertThrows(IllegalArgumentException.class,
                () -> new SharedGc(root.resolve("absent"), Optional.empty(), CLOCK).run(AGE, false));
    }

    @Test
    void aNamespaceThatIsNotThere_orIsNotAName_isRefused() throws IOException {
        mixedTier("acme");

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> gc(Optional.of("nope"), false));
        assertTrue(e.getMessage().contains("'nope'") && e.getMessage().contains("acme"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new SharedGc(root, Optional.of("../acme"), CLOCK));
        assertThrows(IllegalArgumentException.class, () -> new SharedGc(root, Optional.empty(), CLOCK).run(Duration.ZERO, false));
    }

    @Test
    void symbolicLinks_areNeverFollowedOutOfTheTier_norRemoved() throws IOException {
        mixedTier("acme");
        Path precious = file(outside.resolve("blobs/sha256/ab/" + A), "precious", OLD);
        file(outside.resolve("blobs/sha256/ab/" + A + ".blocks"), "list", OLD);
        Path linkedFan = Files.createSymbolicLink(root.resolve("acme/blobs/sha256/zz"), outside.resolve("blobs/sha256/ab"));
        Path linkedFile = Files.createSymbolicLink(root.resolve("acme/tmp/link.part"), precious);
        Path linkedNamespace = Files.createSymbolicLink(root.resolve("elsewhere"), outside);

        Report r = gc(Optional.empty(), false);

        assertTrue(Files.exists(precious));
        assertTrue(Files.isSymbolicLink(linkedFan));
        assertTrue(Files.isSymbolicLink(linkedFile));
        assertEquals(List.of("acme"), r.namespaces());
        assertEquals(2, r.keptCount(Kept.SYMLINK));
        assertThrows(IllegalArgumentException.class, () -> gc(Optional.of("elsewhere"), false));
        assertTrue(Files.isSymbolicLink(linkedNamespace));
    }

    @Test
    void filesOutsideTheLayout_areLeftAlone() throws IOException {
        blob("acme", A, 1, OLD);
        Path odd = file(blobPath("acme", A).resolveSibling("README"), "x", OLD);
        Path note = file(root.resolve("acme/notes.txt"), "x", OLD);

        Report r = gc(Optional.empty(), false);

        assertTrue(Files.exists(odd));
        assertTrue(Files.exists(note));
        assertEquals(1, r.keptCount(Kept.UNRECOGNISED));
    }

    // ---- fixture ----------------------------------------------------------------------------

    private Report gc(Optional<String> namespace, boolean dryRun) throws IOException {
        return gc(namespace, AGE, dryRun);
    }

    /**
     * A real run is preceded by a dry run, which must change nothing and report the same: so every
     * test checks both the dry run and the re-checks that only a real run makes.
     */
    private Report gc(Optional<String> namespace, Duration age, boolean dryRun) throws IOException {
        SharedGc gc = new SharedGc(root, namespace, CLOCK);
        if (dryRun) {
            return gc.run(age, true);
        }
        Set<Path> before = allFiles();
        Report dry = gc.run(age, true);
        assertEquals(before, allFiles(), "a dry run changed the tier");
        Report real = gc.run(age, false);
        assertEquals(dry.removed(), real.removed(), "the dry run and the real run disagree on what goes");
        assertEquals(dry.kept(), real.kept(), "the dry run and the real run disagree on what stays");
        return real;
    }

    /** One of everything: kept and removed blobs, leases, tmp, quarantine, manifests, profiles. */
    private void mixedTier(String ns) throws IOException {
        blob(ns, A, 100, OLD);
        used(ns, A, OLD);
        blob(ns, B, 200, OLD);
        used(ns, B, RECENT);
        blob(ns, C, 300, OLD);
        lease(ns, C, NOW.plus(Duration.ofMinutes(4)), NOW.minusSeconds(60));
        file(root.resolve(ns + "/tmp/old.part"), "p", OLD);
        file(root.resolve(ns + "/quarantine/" + A + "." + OLD.toEpochMilli() + ".1"), "q", OLD);
        file(root.resolve(ns + "/manifests/org--m/" + COMMIT_OLD + ".json"), "{}", OLD);
        file(root.resolve(ns + "/manifests/org--m/refs/main"), COMMIT_OLD, OLD);
        file(root.resolve(ns + "/manifests/org--m/" + COMMIT_NEW + ".json"), "{}", RECENT);
        file(root.resolve(ns + "/profiles/org--m/" + COMMIT_OLD + ".json"), "{}", OLD);
    }

    private Path blobPath(String ns, String hex) {
        return root.resolve(ns).resolve("blobs/sha256").resolve(hex.substring(0, 2)).resolve(hex);
    }

    /** A blob of {@code size} bytes and its 32-byte list, both with the given mtime. */
    private Path blob(String ns, String hex, int size, Instant mtime) throws IOException {
        Path p = blobPath(ns, hex);
        file(p.resolveSibling(hex + ".blocks"), "b".repeat(32), mtime);
        return file(p, "x".repeat(size), mtime);
    }

    private Path used(String ns, String hex, Instant mtime) throws IOException {
        return file(blobPath(ns, hex).resolveSibling(hex + ".used"), "", mtime);
    }

    /** A lease in SharedTier.Lease's format. */
    private Path lease(String ns, String hex, Instant expires, Instant mtime) throws IOException {
        return file(root.resolve(ns + "/leases/sha256-" + hex + ".lease"),
                "owner=node-1:42\nexpires=" + expires.toEpochMilli() + "\n", mtime);
    }

    private static Path file(Path p, String content, Instant mtime) throws IOException {
        Files.createDirectories(p.getParent());
        Files.writeString(p, content, StandardCharsets.UTF_8);
        Files.setLastModifiedTime(p, FileTime.from(mtime));
        return p;
    }

    private static Path sibling(Path blob, String suffix) {
        return blob.resolveSibling(blob.getFileName() + suffix);
    }

    /** As the report names it: relative to the root. */
    private Path rel(Path p) {
        return root.relativize(p);
    }

    private Set<Path> allFiles() throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(p -> !Files.isDirectory(p)).collect(Collectors.toCollection(TreeSet::new));
        }
    }
}
