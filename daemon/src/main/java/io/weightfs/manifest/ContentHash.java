package io.weightfs.manifest;

import java.util.HexFormat;
import java.util.Locale;
import java.util.Objects;

/**
 * The content address of one blob: sha256 for LFS files, git blob sha1 for regular files, as the
 * Hub's tree listing gives them (HUB-PROTOCOL.md §2, §9).
 *
 * <p>The textual form {@code sha256:<hex>} / {@code sha1:<hex>} is what manifests store.
 */
public record ContentHash(Algorithm algorithm, String hex) {

    /** The two hash kinds the Hub uses to name blobs. */
    public enum Algorithm {
        /** sha256 of the raw bytes: LFS and Xet files. */
        SHA256("sha256", 64),
        /** git's blob hash, sha1("blob " + size + "\0" + bytes): regular files. */
        GIT_SHA1("sha1", 40);

        private final String label;
        private final int hexLength;

        Algorithm(String label, int hexLength) {
            this.label = label;
            this.hexLength = hexLength;
        }

        /** The short name used in paths and text forms: {@code sha256} or {@code sha1}. */
        public String label() {
            return label;
        }

        public int hexLength() {
            return hexLength;
        }
    }

    public ContentHash {
        Objects.requireNonNull(algorithm, "algorithm");
        Objects.requireNonNull(hex, "hex");
        hex = hex.toLowerCase(Locale.ROOT);
        if (hex.length() != algorithm.hexLength() || !isHex(hex)) {
            throw new IllegalArgumentException(
                    "not a " + algorithm.label() + " hash (want " + algorithm.hexLength() + " hex digits): '" + hex + "'");
        }
    }

    public static ContentHash sha256(String hex) {
        return new ContentHash(Algorithm.SHA256, hex);
    }

    public static ContentHash gitSha1(String hex) {
        return new ContentHash(Algorithm.GIT_SHA1, hex);
    }

    /** Parses the {@link #toString()} form, e.g. {@code sha256:ab12...}. */
    public static ContentHash parse(String text) {
        int colon = text.indexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("content hash without algorithm prefix: '" + text + "'");
        }
        String label = text.substring(0, colon);
        String hex = text.substring(colon + 1);
        for (Algorithm a : Algorithm.values()) {
            if (a.label().equals(label)) {
                return new ContentHash(a, hex);
            }
        }
        throw new IllegalArgumentException("unknown hash algorithm '" + label + "' in '" + text + "' (known: sha256, sha1)");
    }

    byte[] bytes() {
        return HexFormat.of().parseHex(hex);
    }

    @Override
    public String toString() {
        return algorithm.label() + ":" + hex;
    }

    private static boolean isHex(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                return false;
            }
        }
        return true;
    }
}
