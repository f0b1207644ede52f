package io.weightfs.control;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.weightfs.fetch.BlockFetcher;
import io.weightfs.fetch.Prefetcher;
import io.weightfs.fetch.Reader;
import io.weightfs.fs.ControlFiles;
import io.weightfs.fs.FsException;
import io.weightfs.fs.WeightFs;
import io.weightfs.manifest.ContentHash;
import io.weightfs.source.TieredSource;
import io.weightfs.store.Blob;
import io.weightfs.store.BlockStore;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * The mount's status, read from the parts' own counters: the text of {@code /.weightfs/status.json}
 * (per-file and total progress, bytes by source and class, errors, what was served before it could
 * be verified) and of {@code /.weightfs/wait}. Nothing here changes anything; it only looks.
 *
 * <p>Thread-safe: every figure comes from a thread-safe part; a status is rendered on the caller's
 * thread, walking every file once.
 */
public final class MountStatus implements ControlFiles {
    private final List<WeightFs.MountedFile> files;
    private final BlockStore store;
    private final BlockFetcher fetcher;
    private final Prefetcher prefetcher;
    private final Reader reader;
    private final Optional<TieredSource> tiered;
    private final Clock clock;
    private final long startMillis;

    public MountStatus(List<WeightFs.MountedFile> files, BlockStore store, BlockFetcher fetcher, Prefetcher prefetcher, Reader reader,
            Optional<TieredSource> tiered, Clock clock) {
        this.files = List.copyOf(files);
        this.store = store;
        this.fetcher = fetcher;
        this.prefetcher = prefetcher;
        this.reader = reader;
        this.tiered = tiered;
        this.clock = clock;
        this.startMillis = clock.millis();
    }

    /** Why a file failed, if it did: the fill gave up on it, or bytes served of it were wrong. */
    private Optional<String> failure(ContentHash hash, Map<ContentHash, String> servedWrong) {
        String wrong = servedWrong.get(hash);
        if (wrong != null) {
            return Optional.of(wrong);
        }
        return prefetcher.failure(hash);
    }

    /** One file as the status sees it now. */
    private record FileState(WeightFs.MountedFile file, long present, boolean verified, Optional<String> failure) {}

    private List<FileState> fileStates(Map<ContentHash, String> servedWrong) {
        List<FileState> out = new ArrayList<>(files.size());
        for (WeightFs.MountedFile f : files) {
            ContentHash hash = f.file().file().hash();
            Optional<Blob> blob = store.openedBlob(hash);
            boolean verified = blob.map(Blob::isVerified).orElse(false);
            long present = verified ? f.file().size() : blob.map(Blob::presentBytes).orElse(0L);
            out.add(new FileState(f, present, verified, failure(hash, servedWrong)));
        }
        return out;
    }

    /**
     * Where the mount stands: the status file's totals, and what the metrics' gauges show.
     *
     * @param blobs the mount's distinct contents (two files with the same content are one blob)
     * @param state {@code filling}, {@code stalled} (the store has had no room for a while),
     *     {@code complete} or {@code failed}
     */
    public record Summary(int files, int filesVerified, int filesFailed, long bytes, long bytesPresent, long bytesVerified,
            int blobs, int blobsVerified, int blobsFailed, String state) {}

    /** The totals now (walks every file once). */
    public Summary summary() {
        return summary(fileStates(reader.servedWrong()));
    }

    private Summary summary(List<FileState> states) {
        int verified = 0;
        int failedFiles = 0;
        long bytes = 0;
        long present = 0;
        long verifiedBytes = 0;
        // Per blob: failed (a file of it failed) over verified over incomplete.
        Map<ContentHash, Integer> blobState = new java.util.HashMap<>();
        for (FileState f : states) {
            long size = f.file().file().size();
            bytes += size;
            present += f.present();
            blobState.merge(f.file().file().file().hash(), f.failure().isPresent() ? 2 : f.verified() ? 1 : 0, Math::max);
            if (f.verified()) {
                verified++;
                verifiedBytes += size;
            }
            if (f.failure().isPresent()) {
                failedFiles++;
            }
        }
        int blobsVerified = (int) blobState.values().stream().filter(v -> v == 1).count();
        int blobsFailed = (int) blobState.values().stream().filter(v -> v == 2).count();
        boolean done = prefetcher.completion().isDone();
        String state = done ? (failedFiles == 0 ? "complete" : "failed") : stalled() != null ? "stalled" : "filling";
        return new Summary(states.size(), verified, failedFiles, bytes, present, verifiedBytes, blobState.size(), blobsVerified,
                blobsFailed, state);
    }

