package io.weightfs.cli;

import io.weightfs.gc.SharedGc;
import io.weightfs.gc.SharedGc.Kept;
import io.weightfs.gc.SharedGc.Kind;
import io.weightfs.gc.SharedGc.Removed;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code weightfs gc}: removes what no node has used lately from the shared cache tier. */
@Command(name = "gc", mixinStandardHelpOptions = true, description = {
    "Remove what no node has used for an age from the shared cache tier: blobs with",
    "their block lists, manifests and profiles, and also abandoned uploads, expired",
    "leases and old quarantined files. A blob under a live upload lease, or used",
    "more recently than the age, is never removed. Safe to run on several nodes at",
    "once, and while mounts read from the tier."
})
final class GcCommand implements Callable<Integer> {
    /**
     * Nodes record a use at most hourly ({@code .used}); a shorter age could take a blob that is in
     * use right now. Allowed (tests and empty tiers want it) but warned about.
     */
    private static final Duration USE_RESOLUTION = Duration.ofHours(1);

    @Option(names = "--shared", paramLabel = "DIR",
            description = "The shared tier's root: the directory that mounts name with --shared.")
    Path shared;

    @Option(names = "--store", paramLabel = "DIR",
            description = "A node store to shrink to --store-max-size, least recently used complete blobs first.")
    Path store;

    @Option(names = "--store-max-size", paramLabel = "SIZE", converter = Sizes.class,
            description = "With --store: the size to shrink the node store to.")
    Long storeMaxSize;

    @Option(names = "--namespace", paramLabel = "ORG",
            description = "Collect only this organisation's namespace (default: every namespace under DIR).")
    String namespace;

    @Option(names = "--unused-for", paramLabel = "AGE", defaultValue = "96h", converter = Age.class,
            description = "Remove what has not been used for this long: 96h, 4d, 30m, 90s (default: ${DEFAULT-VALUE}).")
    Duration unusedFor;

    @Option(names = "--dry-run", description = "Remove nothing; print what would be removed.")
    boolean dryRun;

    @Option(names = {"-v", "--verbose"}, description = "Print each removed file, relative to DIR, with its size.")
    boolean verbose;

    @Override
    public Integer call() {
        if (shared == null && store == null) {
            System.err.println("weightfs gc: say what to collect: --shared DIR (the shared tier) and/or --store DIR --store-max-size SIZE");
            return Main.EXIT_USAGE;
        }
        if (store != null) {
            int status = collectStore();
            if (status != 0 || shared == null) {
                return status;
            }
        }
        PrintStream out = System.out;
        if (unusedFor.compareTo(USE_RESOLUTION) < 0) {
            System.err.println("weightfs gc: warning: nodes record a use at most hourly, so an age under "
                    + format(USE_RESOLUTION) + " can remove blobs that are in use");
        }
        SharedGc.Report report;
        try {
            report = new SharedGc(shared, Optional.ofNullable(namespace), Clock.systemUTC()).run(unusedFor, dryRun);
        } catch (IllegalArgumentException e) {
            System.err.println("weightfs gc: " + e.getMessage());
            return Main.EXIT_USAGE;
        } catch (IOException e) {
            System.err.println("weightfs gc: cannot read the shared tier " + shared + ": " + e.getMessage());
            return Main.EXIT_FAILED;
        }
        if (verbose) {
            for (Removed r : report.removed()) {
                out.println((dryRun ? "would remove " : "removed ") + r.path() + " (" + Sizes.format(r.bytes()) + ")");
            }
        }
        for (SharedGc.Failure f : report.failures()) {
            System.err.println("weightfs gc: " + f.path() + ": " + f.reason());
        }
        if (!report.failures().isEmpty()) {
            System.err.println("weightfs gc: check the permissions on those files (gc needs write access to the"
                    + " whole namespace), then run gc again; everything else was collected");
        }
        out.println(summary(report, unusedFor));
        return report.failures().isEmpty() ? 0 : Main.EXIT_FAILED;
    }

    /** Shrinks a node store to --store-max-size. Blobs other daemons have open stay readable to them. */
    private int collectStore() {
        if (storeMaxSize == null) {
            System.err.println("weightfs gc: --store needs --store-max-size SIZE (e.g. 200G)");
            return Main.EXIT_USAGE;
        }
        if (dryRun) {
            System.err.println("weightfs gc: --dry-run applies to --shared only; nothing was evicted from " + store);
            return Main.EXIT_USAGE;
        }
        try (io.weightfs.store.BlockStore s = io.weightfs.store.BlockStore.open(store, io.weightfs.store.StoreOptions.DEFAULTS)) {
            io.weightfs.store.BlockStore.Eviction e = s.evict(storeMaxSize, java.util.Set.of());
            System.out.println("weightfs gc: evicted " + e.evicted().size() + " blobs from " + store + ": "
                    + Sizes.format(e.bytesBefore()) + " -> " + Sizes.format(e.bytesAfter()));
            return 0;
        } catch (IOException e) {
            System.err.println("weightfs gc: cannot collect the node store " + store + ": " + e.getMessage());
            return Main.EXIT_FAILED;
        }
    }

