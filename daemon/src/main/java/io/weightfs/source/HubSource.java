package io.weightfs.source;

import io.weightfs.hub.HubClient;
import io.weightfs.hub.RangeSink;
import java.io.IOException;

/** The Hub as a source: ranged GETs through the shared {@link HubClient}. */
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
    public void read(RepoFile file, long offset, long length, RangeSink sink) throws IOException {
        hub.download(file.toRemote(), offset, length, sink);
    }
}