    /** Bytes by where they came from: {@code node} (read from the node store), {@code shared}, {@code hub}. */
    public Map<String, Long> bytesBySource() {
        Map<String, Long> out = new java.util.LinkedHashMap<>();
        out.put("node", reader.bytesFromStore());
        if (tiered.isEmpty()) {
            long all = 0;
            for (BlockFetcher.Priority p : BlockFetcher.Priority.values()) {
                all += fetcher.bytesFetched(p);
            }
            out.put("shared", 0L);
            out.put("hub", all);
        } else {
            out.put("shared", tiered.get().bytesFrom("shared"));
            out.put("hub", tiered.get().bytesFrom("hub"));
        }
        return out;
    }

    @Override
    public String statusJson() {
        Map<ContentHash, String> servedWrong = reader.servedWrong();
        List<FileState> states = fileStates(servedWrong);
        Summary summary = summary(states);
        JsonObject o = new JsonObject();
        JsonArray fileStatus = new JsonArray();
        JsonArray failed = new JsonArray();
        for (FileState st : states) {
            WeightFs.MountedFile f = st.file();
            JsonObject fo = new JsonObject();
            fo.addProperty("path", f.mountPath());
            fo.addProperty("repo", f.file().repoId());
            fo.addProperty("size", f.file().size());
            fo.addProperty("present", st.present());
            fo.addProperty("verified", st.verified());
            fo.addProperty("hash", f.file().file().hash().toString());
            st.failure().ifPresent(w -> {
                fo.addProperty("error", io.weightfs.config.Redactor.redact(w)); // errors quote server text
                failed.add(f.mountPath());
            });
            fileStatus.add(fo);
        }
        boolean done = prefetcher.completion().isDone();
        long doneAt = prefetcher.doneAtMillis();
        // The rate is frozen when the fill is done: the time after that is not the fill's.
        long elapsed = Math.max(1, (done && doneAt > 0 ? doneAt : clock.millis()) - startMillis);
        o.addProperty("complete", done && failed.isEmpty());
        o.addProperty("done", done);
        String stalled = stalled();
        o.addProperty("state", summary.state());
        if (stalled != null) {
            o.addProperty("stalled", stalled);
        }
        o.addProperty("files", summary.files());
        o.addProperty("filesVerified", summary.filesVerified());
        o.addProperty("bytes", summary.bytes());
        o.addProperty("bytesPresent", summary.bytesPresent());
        o.addProperty("bytesVerified", summary.bytesVerified());
        o.addProperty("bytesFetched", fetcher.bytesFetched());
        o.addProperty("elapsedMillis", elapsed);
        o.addProperty("averageRate", fetcher.bytesFetched() * 1000 / elapsed);
        String problem = store.spaceProblem();
        if (problem != null) {
            o.addProperty("problem", problem);
            o.addProperty("problemForMillis", store.spaceProblemMillis());
        }
        JsonObject sources = new JsonObject();
        // "shared" only with a shared tier, as before; "node" is what programs read from the node store.
        bytesBySource().forEach((k, v) -> {
            if (!k.equals("shared") || tiered.isPresent()) {
                sources.addProperty(k, v);
            }
        });
        o.add("bytesBySource", sources);
        JsonObject byClass = new JsonObject();
        for (BlockFetcher.Priority p : BlockFetcher.Priority.values()) {
            byClass.addProperty(p.name().toLowerCase(Locale.ROOT), fetcher.bytesFetched(p));
        }
        o.add("bytesByClass", byClass);
        JsonObject errors = new JsonObject();
        errors.addProperty("fetchFailures", fetcher.failures());
        errors.addProperty("hashMismatches", store.hashMismatches());
        errors.addProperty("crcMismatches", store.crcMismatches());
        errors.addProperty("notCachedForSpace", store.lowSpaceRefusals());
        errors.addProperty("readTimeouts", reader.timeouts());
        errors.addProperty("servedWrong", servedWrong.size());
        tiered.ifPresent(t -> {
            errors.addProperty("sharedBadBlocks", t.badSharedBlocks());
            errors.addProperty("sharedFallbacks", t.fallbacks());
        });
        o.add("errors", errors);
        o.addProperty("evictedBlobs", store.evictedBlobs());
        o.addProperty("foregroundWaits", reader.foregroundWaits());
        o.addProperty("readThroughs", reader.readThroughs());
        o.addProperty("readsFromSourceForSpace", reader.directForSpace());
        o.addProperty("blocksFetchedByOtherProcesses", fetcher.blocksFetchedByOthers());
        o.addProperty("requests", fetcher.requests());
        o.addProperty("runsCut", fetcher.runsCut());
        JsonObject hashing = new JsonObject();
        hashing.addProperty("hotBytes", store.hotHashedBytes());
        hashing.addProperty("readBackBytes", store.caughtUpBytes());
        o.add("hashing", hashing);
        o.addProperty("scheduler", fetcher.options().mode().name().toLowerCase(Locale.ROOT));
        o.addProperty("verify", reader.options().verify().name().toLowerCase(Locale.ROOT).replace('_', '-'));
        o.addProperty("connections", fetcher.connectionLimit());
        JsonArray profiles = new JsonArray();
        for (var p : prefetcher.profiles()) {
            JsonObject po = new JsonObject();
            po.addProperty("repo", p.repoId());
            po.addProperty("commit", p.commit());
            po.addProperty("used", true);
            po.addProperty("blocks", p.reads().size());
            profiles.add(po);
        }
        o.add("profiles", profiles);
        o.add("failed", failed);
        o.add("fileStatus", fileStatus);
        return o.toString();
    }

