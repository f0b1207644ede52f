package io.weightfs.serve;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The faults in force and how many times each may still fire. Thread-safe: each counted fault has
 * its own atomic counter, so two concurrent downloads never both take the last time.
 */
final class FaultPlan {
    static final FaultPlan NONE = new FaultPlan(List.of());

    private record Counted<F extends Fault>(F fault, Glob glob, AtomicInteger left) {
        boolean take() {
            return left.getAndUpdate(n -> Math.max(0, n - 1)) > 0;
        }
    }

    private final List<Counted<Fault.Drop>> drops = new ArrayList<>();
    private final List<Counted<Fault.Status>> statuses = new ArrayList<>();
    private final List<Glob> corrupts = new ArrayList<>();
    private final TokenBucket throttle;

    FaultPlan(List<Fault> faults) {
        long slowest = Long.MAX_VALUE;
        for (Fault f : faults) {
            switch (f) {
                case Fault.Drop d -> drops.add(new Counted<>(d, Glob.of(d.glob()), new AtomicInteger(d.times())));
                case Fault.Status s -> statuses.add(
                        new Counted<>(s, s.glob() == null ? null : Glob.of(s.glob()), new AtomicInteger(s.times())));
                case Fault.Corrupt c -> corrupts.add(Glob.of(c.glob()));
                case Fault.Throttle t -> slowest = Math.min(slowest, t.bytesPerSecond());
            }
        }
        this.throttle = slowest == Long.MAX_VALUE ? null : TokenBucket.system(slowest);
    }

    /** The status a download of {@code file} must be answered with instead, using up one time; or null. */
    Fault.Status takeStatus(ServedFile file) {
        for (Counted<Fault.Status> c : statuses) {
            if ((c.glob() == null || c.glob().matches(file)) && c.take()) {
                return c.fault();
            }
        }
        return null;
    }

    /**
     * How many bytes of a {@code bodyLength}-byte body of {@code file} to send before cutting the
     * connection, using up one time; or -1 to send it whole. Only a body longer than the cut point can
     * be cut, so shorter ones use up nothing.
     */
    long takeCut(ServedFile file, long bodyLength) {
        for (Counted<Fault.Drop> c : drops) {
            if (bodyLength > c.fault().afterBytes() && c.glob().matches(file) && c.take()) {
                return c.fault().afterBytes();
            }
        }
        return -1;
    }

    boolean corrupts(ServedFile file) {
        for (Glob g : corrupts) {
            if (g.matches(file)) {
                return true;
            }
        }
        return false;
    }

    /** The shared rate limit, or null. */
    TokenBucket throttle() {
        return throttle;
    }
}
