package io.weightfs.serve;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One parsed HTTP/1.1 request.
 *
 * @param method the method as sent, e.g. {@code GET}
 * @param rawPath the path of the request target, still percent-encoded (an encoded {@code %2F} in
 *     a revision must stay distinguishable from a path separator until routing)
 * @param rawQuery the query without {@code ?}, still encoded; null when absent
 * @param version {@code HTTP/1.1} or {@code HTTP/1.0}
 * @param headers header values by lower-case name, in arrival order
 * @param body the request body ({@code Content-Length} bytes), empty when none
 */
record HttpRequest(String method, String rawPath, String rawQuery, String version, Map<String, List<String>> headers,
        byte[] body) {

    /** The first value of a header, or null. */
    String header(String name) {
        List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
        return values == null || values.isEmpty() ? null : values.getFirst();
    }

    boolean isHead() {
        return method.equals("HEAD");
    }

    boolean isGet() {
        return method.equals("GET");
    }

    /** The path and query as sent. */
    String target() {
        return rawQuery == null ? rawPath : rawPath + "?" + rawQuery;
    }
}
