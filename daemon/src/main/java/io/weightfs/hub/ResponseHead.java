package io.weightfs.hub;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The status line and headers of one HTTP/1.1 response, parsed strictly: whatever does not look
 * exactly like HTTP is refused with a message that quotes it, never guessed at. Bounded: at most
 * {@link #MAX_HEAD_BYTES} and {@link #MAX_HEADERS} header lines.
 *
 * @param status the three-digit status code
 * @param headers header names lower-cased, each with its values in order
 */
record ResponseHead(int status, Map<String, List<String>> headers) {
    /** Real heads are well under 2 KiB (a signed CDN Location is the longest); 64 KiB is plenty. */
    static final int MAX_HEAD_BYTES = 64 * 1024;
    static final int MAX_HEADERS = 256;

    /** A response that is not well-formed HTTP/1.1. */
    static final class MalformedException extends java.io.IOException {
        MalformedException(String message) {
            super(message);
        }
    }

    /** The one value of a header, or null; several different values are refused. */
    String header(String name) throws MalformedException {
        List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
        if (v == null || v.isEmpty()) {
            return null;
        }
        String first = v.get(0);
        for (String other : v) {
            if (!other.equals(first)) {
                throw new MalformedException("the response has " + v.size() + " different " + name + " headers: " + quote(v.toString()));
            }
        }
        return first;
    }

    /** A header's value, or null, when any one of several values will do (for messages). */
    String anyHeader(String name) {
        List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
        return v == null || v.isEmpty() ? null : v.get(0);
    }

    /** {@code Content-Length} as a number, or -1 if absent. */
    long contentLength() throws MalformedException {
        String v = header("content-length");
        if (v == null) {
            return -1;
        }
        if (v.isEmpty() || v.length() > 18 || !v.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new MalformedException("bad Content-Length " + quote(v));
        }
        return Long.parseLong(v);
    }

    /** Whether the server will close the connection after this response. */
    boolean closesConnection() {
        List<String> v = headers.get("connection");
        if (v != null) {
            for (String s : v) {
                for (String token : s.split(",")) {
                    if (token.strip().equalsIgnoreCase("close")) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /**
     * Finds the end of a head in {@code buf} (between position 0 and its position).
     *
     * @return the number of bytes up to and including the blank line, or -1 if not there yet
     */
    static int headEnd(ByteBuffer buf) {
        int limit = buf.position();
        for (int i = 3; i < limit; i++) {
            if (buf.get(i) == '\n' && buf.get(i - 1) == '\r' && buf.get(i - 2) == '\n' && buf.get(i - 3) == '\r') {
                return i + 1;
            }
        }
        return -1;
    }

    /** Parses the head's bytes (ending with the blank line). */
    static ResponseHead parse(ByteBuffer buf, int length) throws MalformedException {
        byte[] raw = new byte[length];
        buf.get(0, raw);
        for (byte b : raw) {
            if (b == 0 || (b < 0x20 && b != '\r' && b != '\n' && b != '\t')) {
                throw new MalformedException("the response head holds a control byte 0x" + Integer.toHexString(b & 0xff));
            }
        }
        String text = new String(raw, StandardCharsets.ISO_8859_1);
        String[] lines = text.substring(0, text.length() - 4).split("\r\n", -1);
        String statusLine = lines[0];
        if (!statusLine.startsWith("HTTP/1.1 ") && !statusLine.startsWith("HTTP/1.0 ")) {
            throw new MalformedException("not an HTTP/1.x response: " + quote(statusLine));
        }
        if (statusLine.length() < 12 || (statusLine.length() > 12 && statusLine.charAt(12) != ' ')) {
            throw new MalformedException("bad status line " + quote(statusLine));
        }
        String code = statusLine.substring(9, 12);
        if (!code.chars().allMatch(c -> c >= '0' && c <= '9') || code.charAt(0) == '0') {
            throw new MalformedException("bad status code in " + quote(statusLine));
        }
        if (lines.length - 1 > MAX_HEADERS) {
            throw new MalformedException("the response has more than " + MAX_HEADERS + " headers");
        }
        Map<String, List<String>> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            String line = lines[i];
            if (line.isEmpty() || line.charAt(0) == ' ' || line.charAt(0) == '\t') {
                throw new MalformedException("folded or empty header line " + quote(line) + " (obsolete in HTTP/1.1)");
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new MalformedException("header line without a name: " + quote(line));
            }
            String name = line.substring(0, colon);
            if (!isToken(name)) {
                throw new MalformedException("bad header name " + quote(name));
            }
            if (line.indexOf('\r') >= 0 || line.indexOf('\n') >= 0) {
                throw new MalformedException("stray line break in header " + quote(name));
            }
            headers.computeIfAbsent(name.toLowerCase(Locale.ROOT), k -> new ArrayList<>()).add(line.substring(colon + 1).strip());
        }
        return new ResponseHead(Integer.parseInt(code), headers);
    }

    private static boolean isToken(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
            if (!ok) {
                return false;
            }
        }
        return !s.isEmpty();
    }

    /** A server's text as messages show it: bounded, control characters made visible. */
    static String quote(String s) {
        String t = s.length() > 200 ? s.substring(0, 200) + "..." : s;
        StringBuilder b = new StringBuilder("'");
        for (char c : t.toCharArray()) {
            b.append(c < 0x20 || c == 0x7f ? String.format("\\x%02x", (int) c) : String.valueOf(c));
        }
        return b.append('\'').toString();
    }
}
