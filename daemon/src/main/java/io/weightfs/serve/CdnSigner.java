package io.weightfs.serve;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signs CDN URLs the way the Hub's CDN links are signed: {@code expires} plus an HMAC over the blob
 * and the expiry, with a key that lives only as long as this server. The CDN port checks the
 * signature only for blobs that no public repo holds: a public blob is no secret, while the redirect
 * URL of a private or gated blob is the capability that stands in for the token the client must not
 * send to another host.
 *
 * <p>Thread-safe: a fresh {@link Mac} per call.
 */
final class CdnSigner {
    /** Long enough for a slow download with retries of a very large file; the Hub's links last about as long. */
    static final Duration LIFETIME = Duration.ofHours(24);
    /** 128 bits of HMAC is plenty for a link nobody can brute-force within its lifetime. */
    private static final int SIGNATURE_HEX_CHARS = 32;

    private final byte[] key = new byte[32];
    private final Clock clock;

    CdnSigner(Clock clock) {
        this.clock = clock;
        new SecureRandom().nextBytes(key);
    }

    /** The query string for a link to {@code sha256}: {@code expires=...&signature=...}. */
    String query(String sha256) {
        long expires = clock.instant().plus(LIFETIME).getEpochSecond();
        return "expires=" + expires + "&signature=" + signature(sha256, expires);
    }

    /** Whether a link's {@code expires} and {@code signature} are ours and still valid. */
    boolean valid(String sha256, String expires, String signature) {
        if (expires == null || signature == null) {
            return false;
        }
        long when;
        try {
            when = Long.parseLong(expires);
        } catch (NumberFormatException e) {
            return false;
        }
        if (when < clock.instant().getEpochSecond()) {
            return false;
        }
        return MessageDigest.isEqual(signature(sha256, when).getBytes(StandardCharsets.US_ASCII),
                signature.getBytes(StandardCharsets.US_ASCII));
    }

    private String signature(String sha256, long expires) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            byte[] sig = mac.doFinal((sha256 + ":" + expires).getBytes(StandardCharsets.US_ASCII));
            return HexFormat.of().formatHex(sig).substring(0, SIGNATURE_HEX_CHARS);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("JDK lacks HmacSHA256", e);
        }
    }
}
