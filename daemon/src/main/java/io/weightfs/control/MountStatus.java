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

    @Override
    public String statusJson() {
        Map<ContentHash, String> servedWrong = reader.servedWrong();
        JsonObject o = new JsonObject();
        long bytesPresent = 0;
        long bytesVerified = 0;
        long bytes = 0;
        int filesVerified = 0;
        JsonArray fileStatus = new JsonArray();
        JsonArray failed = new JsonArray();
        for (WeightFs.MountedFile f : files) {
            ContentHash hash = f.file().file().hash();
            long size = f.file().size();
            Optional<Blob> blob = store.openedBlob(hash);
            boolean verified = blob.map(Blob::isVerified).orElse(false);
            long present = verified ? size : blob.map(Blob::presentBytes).orElse(0L);
            Optional<String> failure = failure(hash, servedWrong);
            JsonObject fo = new JsonObject();
            fo.addProperty("path", f.mountPath());
            fo.addProperty("repo", f.file().repoId());
            fo.addProperty("size", size);
            fo.addProperty("present", present);
            fo.addProperty("verified", verified);
            fo.addProperty("hash", hash.toString());
            failure.ifPresent(w -> {
                fo.addProperty("error", io.weightfs.config.Redactor.redact(w)); // errors quote server text
                failed.add(f.mountPath());
            });
            fileStatus.add(fo);
            bytes += size;
            bytesPresent += present;
            if (verified) {
                bytesVerified += size;
                filesVerified++;
            }
        }
        boolean done = prefetcher.completion().isDone();
        long doneAt = prefetcher.doneAtMillis();
        // The rate is frozen when the fill is done: the time after that is not the fill's.
        long elapsed = Math.max(1, (done && doneAt > 0 ? doneAt : clock.millis()) - startMillis);
        o.addProperty("complete", done && failed.isEmpty());
        o.addProperty("done", done);
        String stalled = stalled();
        o.addProperty("state", done ? (failed.isEmpty() ? "complete" : "failed") : stalled != null ? "stalled" : "filling");
        if (stalled != null) {
            o.addProperty("stalled", stalled);
        }
        o.addProperty("files", files.size());
        o.addProperty("filesVerified", filesVerified);
        o.addProperty("bytes", bytes);
        o.addProperty("bytesPresent", bytesPresent);
        o.addProperty("bytesVerified", bytesVerified);
        o.addProperty("bytesFetched", fetcher.bytesFetched());
        o.addProperty("elapsedMillis", elapsed);
        o.addProperty("averageRate", fetcher.bytesFetched() * 1000 / elapsed);
        String problem = store.spaceProblem();
        if (problem != null) {
            o.addProperty("problem", problem);
            o.addProperty("problemForMillis", store.spaceProblemMillis());
        }
        JsonObject sources = new JsonObject();
        if (tiered.isEmpty()) {
            long all = 0;
            for (BlockFetcher.Priority p : BlockFetcher.Priority.values()) {
                all += fetcher.bytesFetched(p);
            }
            sources.addProperty("hub", all);
        } else {
            sources.addProperty("shared", tiered.get().bytesFrom("shared"));
            sources.addProperty("hub", tiered.get().bytesFrom("hub"));
        }
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
