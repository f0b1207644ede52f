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
    private static final EagerFetcher.Options SMALL_PARTS = new EagerFetcher.Options(3, 64 * 1024, 2);

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
        assertTrue(bad.error().contains("hash mismatch"), bad.error());
        assertFalse(Files.exists(bad.job().destination()));
        assertEquals(2, p.snapshot().hashMismatches(), "one retry, then give up");
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
            public void read(io.weightfs.source.RepoFile file, long offset, long length, io.weightfs.hub.RangeSink sink)
                    throws java.io.IOException {
                synchronized (this) {
                    if (++calls > 4) {
                        source.heal("w.bin");
                    }
                }
                source.read(file, offset, length, sink);
            }
        };
        List<EagerFetcher.Outcome> out = new EagerFetcher(healing, SMALL_PARTS).fetch(jobs, new FetchProgress());
        assertEquals(EagerFetcher.Status.DOWNLOADED, out.get(0).status(), out.get(0).error());
    }

    @Test
    void aSourceFailure_failsThatFileOnly() throws Exception {
        List<EagerFetcher.Job> jobs = sampleJobs();
        source.failNext(1);
        List<EagerFetcher.Outcome> out = new EagerFetcher(source, new EagerFetcher.Options(1, 64 * 1024, 1)).fetch(jobs, new FetchProgress());
        assertEquals(1, out.stream().filter(o -> o.status() == EagerFetcher.Status.FAILED).count());
        assertNoTemporaryFiles();
    }

    private void assertNoTemporaryFiles() throws Exception {
        try (Stream<Path> s = Files.walk(dest)) {
            List<Path> temps = s.filter(p -> p.getFileName().toString().endsWith(EagerFetcher.INCOMPLETE_SUFFIX)).toList();
            assertTrue(temps.isEmpty(), "left behind: " + temps);
        }
    }
}
