package io.weightfs.fetch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weightfs.manifest.ContentHash;
import io.weightfs.source.RepoFile;
import io.weightfs.testing.FakeSource;
import io.weightfs.testing.PatternContent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EagerFetcherTest {
    private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
    private static final EagerFetcher.Options SMALL_PARTS = new EagerFetcher.Options(3, 64 * 1024, java.time.Duration.ZERO,
            java.time.Duration.ofMillis(1));

    @TempDir
    Path dest;

    private final FakeSource source = new FakeSource();

    private EagerFetcher.Job job(String path, long size, ContentHash.Algorithm algo) {
        PatternContent c = new PatternContent(path.hashCode(), size);
        source.put(path, c);
        return new EagerFetcher.Job(dest.resolve(path), new RepoFile("org/m", COMMIT, c.manifestFile(path, algo), Optional.empty()));
    }

    private List<EagerFetcher.Job> sampleJobs() {
        List<EagerFetcher.Job> jobs = new ArrayList<>();
        jobs.add(job("config.json", 300, ContentHash.Algorithm.GIT_SHA1));
        jobs.add(job("empty.txt", 0, ContentHash.Algorithm.GIT_SHA1));
        jobs.add(job("nested/deeper/model.safetensors", 1_000_003, ContentHash.Algorithm.SHA256));
        jobs.add(job("exactly-one-part.bin", 64 * 1024, ContentHash.Algorithm.SHA256));
        return jobs;
    }

    @Test
    void everyFile_landsVerified_byteForByte() throws Exception {
        List<EagerFetcher.Job> jobs = sampleJobs();
        List<EagerFetcher.Outcome> out = new EagerFetcher(source, SMALL_PARTS).fetch(jobs, new FetchProgress());
        for (EagerFetcher.Outcome o : out) {
            assertEquals(EagerFetcher.Status.DOWNLOADED, o.status(), o.error());
            PatternContent c = new PatternContent(o.job().file().file().path().hashCode(), o.job().file().size());
            assertEquals(-1, c.firstDifference(o.job().destination()), o.job().destination().toString());
        }
        assertNoTemporaryFiles();
    }

    @Test
    void secondRun_downloadsNothing() throws Exception {
        List<EagerFetcher.Job> jobs = sampleJobs();
        new EagerFetcher(source, SMALL_PARTS).fetch(jobs, new FetchProgress());
        int readsAfterFirst = source.reads().size();
        FetchProgress p = new FetchProgress();
        List<EagerFetcher.Outcome> out = new EagerFetcher(source, SMALL_PARTS).fetch(jobs, p);
        assertTrue(out.stream().allMatch(o -> o.status() == EagerFetcher.Status.ALREADY_VERIFIED));
        assertEquals(readsAfterFirst, source.reads().size());
        assertEquals(0, p.snapshot().bytesDownloaded());
    }

    @Test
    void aFileChangedOnDisk_isDownloadedAgain() throws Exception {
        List<EagerFetcher.Job> jobs = sampleJobs();
        new EagerFetcher(source, SMALL_PARTS).fetch(jobs, new FetchProgress());
        Path cfg = dest.resolve("config.json");
        byte[] b = Files.readAllBytes(cfg);
        b[7] ^= 1;
        Files.write(cfg, b);
        List<EagerFetcher.Outcome> out = new EagerFetcher(source, SMALL_PARTS).fetch(jobs, new FetchProgress());
        assertEquals(EagerFetcher.Status.DOWNLOADED,
                out.stream().filter(o -> o.job().destination().equals(cfg)).findFirst().orElseThrow().status());
        assertEquals(-1, new PatternContent("config.json".hashCode(), 300).firstDifference(cfg));
    }

    @Test
    void wrongBytes_areReported_andNothingIsLeftAtTheDestination() throws Exception {
        List<EagerFetcher.Job> jobs = sampleJobs();
        source.corrupt("nested/deeper/model.safetensors");
        FetchProgress p = new FetchProgress();
        List<EagerFetcher.Outcome> out = new EagerFetcher(source, SMALL_PARTS).fetch(jobs, p);
        EagerFetcher.Outcome bad = out.stream()
                .filter(o -> o.job().file().file().path().equals("nested/deeper/model.safetensors")).findFirst().orElseThrow();
        assertEquals(EagerFetcher.Status.FAILED, bad.status());
        assertTrue(bad.error().contains("hashed to"), bad.error());
        assertFalse(Files.exists(bad.job().destination()));
        assertEquals(4, p.snapshot().hashMismatches(), "three retries, then give up");
        assertNoTemporaryFiles();
    }

    @Test
    void aTransientMismatch_isHealedByTheRetry() throws Exception {
        List<EagerFetcher.Job> jobs = List.of(job("w.bin", 200_000, ContentHash.Algorithm.SHA256));
        source.corrupt("w.bin");
        io.weightfs.source.Source healing = new io.weightfs.source.Source() {
            private int calls;

            @Override
            public String name() {
                return "healing";
            }

            @Override
            public io.weightfs.hub.ByteStream open(io.weightfs.source.RepoFile file, long offset, long length,
                    io.weightfs.hub.Deadline deadline) throws java.io.IOException {
                synchronized (this) {
                    if (++calls > 1) {
                        source.heal("w.bin");
                    }
                }
                return source.open(file, offset, length, deadline);
            }
        };
        List<EagerFetcher.Outcome> out = new EagerFetcher(healing, SMALL_PARTS).fetch(jobs, new FetchProgress());
        assertEquals(EagerFetcher.Status.DOWNLOADED, out.get(0).status(), out.get(0).error());
    }

    @Test
    void aSourceFailure_isRetried_andTheFileLandsAllTheSame() throws Exception {
        List<EagerFetcher.Job> jobs = sampleJobs();
        source.failNext(1);
        List<EagerFetcher.Outcome> out = new EagerFetcher(source, SMALL_PARTS.withConnections(1)).fetch(jobs, new FetchProgress());
        assertTrue(out.stream().allMatch(o -> o.status() == EagerFetcher.Status.DOWNLOADED), out.toString());
        assertNoTemporaryFiles();
    }

    @Test
    void aFileTheSourceNeverHas_failsThatFileOnly() throws Exception {
        List<EagerFetcher.Job> jobs = new ArrayList<>(sampleJobs());
        PatternContent ghost = new PatternContent(99, 5000);
        jobs.add(new EagerFetcher.Job(dest.resolve("ghost.bin"),
                new RepoFile("org/m", COMMIT, ghost.manifestFile("ghost.bin", ContentHash.Algorithm.SHA256), Optional.empty())));
        List<EagerFetcher.Outcome> out = new EagerFetcher(source, SMALL_PARTS).fetch(jobs, new FetchProgress());
        assertEquals(1, out.stream().filter(o -> o.status() == EagerFetcher.Status.FAILED).count());
        assertEquals(4, out.stream().filter(o -> o.status() == EagerFetcher.Status.DOWNLOADED).count());
    }

    @Test
    void aFetchStoppedPartWay_isResumedByTheNextRun_fromItsLastDurableByte() throws Exception {
        PatternContent big = new PatternContent(12, 20L * 64 * 1024 + 17);
        source.put("big.bin", big).hold("big.bin");
        List<EagerFetcher.Job> jobs = List.of(new EagerFetcher.Job(dest.resolve("big.bin"),
                new RepoFile("org/m", COMMIT, big.manifestFile("big.bin", ContentHash.Algorithm.SHA256), Optional.empty())));
        // 40 chunks of 16 KiB, then nothing more: the run times out with part of the file durable.
        source.release("big.bin", 40);
        List<EagerFetcher.Outcome> first = new EagerFetcher(source, SMALL_PARTS.withConnections(1).withTimeout(java.time.Duration.ofSeconds(2)))
                .fetch(jobs, new FetchProgress());
        assertEquals(EagerFetcher.Status.FAILED, first.get(0).status());
        assertTrue(first.get(0).error().contains("kept"), first.get(0).error());
        assertFalse(Files.exists(dest.resolve("big.bin")), "nothing half-written at the destination");
        long servedBefore = source.bytesServed();
        source.release("big.bin", Integer.MAX_VALUE / 2);
        FetchProgress p = new FetchProgress();
        List<EagerFetcher.Outcome> second = new EagerFetcher(source, SMALL_PARTS.withConnections(1)).fetch(jobs, p);
        assertEquals(EagerFetcher.Status.DOWNLOADED, second.get(0).status(), second.get(0).error());
        assertEquals(-1, big.firstDifference(dest.resolve("big.bin")));
        long again = source.bytesServed() - servedBefore;
        assertTrue(again <= big.size() - 40L * 16 * 1024 + 64 * 1024, "the second run fetched " + again + " bytes of " + big.size()
                + ", after " + servedBefore + " had arrived: it resumed rather than starting over");
        assertNoTemporaryFiles();
    }

    @Test
    void twoDestinationsOfOneContent_getItFromOneDownload() throws Exception {
        PatternContent c = new PatternContent(77, 300_000);
        source.put("a/w.bin", c).put("b/w.bin", c);
        List<EagerFetcher.Job> jobs = List.of(
                new EagerFetcher.Job(dest.resolve("a/w.bin"), new RepoFile("org/m", COMMIT, c.manifestFile("a/w.bin", ContentHash.Algorithm.SHA256),
                        Optional.empty())),
                new EagerFetcher.Job(dest.resolve("b/w.bin"), new RepoFile("org/n", COMMIT, c.manifestFile("b/w.bin", ContentHash.Algorithm.SHA256),
                        Optional.empty())));
        List<EagerFetcher.Outcome> out = new EagerFetcher(source, SMALL_PARTS).fetch(jobs, new FetchProgress());
        assertTrue(out.stream().allMatch(o -> o.status() == EagerFetcher.Status.DOWNLOADED), out.toString());
        assertEquals(c.size(), source.bytesServed());
        assertEquals(-1, c.firstDifference(dest.resolve("a/w.bin")));
        assertEquals(-1, c.firstDifference(dest.resolve("b/w.bin")));
    }

    @Test
    void theTemporaryName_staysShort_whateverTheDestinationsName() {
        Path longName = dest.resolve("x".repeat(244));
        PatternContent c = new PatternContent(1, 10);
        Path staged = EagerFetcher.stagingPath(longName, c.hash(ContentHash.Algorithm.SHA256));
        assertTrue(staged.getFileName().toString().length() + ".state".length() <= 255, staged.getFileName().toString());
        assertEquals(longName.getParent(), staged.getParent());
    }

    private void assertNoTemporaryFiles() throws Exception {
        try (Stream<Path> s = Files.walk(dest)) {
            List<Path> temps = s.filter(p -> p.getFileName().toString().startsWith(EagerFetcher.INCOMPLETE_PREFIX)).toList();
            assertTrue(temps.isEmpty(), "left behind: " + temps);
        }
    }
}
