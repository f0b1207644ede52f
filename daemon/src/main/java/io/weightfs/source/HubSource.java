package io.weightfs.source;

import io.weightfs.hub.ByteStream;
import io.weightfs.hub.Deadline;
import io.weightfs.hub.HubClient;

/** The Hub as a source: ranged GETs through the shared {@link HubClient}'s bulk reader. */
public final class HubSource implements Source {
    private final HubClient hub;

    public HubSource(HubClient hub) {
        this.hub = hub;
    }

    @Override
    public String name() {
        return "hub";
    }

    @Override
    public ByteStream open(RepoFile file, long offset, long length, Deadline deadline) {
        return hub.openRange(file.toRemote(), offset, length, deadline);
    }
}
