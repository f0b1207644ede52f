package io.weightfs.fetch;

import io.weightfs.source.RepoFile;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records, per repo@commit, the order in which programs first read each block, and saves it as an
 * {@link AccessProfile}: this run's order first, then whatever an earlier profile had that this run
 * did not read. Only reads that come through the filesystem are recorded, never the fill's own.
 *
 * <p>Thread-safe: one lock per repo@commit, held for a set insert; saving copies under the lock and
 * writes outside it.
 */
public final class AccessRecorder {
    private static final Logger LOG = LoggerFactory.getLogger(AccessRecorder.class);
    /** A runaway reader of a huge repo must not grow the heap without bound: 1 M blocks is 8 TiB. */
    static final int MAX_READS = 1_000_000;

    private final ProfileStore store;
    /** Where other nodes look for profiles (the shared tier), if any. */
    private final Optional<ProfileStore> shared;
    private final Map<String, Recording> recordings = new ConcurrentHashMap<>();

    private static final class Recording {
        final String repoId;
        final String commit;
        final Optional<AccessProfile> previous;
        /** Guarded by this. */
        final LinkedHashSet<AccessProfile.Read> reads = new LinkedHashSet<>();
        /** Guarded by this. */
        boolean dirty;

        Recording(String repoId, String commit, Optional<AccessProfile> previous) {
            this.repoId = repoId;
            this.commit = commit;
            this.previous = previous;
        }
    }

    public AccessRecorder(ProfileStore store) {
        this(store, Optional.empty());
    }

    public AccessRecorder(ProfileStore store, Optional<ProfileStore> shared) {
        this.store = store;
        this.shared = shared;
    }

    /** Notes that a program read the block starting at {@code blockOffset} of {@code file}. */
    public void record(RepoFile file, long blockOffset) {
        Recording r = recordings.computeIfAbsent(file.repoId() + "@" + file.commit(),
                k -> new Recording(file.repoId(), file.commit(), store.load(file.repoId(), file.commit())));
        synchronized (r) {
            if (r.reads.size() < MAX_READS && r.reads.add(new AccessProfile.Read(file.file().path(), blockOffset))) {
                r.dirty = true;
            }
        }
    }

    /** Saves every profile that changed since the last save. */
    public void save() {
        for (Recording r : recordings.values()) {
            List<AccessProfile.Read> merged;
            synchronized (r) {
                if (!r.dirty) {
                    continue;
                }
                r.dirty = false;
                LinkedHashSet<AccessProfile.Read> all = new LinkedHashSet<>(r.reads);
                r.previous.ifPresent(p -> all.addAll(p.reads()));
                merged = new ArrayList<>(all);
            }
            try {
                AccessProfile p = new AccessProfile(r.repoId, r.commit, merged);
                store.save(p);
                if (shared.isPresent()) {
                    shared.get().save(p);
                }
                LOG.info("saved the access profile of {}@{}: {} blocks in the order programs read them", r.repoId, r.commit, merged.size());
            } catch (IOException e) {
                LOG.warn("cannot save the access profile of {}@{}: {}", r.repoId, r.commit, e.toString());
            }
        }
    }
}
