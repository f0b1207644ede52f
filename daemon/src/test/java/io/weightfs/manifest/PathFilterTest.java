package io.weightfs.manifest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class PathFilterTest {

    /**
     * (pattern, path, expected) as CPython 3.11.7 answers {@code fnmatch.fnmatchcase(path, pattern)};
     * generated once with python3 and pasted here, so the test needs no Python.
     */
    private static final Object[][] FNMATCHCASE_TABLE = {
        {"*.json", "config.json", true},
        {"*.json", "a/b.json", true},
        {"*.json", "config.JSON", false},
        {"*.json", "config.json.bak", false},
        {"*.safetensors", "model.safetensors", true},
        {"*.safetensors", "model.safetensors.index.json", false},
        {"*.safetensors", "sub/dir/model-00001-of-00002.safetensors", true},
        {"**", "any/thing/at/all", true},
        {"**/*.bin", "pytorch_model.bin", false},
        {"**/*.bin", "a/pytorch_model.bin", true},
        {"*/*.bin", "pytorch_model.bin", false},
        {"data/*", "data/x/y.txt", true},
        {"data/*", "data/", true},
        {"data/", "data/x", false},
        {"?.bin", "a.bin", true},
        {"?.bin", "ab.bin", false},
        {"?.bin", "/.bin", true},
        {"a?c", "a/c", true},
        {"[abc].txt", "b.txt", true},
        {"[abc].txt", "d.txt", false},
        {"[!abc].txt", "d.txt", true},
        {"[!abc].txt", "a.txt", false},
        {"[!abc].txt", "/.txt", true},
        {"[a-c]x", "bx", true},
        {"[a-c]x", "dx", false},
        {"[]]", "]", true},
        {"[]]", "a", false},
        {"[!]]", "]", false},
        {"[!]]", "a", true},
        {"[a-]", "-", true},
        {"[a-]", "a", true},
        {"[a-]", "b", false},
        {"[-a]", "-", true},
        {"[", "[", true},
        {"a[", "a[", true},
        {"a[b", "a[b", true},
        {"[!]", "[!]", true},
        {"[]", "[]", true},
        {"[z-a]", "z", false},
        {"[z-a]", "-", false},
        {"[!z-a]", "q", true},
        {"[a-b-c]", "-", true},
        {"[a-b-c]", "c", true},
        {"[a-b-c]", "b", true},
        {"[a-c-e]", "d", false},
        {"[a-c-e]", "-", true},
        {"[a-c-e]", "e", true},
        {"[a--]", "a", false},
        {"[a--]", "-", false},
        {"[!a--]", "x", true},
        {"[!a--]", "a", true},
        {"[\\]", "\\", true},
        {"a\\*b", "a\\xb", true},
        {"a\\*b", "a*b", false},
        {"[*]", "*", true},
        {"[*]", "x", false},
        {"[?]", "?", true},
        {"[^a]", "^", true},
        {"[^a]", "b", false},
        {"[[]", "[", true},
        {"[a&&b]", "&", true},
        {"Ñ*.json", "Ñandú/config.json", true},
        {"模型/*.bin", "模型/权重.bin", true},
        {"?", "😀", true},
        {"??", "😀", false},
        {"my model/*", "my model/weights file.bin", true},
        {"*fp16*", "unet/diffusion_pytorch_model.fp16.safetensors", true},
        {"*.fp16.*", "model.fp16.safetensors", true},
        {"*.fp16.*", "fp16.safetensors", false},
        {"", "", true},
        {"", "a", false},
        {"a*b*c*d", "aXbYcZd", true},
        {"a*b*c*d", "aXbYcZ", false},
        {"*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
        {"[0-9][0-9]*", "01-model.bin", true},
        {"[!0-9]*", "x1", true},
        {"[!a-c-]x", "-x", false},
    };

    static Stream<Arguments> fnmatchcaseTable() {
        return Stream.of(FNMATCHCASE_TABLE).map(row -> Arguments.of(row[0], row[1], row[2]));
    }

    @ParameterizedTest(name = "fnmatchcase({1}, {0}) == {2}")
    @MethodSource("fnmatchcaseTable")
    void fnmatchcase_agreesWithCPython(String pattern, String path, boolean expected) {
        assertEquals(expected, PathFilter.fnmatchcase(path, pattern));
    }

    private static final List<String> REPO = List.of(
            "config.json",
            "model.safetensors",
            "model.fp16.safetensors",
            "model.safetensors.index.json",
            "unet/config.json",
            "data/a/b.txt",
            "data",
            "database/x",
            "sub/x.bin",
            "README.md");

    private static List<String> kept(PathFilter filter) {
        return REPO.stream().filter(filter).toList();
    }

    // Expected lists below come from huggingface_hub's filter_repo_objects logic run under python3.

    @Test
    void allowAndIgnore_keepFilesMatchingAnAllowPatternAndNoIgnorePattern() {
        PathFilter filter = PathFilter.of(Optional.of(List.of("*.json", "*.safetensors")), List.of("*.fp16.*"));
        assertEquals(
                List.of("config.json", "model.safetensors", "model.safetensors.index.json", "unet/config.json"),
                kept(filter));
    }

    @Test
    void noAllowPatterns_keepsEverythingNotIgnored() {
        PathFilter filter = PathFilter.of(Optional.empty(), List.of("*.md", "data/"));
        assertEquals(
                List.of("config.json", "model.safetensors", "model.fp16.safetensors",
                        "model.safetensors.index.json", "unet/config.json", "data", "database/x", "sub/x.bin"),
                kept(filter));
    }

    @Test
    void noPatternsAtAll_keepsEverything() {
        assertEquals(REPO, kept(PathFilter.of(Optional.empty(), List.of())));
    }

    @Test
    void emptyAllowList_keepsNothing() {
        assertEquals(List.of(), kept(PathFilter.of(Optional.of(List.of()), List.of())));
    }

    @Test
    void patternEndingInSlash_selectsEverythingBelowThatFolder_butNotTheFolderNameAlone() {
        assertEquals(List.of("data/a/b.txt"), kept(PathFilter.of(Optional.of(List.of("data/")), List.of())));
    }

    @Test
    void backslashes_inPatternsAndPaths_areTreatedAsSlashes() {
        assertEquals(List.of("sub/x.bin"), kept(PathFilter.of(Optional.of(List.of("sub\\*.bin")), List.of())));
        assertTrue(PathFilter.of(Optional.of(List.of("sub/*")), List.of()).test("sub\\x.bin"));
        assertTrue(PathFilter.of(Optional.of(List.of("data\\")), List.of()).test("data/x"));
    }

    @Test
    void ignoreWins_overAnAllowPatternThatAlsoMatches() {
        assertFalse(PathFilter.of(Optional.of(List.of("*")), List.of("*")).test("config.json"));
    }

    @Test
    void matching_isCaseSensitive() {
        PathFilter filter = PathFilter.of(Optional.of(List.of("*.JSON")), List.of());
        assertFalse(filter.test("config.json"));
        assertTrue(filter.test("CONFIG.JSON"));
    }

    @Test
    void describe_listsThePatternsAsWritten() {
        assertEquals("allow_patterns [\"*.json\"], ignore_patterns [\"*.fp16.*\"]",
                PathFilter.of(Optional.of(List.of("*.json")), List.of("*.fp16.*")).describe());
        assertEquals("no allow_patterns, ignore_patterns []",
                PathFilter.of(Optional.empty(), List.of()).describe());
        assertEquals("allow_patterns [\"a\\\\b\", \"say \\\"hi\\\"\"], ignore_patterns []",
                PathFilter.of(Optional.of(List.of("a\\b", "say \"hi\"")), List.of()).describe());
    }

    @Test
    void filtersWithTheSamePatterns_areEqual() {
        assertEquals(PathFilter.of(Optional.of(List.of("*.json")), List.of()),
                PathFilter.of(Optional.of(List.of("*.json")), List.of()));
        assertFalse(PathFilter.of(Optional.of(List.of()), List.of())
                .equals(PathFilter.of(Optional.empty(), List.of())));
    }
}
