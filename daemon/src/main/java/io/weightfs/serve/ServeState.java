package io.weightfs.serve;

import java.time.Clock;
import java.util.Set;

/**
 * What both ports share: the options, the current catalog and faults, the stats. The catalog and
 * the faults are swapped whole (volatile references to immutable values), so a request sees one
 * consistent catalog from start to end without locking.
 */
final class ServeState {
    final ServeOptions options;
    final Set<String> serverTokens;
    final StatsRecorder stats = new StatsRecorder();
    final FileResponder files = new FileResponder(stats);
    final CdnSigner signer;
    final AccessPolicy access;
    final Clock clock;
    private volatile RepoCatalog catalog = RepoCatalog.empty();
    private volatile FaultPlan faults;
    /** Set once the CDN listener is bound, before the Hub listener opens. */
    private volatile int cdnPort;

    ServeState(ServeOptions options, Clock clock) {
        this.options = options;
        this.serverTokens = Set.copyOf(options.tokens());
        this.clock = clock;
        this.signer = new CdnSigner(clock);
        this.access = new AccessPolicy(serverTokens);
        this.faults = new FaultPlan(options.faults());
    }

    RepoCatalog catalog() {
        return catalog;
    }

    void catalog(RepoCatalog next) {
        catalog = next;
    }

    FaultPlan faults() {
        return faults;
    }

    void faults(FaultPlan next) {
        faults = next;
    }

    int cdnPort() {
        return cdnPort;
    }

    void cdnPort(int port) {
        cdnPort = port;
    }
}
