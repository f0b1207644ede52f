package io.weightfs.cli;

import java.time.Duration;
import java.util.Locale;
import picocli.CommandLine;

/** Durations on the command line: {@code 90s}, {@code 5m}, {@code 1h}, {@code 250ms}, or plain seconds. */
final class Durations implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
        String s = value.strip().toLowerCase(Locale.ROOT);
        try {
            if (s.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)));
            }
            char unit = s.charAt(s.length() - 1);
            String num = Character.isDigit(unit) ? s : s.substring(0, s.length() - 1);
            double v = Double.parseDouble(num);
            double seconds = switch (unit) {
                case 'h' -> v * 3600;
                case 'm' -> v * 60;
                case 's' -> v;
                default -> {
                    if (!Character.isDigit(unit)) {
                        throw new NumberFormatException();
                    }
                    yield v;
                }
            };
            if (seconds < 0) {
                throw new NumberFormatException();
            }
            return Duration.ofMillis((long) (seconds * 1000));
        } catch (RuntimeException e) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a duration: use e.g. 90s, 5m, 1h or a number of seconds");
        }
    }
}
