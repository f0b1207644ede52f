package io.weightfs.serve;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The header fields of one response, in order. Values are made safe to send: anything outside
 * printable ASCII (a non-ASCII file name in an error message, or a CR/LF smuggled in through a
 * percent-encoded path) is percent-encoded as UTF-8, so a header can never be split or mis-decoded.
 */
final class ResponseHeaders {
    private final List<String[]> fields = new ArrayList<>();

    /** Sets a header, replacing any earlier value of the same name. */
    ResponseHeaders set(String name, String value) {
        fields.removeIf(f -> f[0].equalsIgnoreCase(name));
        fields.add(new String[] {name, safe(value)});
        return this;
    }

    ResponseHeaders set(String name, long value) {
        return set(name, Long.toString(value));
    }

    /** Sets every header of {@code other}, replacing same-named ones here. */
    ResponseHeaders setAll(ResponseHeaders other) {
        for (String[] f : other.fields) {
            set(f[0], f[1]);
        }
        return this;
    }

    /** The value of a header, or null. */
    String get(String name) {
        for (String[] f : fields) {
            if (f[0].equalsIgnoreCase(name)) {
                return f[1];
            }
        }
        return null;
    }

    void appendTo(StringBuilder head) {
        for (String[] f : fields) {
            head.append(f[0]).append(": ").append(f[1]).append("\r\n");
        }
    }

    private static String safe(String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < 0x20 || c > 0x7e) {
                return escape(value);
            }
        }
        return value;
    }

    private static String escape(String value) {
        StringBuilder out = new StringBuilder();
        for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c >= 0x20 && c <= 0x7e) {
                out.append((char) c);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return out.toString();
    }
}
