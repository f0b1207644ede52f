package io.weightfs.cli;

import java.util.Locale;
import picocli.CommandLine;

/** Byte sizes on the command line and in output: {@code 8MiB}, {@code 512k}, {@code 2G}, {@code 1048576}. */
final class Sizes implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
        return parse(value);
    }

    static long parse(String value) {
        String s = value.strip().toLowerCase(Locale.ROOT).replace("ib", "").replace("b", "");
        long mult = 1;
        if (!s.isEmpty()) {
            char unit = s.charAt(s.length() - 1);
            int shift = switch (unit) {
                case 'k' -> 10;
                case 'm' -> 20;
                case 'g' -> 30;
                case 't' -> 40;
                default -> 0;
            };
            if (shift > 0) {
                mult = 1L << shift;
                s = s.substring(0, s.length() - 1);
            }
        }
        try {
            double d = Double.parseDouble(s.strip());
            if (d < 0 || Double.isNaN(d)) {
                throw new NumberFormatException();
            }
            return (long) (d * mult);
        } catch (NumberFormatException e) {
            throw new CommandLine.TypeConversionException(
                    "'" + value + "' is not a size: use a number with an optional unit, e.g. 8MiB, 512k, 2G");
        }
    }

    /** 1536 -> "1.5 KiB". */
    static String format(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, v >= 100 ? "%.0f %s" : "%.1f %s", v, units[u]);
    }

    /** Bytes per second as MB/s (decimal, as network rates are quoted). */
    static String rate(long bytes, long nanos) {
        if (nanos <= 0) {
            return "- MB/s";
        }
        return String.format(Locale.ROOT, "%.0f MB/s", bytes / 1e6 / (nanos / 1e9));
    }
}
