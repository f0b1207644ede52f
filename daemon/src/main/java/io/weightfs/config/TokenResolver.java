package io.weightfs.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the Hub token for an entry, in huggingface_hub's order (HUB-PROTOCOL.md §5) with the
 * entry's secret file in front:
 * <ol>
 *   <li>{@code <secretsDir>/<secretName>}, when the entry names a secret and the file exists;
 *   <li>environment variable {@code HF_TOKEN}, then {@code HUGGING_FACE_HUB_TOKEN};
 *   <li>file {@code $HF_TOKEN_PATH}, else {@code $HF_HOME/token} ({@code HF_HOME} defaults to
 *       {@code $XDG_CACHE_HOME/huggingface}, else {@code ~/.cache/huggingface}).
 * </ol>
 * Every value is cleaned as huggingface_hub's {@code _clean_token} does (CR and LF removed, then
 * trimmed); an empty one counts as none. With {@code HF_HUB_DISABLE_IMPLICIT_TOKEN} set to a true
 * value only the secret file counts. The environment is injected, so tests need not touch the real
 * one. Stateless apart from its inputs; thread-safe.
 *
 * <p>No token value is ever logged or put into an exception message; only where it came from.
 */
public final class TokenResolver {
    private static final Logger LOG = LoggerFactory.getLogger(TokenResolver.class);

    /** Where Kubernetes (and truss) mount secrets, one file per secret. */
    public static final Path DEFAULT_SECRETS_DIR = Path.of("/secrets");

    /** huggingface_hub's ENV_VARS_TRUE_VALUES, compared after upper-casing. */
    private static final Set<String> TRUE_VALUES = Set.of("1", "ON", "YES", "TRUE");

    private final Path secretsDir;
    private final Map<String, String> env;

    /**
     * @param secretsDir the folder holding one file per named secret
     * @param env the environment to read {@code HF_*}, {@code XDG_CACHE_HOME} and {@code HOME} from
     */
    public TokenResolver(Path secretsDir, Map<String, String> env) {
        this.secretsDir = Objects.requireNonNull(secretsDir, "secretsDir");
        this.env = Map.copyOf(env);
    }

    /** Reads the process environment; the secrets folder is {@code $WEIGHTFS_SECRETS_DIR} or /secrets. */
    public static TokenResolver fromEnvironment() {
        Map<String, String> env = System.getenv();
        String dir = env.get("WEIGHTFS_SECRETS_DIR");
        return new TokenResolver(dir == null || dir.isBlank() ? DEFAULT_SECRETS_DIR : Path.of(dir), env);
    }

