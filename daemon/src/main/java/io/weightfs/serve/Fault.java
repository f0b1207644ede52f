package io.weightfs.serve;

import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * A misbehaviour the server injects on purpose, so that clients' retry, resume and verification
 * paths can be tested against a real socket. The text form is what {@code weightfs serve --fault}
 * takes; {@link #parse} reads it and {@link #spec()} writes it back.
 *
 * <p>Globs match a file's path inside its repo, or {@code org/name/path}; {@code *} matches any run
 * of characters ({@code /} included) and {@code ?} one character.
 */
public sealed interface Fault {

    /** The {@code --fault} text form of this fault. */
    String spec();

    /**
     * {@code drop:<glob>:<afterBytes>:<times>}: the first {@code times} GET bodies of matching files
     * that are longer than {@code afterBytes} are cut after that many bytes, with the connection
     * closed (the headers promised more). A body no longer than {@code afterBytes} cannot be cut and
     * does not use up a time.
     */
    record Drop(String glob, long afterBytes, int times) implements Fault {
        public Drop {
            Glob.validate(glob);
            if (afterBytes < 0) {
                throw new IllegalArgumentException("drop fault: negative afterBytes " + afterBytes);
            }
            if (times < 1) {
                throw new IllegalArgumentException("drop fault: times must be at least 1, got " + times);
            }
        }

        @Override
        public String spec() {
            return "drop:" + glob + ":" + afterBytes + ":" + times;
        }
    }

    /**
     * {@code corrupt:<glob>}: the first byte of every body served from a matching file is flipped
     * (XOR 0xFF). Sizes, ETags and hashes stay those of the true content, as with a bad disk or a
     * broken proxy.
     */
    record Corrupt(String glob) implements Fault {
        public Corrupt {
            Glob.validate(glob);
        }

        @Override
        public String spec() {
            return "corrupt:" + glob;
        }
    }

    /**
     * {@code status:<code>:<times>[:<glob>]}: the first {@code times} download requests (GET on
     * {@code /resolve} or the CDN) for matching files, or for any file when {@code glob} is null, are
     * answered with {@code code} and no {@code X-Error-Code}, as a load balancer or CDN would. A 429
     * carries {@code RateLimit: "api";r=0;t=1}; 429 and 503 carry {@code Retry-After: 1}.
     */
    record Status(int code, int times, String glob) implements Fault {
        public Status {
            if (code < 400 || code > 599) {
                throw new IllegalArgumentException("status fault: code must be 400-599, got " + code);
            }
            if (times < 1) {
                throw new IllegalArgumentException("status fault: times must be at least 1, got " + times);
            }
            if (glob != null) {
                Glob.validate(glob);
            }
        }

        @Override
        public String spec() {
            return "status:" + code + ":" + times + (glob == null ? "" : ":" + glob);
        }
    }

    /**
     * {@code throttle:<bytesPerSecond>}: all file bodies on both ports together are paced to this
     * rate. With several throttles the slowest wins.
     */
    record Throttle(long bytesPerSecond) implements Fault {
        public Throttle {
            if (bytesPerSecond < 1) {
                throw new IllegalArgumentException("throttle fault: bytesPerSecond must be at least 1, got " + bytesPerSecond);
            }
        }

        @Override
        public String spec() {
            return "throttle:" + bytesPerSecond;
        }
    }

    /** Every accepted form, for error messages and {@code --help}. */
    String FORMS = "drop:<glob>:<afterBytes>:<times>, corrupt:<glob>, status:<code>:<times>[:<glob>], throttle:<bytesPerSecond>";

    /**
     * Parses the {@code --fault} text form.
     *
     * @throws IllegalArgumentException naming the bad spec and the accepted forms
     */
    static Fault parse(String spec) {
        Objects.requireNonNull(spec, "spec");
        int colon = spec.indexOf(':');
        String kind = (colon < 0 ? spec : spec.substring(0, colon)).toLowerCase(Locale.ROOT);
        String rest = colon < 0 ? "" : spec.substring(colon + 1);
        try {
            return switch (kind) {
                case "drop" -> {
                    // The glob may itself hold ':'; the two numbers are the last two fields.
                    int last = rest.lastIndexOf(':');
                    int middle = last <= 0 ? -1 : rest.lastIndexOf(':', last - 1);
                    if (middle < 0) {
                        throw new IllegalArgumentException("want drop:<glob>:<afterBytes>:<times>");
                    }
                    yield new Drop(rest.substring(0, middle),
                            Long.parseLong(rest.substring(middle + 1, last)),
                            Integer.parseInt(rest.substring(last + 1)));
                }
                case "corrupt" -> new Corrupt(rest);
                case "status" -> {
                    List<String> parts = List.of(rest.split(":", 3));
                    if (parts.size() < 2) {
                        throw new IllegalArgumentException("want status:<code>:<times>[:<glob>]");
                    }
                    yield new Status(Integer.parseInt(parts.get(0)), Integer.parseInt(parts.get(1)),
                            parts.size() == 3 ? parts.get(2) : null);
                }
                case "throttle" -> new Throttle(Long.parseLong(rest));
                default -> throw new IllegalArgumentException("unknown fault kind '" + kind + "'");
            };
        } catch (IllegalArgumentException e) {
            // NumberFormatException is one too; either way say what was wrong and what is accepted.
            throw new IllegalArgumentException(
                    "bad fault spec '" + spec + "': " + e.getMessage() + " (accepted: " + FORMS + ")", e);
        }
    }
}