    /**
     * {@code weightfs gc: freed 12.3 GiB (5 blobs, 2 manifests); kept 40 blobs (3 protected by a live
     * lease, 37 recently used)}. Block lists and use markers ride with their blobs and are not counted
     * on their own.
     */
    static String summary(SharedGc.Report r, Duration unusedFor) {
        StringBuilder s = new StringBuilder("weightfs gc: ").append(r.dryRun() ? "would free " : "freed ")
                .append(Sizes.format(r.bytesFreed()));
        List<String> parts = new ArrayList<>();
        counted(parts, r.removedCount(Kind.BLOB), "blob", "blobs");
        counted(parts, r.removedCount(Kind.ORPHAN), "orphaned list or marker", "orphaned lists or markers");
        counted(parts, r.removedCount(Kind.TMP), "abandoned upload", "abandoned uploads");
        counted(parts, r.removedCount(Kind.LEASE), "expired lease", "expired leases");
        counted(parts, r.removedCount(Kind.QUARANTINE), "quarantined file", "quarantined files");
        counted(parts, r.removedCount(Kind.MANIFEST), "manifest", "manifests");
        counted(parts, r.removedCount(Kind.REF), "ref", "refs");
        counted(parts, r.removedCount(Kind.PROFILE), "profile", "profiles");
        s.append(" (").append(parts.isEmpty() ? "nothing unused for " + format(unusedFor) : String.join(", ", parts)).append(")");
        s.append("; kept ").append(plural(r.keptBlobs(), "blob", "blobs"));
        List<String> why = new ArrayList<>();
        for (Kept k : List.of(Kept.BLOB_LIVE_LEASE, Kept.BLOB_RECENTLY_USED)) {
            if (r.keptCount(k) > 0) {
                why.add(r.keptCount(k) + " " + k.description());
            }
        }
        if (!why.isEmpty()) {
            s.append(" (").append(String.join(", ", why)).append(")");
        }
        int manifests = r.keptCount(Kept.MANIFEST_RECENT);
        int profiles = r.keptCount(Kept.PROFILE_RECENT);
        if (manifests > 0) {
            s.append(", ").append(plural(manifests, "manifest", "manifests"));
        }
        if (profiles > 0) {
            s.append(", ").append(plural(profiles, "profile", "profiles"));
        }
        if (!r.failures().isEmpty()) {
            s.append("; ").append(plural(r.failures().size(), "file", "files")).append(" could not be removed");
        }
        return s.toString();
    }

    private static void counted(List<String> parts, int n, String one, String many) {
        if (n > 0) {
            parts.add(plural(n, one, many));
        }
    }

    private static String plural(int n, String one, String many) {
        return n + " " + (n == 1 ? one : many);
    }

    /** An age as hours, minutes or seconds: 4 days prints as "96h", the default. */
    static String format(Duration d) {
        if (d.toMillis() % 1000 != 0) {
            return d.toMillis() + "ms";
        }
        long s = d.toSeconds();
        if (s % 3_600 == 0) {
            return s / 3_600 + "h";
        }
        return s % 60 == 0 ? s / 60 + "m" : s + "s";
    }

    /**
     * Ages: what {@link Durations} takes ({@code 96h}, {@code 30m}, {@code 90s}, {@code 250ms}) plus
     * days ({@code 4d}). A bare number is refused: for a command that deletes, "96" meaning 96
     * seconds is a trap.
     */
    static final class Age implements CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            String s = value.strip().toLowerCase(Locale.ROOT);
            Duration d;
            if (s.isEmpty() || Character.isDigit(s.charAt(s.length() - 1))) {
                throw new CommandLine.TypeConversionException("'" + value + "' has no unit: give e.g. 96h, 4d, 30m or 90s");
            }
            if (s.endsWith("d")) {
                try {
                    double days = Double.parseDouble(s.substring(0, s.length() - 1));
                    if (!(days >= 0) || Double.isInfinite(days)) {
                        throw new NumberFormatException();
                    }
                    d = Duration.ofMillis((long) (days * 86_400_000));
                } catch (NumberFormatException e) {
                    throw new CommandLine.TypeConversionException("'" + value + "' is not an age: use e.g. 96h, 4d, 30m or 90s");
                }
            } else {
                d = new Durations().convert(s);
            }
            if (d.isZero()) {
                throw new CommandLine.TypeConversionException("'" + value + "': the age must be more than zero");
            }
            return d;
        }
    }
}
