package io.weightfs.serve;

import java.util.Locale;

/**
 * What a {@code Range} header asks of a file of a known size (RFC 9110 §14): the whole file (no
 * header, a header we may ignore, or several ranges), one satisfiable range, or nothing satisfiable.
 *
 * @param kind which of the three
 * @param first the first byte, inclusive (for {@link Kind#PARTIAL})
 * @param last the last byte, inclusive (for {@link Kind#PARTIAL})
 */
record ByteRange(Kind kind, long first, long last) {
    enum Kind {
        WHOLE,
        PARTIAL,
        UNSATISFIABLE
    }

    static final ByteRange WHOLE = new ByteRange(Kind.WHOLE, 0, -1);
    static final ByteRange UNSATISFIABLE = new ByteRange(Kind.UNSATISFIABLE, 0, -1);

    long length() {
        return last - first + 1;
    }

    /** {@code "a-b"}, as the stats log it. */
    String text() {
        return first + "-" + last;
    }

    /**
     * Reads a {@code Range} header against a file of {@code size} bytes. Malformed headers are
     * ignored (the whole file is sent), as RFC 9110 allows; several ranges are answered with the
     * whole file too, which the RFC also allows and every Hub client handles.
     */
    static ByteRange parse(String header, long size) {
        if (header == null) {
            return WHOLE;
        }
        String h = header.strip();
        if (!h.toLowerCase(Locale.ROOT).startsWith("bytes=")) {
            return WHOLE;
        }
        String spec = h.substring("bytes=".length()).strip();
        if (spec.contains(",")) {
            return WHOLE;
        }
        int dash = spec.indexOf('-');
        if (dash < 0) {
            return WHOLE;
        }
        String a = spec.substring(0, dash).strip();
        String b = spec.substring(dash + 1).strip();
        try {
            if (a.isEmpty()) {
                if (b.isEmpty() || !digits(b)) {
                    return WHOLE;
                }
                long suffix = Long.parseLong(b);
                if (suffix == 0 || size == 0) {
                    return UNSATISFIABLE;
                }
                return new ByteRange(Kind.PARTIAL, Math.max(0, size - suffix), size - 1);
            }
            if (!digits(a) || (!b.isEmpty() && !digits(b))) {
                return WHOLE;
            }
            long first = Long.parseLong(a);
            long last = b.isEmpty() ? Long.MAX_VALUE : Long.parseLong(b);
            if (last < first) {
                return WHOLE;
            }
            if (first >= size) {
                return UNSATISFIABLE;
            }
            return new ByteRange(Kind.PARTIAL, first, Math.min(last, size - 1));
        } catch (NumberFormatException e) {
            return WHOLE; // more digits than a long holds
        }
    }

    private static boolean digits(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return false;
            }
        }
        return !s.isEmpty();
    }
}