    /**
     * How long the store may be unable to cache before a wait gives up saying so: long enough for
     * an eviction pass or a cleanup to make room, short enough that nobody waits for nothing (30 s;
     * {@code WEIGHTFS_SPACE_STALL_MS} changes it, for tests).
     */
    public static final long SPACE_STALL_MILLIS = stallMillis(System.getenv("WEIGHTFS_SPACE_STALL_MS"));

    private static long stallMillis(String env) {
        try {
            return env == null || env.isBlank() ? 30_000 : Long.parseLong(env.strip());
        } catch (NumberFormatException e) {
            return 30_000;
        }
    }

    /** Why the fill cannot complete now (the store has had no room for a while), or null. */
    public String stalled() {
        String problem = store.spaceProblem();
        if (problem != null && store.spaceProblemMillis() >= SPACE_STALL_MILLIS && !prefetcher.completion().isDone()) {
            return "cannot complete: " + problem + " for " + store.spaceProblemMillis() / 1000 + " s; reads are served from the source,"
                    + " but the files cannot be stored: free space on the store's filesystem, or lower --store-max-size";
        }
        return null;
    }

    @Override
    public String awaitCompletion(CompletableFuture<?> unmounting) throws FsException {
        try {
            while (true) {
                try {
                    CompletableFuture.anyOf(prefetcher.completion(), unmounting).get(1, java.util.concurrent.TimeUnit.SECONDS);
                    break;
                } catch (java.util.concurrent.TimeoutException notYet) {
                    String why = stalled();
                    if (why != null) {
                        return "failed: " + why + "\n";
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FsException(FsException.Kind.INTERRUPTED, "interrupted");
        } catch (ExecutionException e) {
            throw new FsException(FsException.Kind.IO, "wait failed: " + e.getCause());
        }
        if (!prefetcher.completion().isDone()) {
            throw new FsException(FsException.Kind.IO, "weightfs is unmounting");
        }
        Map<ContentHash, String> servedWrong = reader.servedWrong();
        List<String> failed = new ArrayList<>();
        for (WeightFs.MountedFile f : files) {
            // Paths only, comma-separated (clients split on commas); the reasons are in status.json.
            failure(f.file().file().hash(), servedWrong).ifPresent(why -> failed.add(f.mountPath()));
        }
        if (failed.isEmpty()) {
            return "complete: " + files.size() + " files verified\n";
        }
        return "failed: " + String.join(", ", failed) + "\n";
    }
}
