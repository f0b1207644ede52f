package io.weightfs.serve;

import java.util.Locale;

/**
 * Who is asking, as far as the Hub cares: whether an {@code Authorization} header came at all (that
 * alone turns a hidden repo's 401 into a 404), and the bearer token in it.
 *
 * @param authenticated an {@code Authorization} header was sent
 * @param token the bearer token, or null (none sent, or not a bearer header)
 */
record Caller(boolean authenticated, String token) {
    private static final String BEARER = "bearer ";

    static Caller of(HttpRequest request) {
        String h = request.header("authorization");
        if (h == null) {
            return new Caller(false, null);
        }
        String token = null;
        if (h.length() > BEARER.length() && h.substring(0, BEARER.length()).toLowerCase(Locale.ROOT).equals(BEARER)) {
            token = h.substring(BEARER.length()).strip();
            if (token.isEmpty()) {
                token = null;
            }
        }
        return new Caller(true, token);
    }
}
