package io.weightfs.nativetests.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/** Repeated measurements of one figure: median, nearest-rank percentiles, range. Not thread-safe. */
final class Samples {
    private final List<Double> values = new ArrayList<>();

    static Samples of(double... vs) {
        Samples s = new Samples();
        for (double v : vs) {
            s.add(v);
        }
        return s;
    }

    /**
     * Per-run ratios {@code a[i] / b[i]} of two figures measured side by side in each run: on a
     * noisy machine their median is steadier than the ratio of the two medians, because a slow
     * moment hits both figures of one run alike.
     */
    static Samples ratios(Samples a, Samples b) {
        Samples r = new Samples();
        for (int i = 0; i < Math.min(a.count(), b.count()); i++) {
            r.add(a.values.get(i) / b.values.get(i));
        }
        return r;
    }

    void add(double v) {
        values.add(v);
    }

    int count() {
        return values.size();
    }

    boolean isEmpty() {
        return values.isEmpty();
    }

    double median() {
        return percentile(50);
    }

    /**
     * Nearest-rank percentile: the smallest sample with at least p% of the samples at or below it
     * (so the p99 of 100 samples is the 99th smallest, of 200 the 198th). For p50 of an even count,
     * the mean of the two middle samples.
     */
    double percentile(double p) {
        if (values.isEmpty()) {
            return Double.NaN;
        }
        List<Double> s = sorted();
        int n = s.size();
        if (p == 50 && n % 2 == 0) {
            return (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
        }
        int rank = (int) Math.ceil(p / 100.0 * n);
        return s.get(Math.max(0, Math.min(n - 1, rank - 1)));
    }

    /** The i-th sample, in the order they were added. */
    double get(int i) {
        return values.get(i);
    }

    /** The latest sample. */
    double last() {
        return values.isEmpty() ? Double.NaN : values.get(values.size() - 1);
    }

    double min() {
        return values.isEmpty() ? Double.NaN : Collections.min(values);
    }

    double max() {
        return values.isEmpty() ? Double.NaN : Collections.max(values);
    }

    private List<Double> sorted() {
        List<Double> s = new ArrayList<>(values);
        Collections.sort(s);
        return s;
    }

    /** "median (min-max)" with the given format, or just the value for one sample. */
    String describe(String fmt) {
        if (values.isEmpty()) {
            return "-";
        }
        if (values.size() == 1) {
            return String.format(Locale.ROOT, fmt, values.get(0));
        }
        return String.format(Locale.ROOT, fmt + " (" + fmt + "-" + fmt + ", n=%d)", median(), min(), max(), values.size());
    }

    @Override
    public String toString() {
        List<String> v = new ArrayList<>();
        for (double d : values) {
            v.add(String.format(Locale.ROOT, "%.3f", d));
        }
        return v.toString();
    }
}