    /**
     * The token to use for an entry, if any.
     *
     * @param secretName the entry's {@code runtime_secret_name} / {@code auth_secret_name}
     * @throws IllegalArgumentException if the secret name is not a plain file name (see
     *     {@link #secretNameProblem})
     */
    public Optional<Token> resolve(Optional<String> secretName) {
        if (secretName.isPresent()) {
            Optional<String> problem = secretNameProblem(secretName.get());
            if (problem.isPresent()) {
                throw new IllegalArgumentException("secret name '" + secretName.get() + "' " + problem.get());
            }
            Optional<Token> fromSecret = fromFile(secretsDir.resolve(secretName.get()), "secret file ", true);
            if (fromSecret.isPresent()) {
                return fromSecret;
            }
        }
        if (implicitTokenDisabled()) {
            return Optional.empty();
        }
        for (String name : new String[] {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"}) {
            Optional<Token> fromEnv = toToken(env.get(name), "environment variable " + name);
            if (fromEnv.isPresent()) {
                return fromEnv;
            }
        }
        return fromFile(tokenPath(), "file ", false);
    }

    /**
     * Why {@code name} cannot name a file in the secrets folder, or empty if it can. A name must be
     * one plain file name: not empty, no {@code /}, no {@code ..}, no NUL, not {@code .}.
     */
    static Optional<String> secretNameProblem(String name) {
        if (name.isBlank()) {
            return Optional.of("is empty");
        }
        if (name.indexOf('/') >= 0) {
            return Optional.of("contains '/': it must be the name of one file in the secrets folder");
        }
        if (name.contains("..")) {
            return Optional.of("contains '..': it must be the name of one file in the secrets folder");
        }
        if (name.indexOf('\0') >= 0) {
            return Optional.of("contains a NUL character");
        }
        if (name.equals(".")) {
            return Optional.of("is '.': it must be the name of one file in the secrets folder");
        }
        return Optional.empty();
    }

    /** {@code $HF_TOKEN_PATH}, else {@code $HF_HOME/token}. */
    Path tokenPath() {
        String tokenPath = env.get("HF_TOKEN_PATH");
        if (tokenPath != null && !tokenPath.isEmpty()) {
            return expandUser(tokenPath);
        }
        return hfHome().resolve("token");
    }

    private Path hfHome() {
        String hfHome = env.get("HF_HOME");
        if (hfHome != null && !hfHome.isEmpty()) {
            return expandUser(hfHome);
        }
        String xdg = env.get("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isEmpty()) {
            return expandUser(xdg).resolve("huggingface");
        }
        return home().resolve(".cache").resolve("huggingface");
    }

    /** Python's os.path.expanduser for the {@code ~} and {@code ~/...} forms huggingface_hub applies. */
    private Path expandUser(String path) {
        if (path.equals("~")) {
            return home();
        }
        if (path.startsWith("~/")) {
            return home().resolve(path.substring(2));
        }
        return Path.of(path);
    }

    private Path home() {
        String home = env.get("HOME");
        return Path.of(home != null && !home.isEmpty() ? home : System.getProperty("user.home"));
    }

    private Optional<Token> fromFile(Path file, String kind, boolean warnIfMissing) {
        String source = kind + file;
        if (!Files.exists(file)) {
            if (warnIfMissing) {
                LOG.warn("{} does not exist; {}", source, fallbackNote());
            }
            return Optional.empty();
        }
        String content;
        try {
            content = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            // The exception text is about the file (e.g. permission denied, not UTF-8), never its bytes.
            LOG.warn("cannot read {} ({}); {}", source, e.getClass().getSimpleName(), fallbackNote());
            return Optional.empty();
        }
        if (clean(content).isEmpty()) {
            if (warnIfMissing) {
                LOG.warn("{} is empty; {}", source, fallbackNote());
            }
            return Optional.empty();
        }
        return toToken(content, source);
    }

    /** What happens after a named secret could not be used, for the warning. */
    private String fallbackNote() {
        return implicitTokenDisabled()
                ? "HF_HUB_DISABLE_IMPLICIT_TOKEN is set, so no token is sent"
                : "looking for a Hub token in HF_TOKEN, HUGGING_FACE_HUB_TOKEN and the huggingface token file";
    }

    private boolean implicitTokenDisabled() {
        return isTrue(env.get("HF_HUB_DISABLE_IMPLICIT_TOKEN"));
    }

    private static Optional<Token> toToken(String raw, String source) {
        if (raw == null) {
            return Optional.empty();
        }
        String cleaned = clean(raw);
        if (cleaned.isEmpty()) {
            return Optional.empty();
        }
        if (!Token.isHeaderSafe(cleaned)) {
            LOG.warn("ignoring the Hub token from {}: it contains control characters", source);
            return Optional.empty();
        }
        LOG.debug("using the Hub token from {}", source);
        return Optional.of(new Token(cleaned, source));
    }

    /** huggingface_hub's _clean_token: drop CR and LF anywhere, then strip. */
    private static String clean(String raw) {
        return raw.replace("\r", "").replace("\n", "").strip();
    }

    private static boolean isTrue(String value) {
        return value != null && TRUE_VALUES.contains(value.toUpperCase(Locale.ROOT));
    }
}
