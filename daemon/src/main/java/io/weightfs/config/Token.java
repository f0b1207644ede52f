package io.weightfs.config;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Objects;

/**
 * A Hub access token and where it came from. The value is handed out only by {@link #value()}, for
 * the {@code authorization} header; {@link #toString()} and every message name the {@link #source()}
 * instead, so a token cannot reach a log by accident.
 */
public final class Token {
    private final String value;
    private final String source;

    /**
     * @param value the token, already trimmed; not blank, no control characters (it goes into an
     *     HTTP header as it is)
     * @param source where it came from, safe to log, e.g. {@code environment variable HF_TOKEN}
     */
    public Token(String value, String source) {
        Objects.requireNonNull(value, "value");
        this.source = Objects.requireNonNull(source, "source");
        if (value.isBlank()) {
            throw new IllegalArgumentException("the token from " + source + " is empty");
        }
        if (!isHeaderSafe(value)) {
            // Never the value itself: this message may be logged.
            throw new IllegalArgumentException("the token from " + source + " contains control characters");
        }
        this.value = value;
        // From now on no text this process logs, shows or writes to status can carry it.
        Redactor.register(value);
    }

    /** True if {@code value} contains no control characters, so it can go into an HTTP header. */
    static boolean isHeaderSafe(String value) {
        return value.chars().noneMatch(Character::isISOControl);
    }

    /** The secret itself. Only for the {@code authorization} header; never log it. */
    public String value() {
        return value;
    }

    /** Where the token came from, e.g. {@code secret file /secrets/hf_access_token}; safe to log. */
    public String source() {
        return source;
    }

    /** Equal when the secret is equal, wherever it came from. Compared in constant time. */
    @Override
    public boolean equals(Object o) {
        return o instanceof Token other
                && MessageDigest.isEqual(
                        value.getBytes(StandardCharsets.UTF_8), other.value.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public int hashCode() {
        return value.hashCode();
    }

    @Override
    public String toString() {
        return "Token[redacted]";
    }
}
