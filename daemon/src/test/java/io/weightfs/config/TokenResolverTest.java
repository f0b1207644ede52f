package io.weightfs.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TokenResolverTest {
    private static final Optional<String> SECRET = Optional.of("hf_access_token");

    @TempDir
    Path dir;

    private Path secrets;
    private Path home;
    /** The environment handed to the resolver; HOME points into the temp dir so no real token leaks in. */
    private final Map<String, String> env = new HashMap<>();

    @BeforeEach
    void setUp() throws IOException {
        secrets = Files.createDirectories(dir.resolve("secrets"));
        home = Files.createDirectories(dir.resolve("home"));
        env.put("HOME", home.toString());
    }

    private TokenResolver resolver() {
        return new TokenResolver(secrets, env);
    }

    private Path write(Path file, String content) throws IOException {
        Files.createDirectories(file.getParent());
        return Files.writeString(file, content, StandardCharsets.UTF_8);
    }

    @Test
    void secretFile_comesFirst_trimmed_andNamesItsPath() throws IOException {
        Path file = write(secrets.resolve("hf_access_token"), "  hf_secret\n");
        env.put("HF_TOKEN", "hf_env");
        Token token = resolver().resolve(SECRET).orElseThrow();
        assertEquals("hf_secret", token.value());
        assertEquals("secret file " + file, token.source());
    }

    @Test
    void missingSecretFile_fallsThroughToHfToken() {
        env.put("HF_TOKEN", "hf_env");
        Token token = resolver().resolve(SECRET).orElseThrow();
        assertEquals("hf_env", token.value());
        assertEquals("environment variable HF_TOKEN", token.source());
    }

    @Test
    void emptySecretFile_countsAsNone() throws IOException {
        write(secrets.resolve("hf_access_token"), " \n");
        env.put("HF_TOKEN", "hf_env");
        assertEquals("hf_env", resolver().resolve(SECRET).orElseThrow().value());
    }

    @Test
    void hfToken_winsOverTheLegacyVariable() {
        env.put("HF_TOKEN", "hf_new");
        env.put("HUGGING_FACE_HUB_TOKEN", "hf_old");
        assertEquals("hf_new", resolver().resolve(Optional.empty()).orElseThrow().value());
    }

    @Test
    void legacyVariable_isUsed_whenHfTokenIsAbsentOrBlank() {
        env.put("HUGGING_FACE_HUB_TOKEN", "hf_old");
        Token token = resolver().resolve(Optional.empty()).orElseThrow();
        assertEquals("hf_old", token.value());
        assertEquals("environment variable HUGGING_FACE_HUB_TOKEN", token.source());
        env.put("HF_TOKEN", "  ");
        assertEquals("hf_old", resolver().resolve(Optional.empty()).orElseThrow().value());
    }

    @Test
    void environmentVariables_winOverTheTokenFile() throws IOException {
        write(home.resolve(".cache/huggingface/token"), "hf_file");
        env.put("HUGGING_FACE_HUB_TOKEN", "hf_old");
        assertEquals("hf_old", resolver().resolve(Optional.empty()).orElseThrow().value());
    }

    @Test
    void tokenFile_defaultsToTheHomeCache_andIsCleaned() throws IOException {
        Path file = write(home.resolve(".cache/huggingface/token"), "hf_file\r\n");
        Token token = resolver().resolve(Optional.empty()).orElseThrow();
        assertEquals("hf_file", token.value());
        assertEquals("file " + file, token.source());
    }

    @Test
    void tokenFile_followsXdgCacheHome() throws IOException {
        Path xdg = dir.resolve("xdg");
        write(xdg.resolve("huggingface/token"), "hf_xdg");
        env.put("XDG_CACHE_HOME", xdg.toString());
        assertEquals("hf_xdg", resolver().resolve(Optional.empty()).orElseThrow().value());
    }

    @Test
    void tokenFile_followsHfHome_overXdgCacheHome() throws IOException {
        write(dir.resolve("xdg/huggingface/token"), "hf_xdg");
        write(dir.resolve("hfhome/token"), "hf_home");
        env.put("XDG_CACHE_HOME", dir.resolve("xdg").toString());
        env.put("HF_HOME", dir.resolve("hfhome").toString());
        assertEquals("hf_home", resolver().resolve(Optional.empty()).orElseThrow().value());
    }

    @Test
    void tokenFile_followsHfTokenPath_overHfHome_andExpandsTilde() throws IOException {
        write(dir.resolve("hfhome/token"), "hf_home");
        write(home.resolve("tokens/mine"), "hf_path");
        env.put("HF_HOME", dir.resolve("hfhome").toString());
        env.put("HF_TOKEN_PATH", "~/tokens/mine");
        assertEquals("hf_path", resolver().resolve(Optional.empty()).orElseThrow().value());
    }

    @Test
    void emptyTokenFile_andNoOtherSource_isNoToken() throws IOException {
        write(home.resolve(".cache/huggingface/token"), "\n");
        assertEquals(Optional.empty(), resolver().resolve(Optional.empty()));
    }

    @Test
    void noSourceAtAll_isNoToken() {
        assertEquals(Optional.empty(), resolver().resolve(SECRET));
    }

    @ParameterizedTest
    @ValueSource(strings = {"1", "ON", "yes", "True"})
    void disableImplicitToken_leavesOnlyTheSecretFile(String truthy) throws IOException {
        env.put("HF_HUB_DISABLE_IMPLICIT_TOKEN", truthy);
        env.put("HF_TOKEN", "hf_env");
        write(home.resolve(".cache/huggingface/token"), "hf_file");
        assertEquals(Optional.empty(), resolver().resolve(Optional.empty()));
        assertEquals(Optional.empty(), resolver().resolve(SECRET));
        write(secrets.resolve("hf_access_token"), "hf_secret");
        assertEquals("hf_secret", resolver().resolve(SECRET).orElseThrow().value());
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "false", "no", ""})
    void disableImplicitTokenSetToAFalseValue_changesNothing(String falsy) {
        env.put("HF_HUB_DISABLE_IMPLICIT_TOKEN", falsy);
        env.put("HF_TOKEN", "hf_env");
        assertEquals("hf_env", resolver().resolve(Optional.empty()).orElseThrow().value());
    }

    @ParameterizedTest
    @ValueSource(strings = {"../hf_access_token", "a/b", "..", "", "."})
    void secretNameThatIsNotAPlainFileName_isRejected(String name) {
        assertThrows(IllegalArgumentException.class, () -> resolver().resolve(Optional.of(name)));
    }

    @Test
    void tokenWithControlCharacters_isIgnored_withoutPuttingItInAnyMessage() throws IOException {
        write(secrets.resolve("hf_access_token"), "hf_a\tb");
        env.put("HF_TOKEN", "hf_env");
        assertEquals("hf_env", resolver().resolve(SECRET).orElseThrow().value());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Token("hf_a\tb", "x"));
        assertFalse(e.getMessage().contains("hf_a"), e.getMessage());
    }

    @Test
    void warnings_nameThePath_butNeverTheToken() throws IOException {
        env.put("HF_TOKEN", "hf_do_not_log_me");
        write(secrets.resolve("empty"), "");
        PrintStream original = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        try {
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            resolver().resolve(SECRET);
            resolver().resolve(Optional.of("empty"));
        } finally {
            System.setErr(original);
        }
        String log = captured.toString(StandardCharsets.UTF_8);
        assertTrue(log.contains(secrets.resolve("hf_access_token").toString()), log);
        assertFalse(log.contains("hf_do_not_log_me"), log);
    }

    @Test
    void token_toString_isRedacted_andEqualityIsByValue() {
        Token a = new Token("hf_abc", "environment variable HF_TOKEN");
        Token b = new Token("hf_abc", "file /x");
        assertEquals("Token[redacted]", a.toString());
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertNotEquals(a, new Token("hf_abd", "file /x"));
        assertFalse(String.valueOf(Optional.of(a)).contains("hf_abc"));
    }

    @Test
    void fromEnvironment_readsTheProcessEnvironment() {
        // Only that it builds; the lookup itself is covered above with an injected environment.
        TokenResolver.fromEnvironment();
    }
}
