package io.weightfs.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ConfigLoaderTest {
    private static final Path FILE = Path.of("config.yaml");
    private static final ConfigOptions OPTIONS = ConfigOptions.defaults();

    private static WeightsConfig parse(String yaml) throws ConfigException {
        return ConfigLoader.parse(yaml, FILE, OPTIONS);
    }

    private static List<String> problems(String yaml) {
        return problems(yaml, OPTIONS);
    }

    private static List<String> problems(String yaml, ConfigOptions options) {
        return assertThrows(ConfigException.class, () -> ConfigLoader.parse(yaml, FILE, options)).problems();
    }

    /** The single problem of {@code yaml}, asserting there is exactly one. */
    private static String onlyProblem(String yaml) {
        List<String> problems = problems(yaml);
        assertEquals(1, problems.size(), () -> "expected one problem, got " + problems);
        return problems.getFirst();
    }

    private static void assertContains(String haystack, String needle) {
        assertTrue(haystack.contains(needle), () -> "expected <" + needle + "> in <" + haystack + ">");
    }

    private static String modelCache(String repoId, String folder) {
        return "model_cache:\n  - repo_id: " + repoId + "\n    volume_folder: " + folder + "\n";
    }

    // ---- the accepted forms ----

    @Test
    void documentedExample_yieldsOneEntryPerForm_inFileOrder() throws ConfigException {
        WeightsConfig config = parse("""
                model_name: sdxl-and-llama
                resources: {accelerator: H100}
                model_cache:
                  - repo_id: stabilityai/stable-diffusion-xl-base-1.0
                    revision: 462165984030d82259a11f4367a4eed129e94a7b
                    use_volume: true
                    volume_folder: sdxl
                    allow_patterns: ["*.json", "*.safetensors"]
                    ignore_patterns: ["*.fp16.*"]
                    runtime_secret_name: hf_access_token
                weights:
                  - source: hf://meta-llama/Llama-3.2-1B@main
                    mount_location: /app/model_cache/llama
                    allow_patterns: ["*.safetensors", "*.json"]
                    auth_secret_name: hf_access_token
                """);
        assertEquals(FILE, config.file());
        assertEquals(List.of(
                new RepoEntry(0, "model_cache", "stabilityai/stable-diffusion-xl-base-1.0",
                        "462165984030d82259a11f4367a4eed129e94a7b", "sdxl",
                        Optional.of(List.of("*.json", "*.safetensors")), List.of("*.fp16.*"),
                        Optional.of("hf_access_token")),
                new RepoEntry(0, "weights", "meta-llama/Llama-3.2-1B", "main", "llama",
                        Optional.of(List.of("*.safetensors", "*.json")), List.of(), Optional.of("hf_access_token"))),
                config.entries());
    }

    @Test
    void revisionLeftOut_isMain_andPatternsLeftOut_filterNothing() throws ConfigException {
        RepoEntry entry = parse(modelCache("gpt2", "gpt2")).entries().getFirst();
        assertEquals("main", entry.revision());
        assertEquals(Optional.empty(), entry.allowPatterns());
        assertEquals(List.of(), entry.ignorePatterns());
        assertEquals(Optional.empty(), entry.secretName());
    }

    @Test
    void sourceWithoutRevision_isMain() throws ConfigException {
        RepoEntry entry = parse("weights:\n  - source: hf://gpt2\n    mount_location: gpt2\n").entries().getFirst();
        assertEquals("gpt2", entry.repoId());
        assertEquals("main", entry.revision());
    }

    @Test
    void sourceRevision_mayContainSlashes_andIsSplitAtTheLastAt() throws ConfigException {
        RepoEntry entry = parse("weights:\n  - source: hf://org/name@refs/pr/1\n    mount_location: x\n")
                .entries().getFirst();
        assertEquals("org/name", entry.repoId());
        assertEquals("refs/pr/1", entry.revision());
        // With two '@' the repo id keeps the first, and '@' is not allowed in a repo id.
        assertContains(onlyProblem("weights:\n  - source: hf://org/name@ab@cd\n    mount_location: x\n"),
                "repo id 'org/name@ab' is malformed: the name contains '@'");
    }

    @Test
    void singlePattern_writtenAsAString_isAListOfOne() throws ConfigException {
        RepoEntry entry = parse(modelCache("gpt2", "gpt2") + "    allow_patterns: \"*.json\"\n"
                + "    ignore_patterns: \"*.bin\"\n").entries().getFirst();
        assertEquals(Optional.of(List.of("*.json")), entry.allowPatterns());
        assertEquals(List.of("*.bin"), entry.ignorePatterns());
    }

    @Test
    void emptyAllowList_isKept_asAnEmptyList() throws ConfigException {
        RepoEntry entry = parse(modelCache("gpt2", "gpt2") + "    allow_patterns: []\n").entries().getFirst();
        assertEquals(Optional.of(List.of()), entry.allowPatterns());
    }

    @Test
    void useVolumeFalse_marksTheEntryBaked_andTrueOrAbsentDoNot() throws ConfigException {
        assertTrue(parse(modelCache("gpt2", "gpt2") + "    use_volume: false\n").entries().getFirst().baked());
        assertFalse(parse(modelCache("gpt2", "gpt2") + "    use_volume: true\n").entries().getFirst().baked());
        assertFalse(parse(modelCache("gpt2", "gpt2")).entries().getFirst().baked());
    }

    @ParameterizedTest
    @ValueSource(strings = {"true", "false", "yes", "No", "on", "OFF"})
    void useVolume_acceptsYamlBooleans_asPyYamlReadsThem(String value) throws ConfigException {
        assertEquals(1, parse(modelCache("gpt2", "gpt2") + "    use_volume: " + value + "\n").entries().size());
    }

    @ParameterizedTest
    @ValueSource(strings = {"hf", "HF", "Hf"})
    void kindHf_isAccepted_inAnyCase(String kind) throws ConfigException {
        assertEquals(1, parse(modelCache("gpt2", "gpt2") + "    kind: " + kind + "\n").entries().size());
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "org/name", "Org_1/Model.v2-x", "a/b-c.d_e", "_x/y_", "a.b/c-d"})
    void wellFormedRepoIds_areAccepted(String repoId) throws ConfigException {
        assertEquals(repoId, parse(modelCache(repoId, "x")).entries().getFirst().repoId());
    }

    @Test
    void repoIdPartsOf96Characters_areAccepted_and97AreNot() throws ConfigException {
        String ok = "n".repeat(96) + "/" + "m".repeat(96);
        assertEquals(ok, parse(modelCache(ok, "x")).entries().getFirst().repoId());
        assertContains(onlyProblem(modelCache("o/" + "m".repeat(97), "x")), "the name is longer than 96 characters");
    }

    @ParameterizedTest
    @ValueSource(strings = {"refs/pr/1", "v1.0", "main", "462165984030d82259a11f4367a4eed129e94a7b", "ab"})
    void revisions_branchTagPrRefOrSha_areAccepted(String revision) throws ConfigException {
        String yaml = modelCache("gpt2", "x") + "    revision: \"" + revision + "\"\n";
        assertEquals(revision, parse(yaml).entries().getFirst().revision());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "sdxl           | sdxl",
        "sdxl/          | sdxl",
        "./sdxl         | sdxl",
        "a/./b/../c     | a/c",
        "a//b           | a/b",
        "a/.weightfs    | a/.weightfs",
        "'my models/x'  | my models/x",
    })
    void volumeFolder_isNormalised_toARelativeSlashPath(String written, String folder) throws ConfigException {
        assertEquals(folder, parse(modelCache("gpt2", written)).entries().getFirst().folder());
    }

    @Test
    void absoluteMountLocation_underTheDefaultRoot_becomesTheRemainder() throws ConfigException {
        RepoEntry entry = parse("weights:\n  - source: hf://gpt2\n    mount_location: /app/model_cache/org/gpt2/\n")
                .entries().getFirst();
        assertEquals("org/gpt2", entry.folder());
    }

    @Test
    void absoluteMountLocation_underTheTarget_becomesTheRemainder(@TempDir Path target) throws ConfigException {
        String yaml = "weights:\n  - source: hf://gpt2\n    mount_location: " + target.resolve("gpt2") + "\n";
        RepoEntry entry = ConfigLoader.parse(yaml, FILE, ConfigOptions.forTarget(target)).entries().getFirst();
        assertEquals("gpt2", entry.folder());
    }

    @Test
    void relativeMountLocation_isTreatedLikeAVolumeFolder() throws ConfigException {
        assertEquals("models/gpt2",
                parse("weights:\n  - source: hf://gpt2\n    mount_location: models/./gpt2\n").entries().getFirst().folder());
    }

    @Test
    void siblingFoldersSharingAPrefix_areNotNested() throws ConfigException {
        assertEquals(2, parse("model_cache:\n"
                + "  - {repo_id: a/b, volume_folder: model}\n"
                + "  - {repo_id: a/c, volume_folder: model-fp16}\n").entries().size());
    }

    @Test
    void sameRepoTwice_inDifferentFolders_isAccepted() throws ConfigException {
        assertEquals(2, parse("model_cache:\n"
                + "  - {repo_id: a/b, volume_folder: one}\n"
                + "  - {repo_id: a/b, volume_folder: two, revision: dev}\n").entries().size());
    }

    // ---- refusals: YAML ----

    @Test
    void yamlSyntaxError_givesOneBasedLineAndColumn_andTheProblem() {
        String problem = onlyProblem("""
                model_cache:
                  - repo_id: gpt2
                    volume_folder: a: b
                """);
        assertContains(problem, "config.yaml: line 3, column 21: not valid YAML: mapping values are not allowed here");
    }

    @Test
    void duplicateKey_isRefused_withItsPosition() {
        String problem = onlyProblem("""
                model_cache:
                  - repo_id: gpt2
                    repo_id: gpt3
                    volume_folder: a
                """);
        assertContains(problem, "config.yaml: line 3, column 5: not valid YAML: found duplicate key repo_id");
    }

    @Test
    void topLevelList_isRefused() {
        assertEquals("config.yaml: the top level must be a map with model_cache: and/or weights:, got a list",
                onlyProblem("- repo_id: gpt2\n"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "# only a comment\n", "model_name: x\n", "model_cache: []\nweights: []\n",
        "model_cache:\nweights:\n"})
    void configWithNoEntries_isRefused_sayingNothingToServe(String yaml) {
        assertEquals("config.yaml: no model_cache or weights entries: nothing to serve", onlyProblem(yaml));
    }

    @Test
    void sectionWrittenAsAMap_isRefused_withAHintAboutDashes() {
        assertEquals("config.yaml: model_cache must be a list of entries (start each entry with '- '), got a map",
                onlyProblem("model_cache:\n  repo_id: gpt2\n  volume_folder: x\n"));
    }

    @Test
    void entryThatIsNotAMap_isRefused() {
        assertContains(onlyProblem("weights:\n  - hf://gpt2\n"),
                "config.yaml: weights[0]: an entry must be a map of keys (source, mount_location,");
    }

    // ---- refusals: keys and types ----

    @Test
    void unknownKeyInAnEntry_isRefused_namingTheKeyAndTheAllowedKeys() {
        assertEquals("config.yaml: model_cache[0]: unknown key 'allow_paterns' (did you mean 'allow_patterns'?):"
                        + " allowed keys are: repo_id, revision, use_volume, volume_folder, allow_patterns,"
                        + " ignore_patterns, runtime_secret_name, kind, repo_type",
                onlyProblem(modelCache("gpt2", "x") + "    allow_paterns: [\"*.json\"]\n"));
    }

    @Test
    void modelCacheKeyInAWeightsEntry_isRefused() {
        assertContains(onlyProblem("weights:\n  - {source: hf://gpt2, mount_location: x, revision: v1}\n"),
                "config.yaml: weights[0]: unknown key 'revision': allowed keys are: source, mount_location,");
    }

    @Test
    void numberWhereAListIsExpected_isRefused_namingKeyAndType() {
        assertEquals("config.yaml: model_cache[0]: allow_patterns must be a string or a list of strings, got a number",
                onlyProblem(modelCache("gpt2", "x") + "    allow_patterns: 5\n"));
    }

    @Test
    void numberInsideAPatternList_isRefused_namingItsPosition() {
        assertEquals("config.yaml: model_cache[0]: ignore_patterns[1] must be a string, got a number",
                onlyProblem(modelCache("gpt2", "x") + "    ignore_patterns: [\"*.bin\", 7]\n"));
    }

    @Test
    void mapWhereAStringIsExpected_isRefused_namingKeyAndType() {
        assertEquals("config.yaml: model_cache[0]: repo_id must be a string, got a map",
                onlyProblem("model_cache:\n  - repo_id: {org: x}\n    volume_folder: x\n"));
    }

    @Test
    void numericRevision_isRefused_withAHintToQuoteIt() {
        assertEquals("config.yaml: model_cache[0]: revision must be a string, got a number"
                        + " (put it in quotes to make it one: revision: \"1234\")",
                onlyProblem(modelCache("gpt2", "x") + "    revision: 1234\n"));
    }

    @Test
    void useVolumeThatIsNotABoolean_isRefused() {
        assertEquals("config.yaml: model_cache[0]: use_volume must be true or false, got a number",
                onlyProblem(modelCache("gpt2", "x") + "    use_volume: 5\n"));
    }

    @Test
    void unsupportedKind_isRefused_listingTheSupportedKinds() {
        assertEquals("config.yaml: model_cache[0]: unsupported kind 'gcs': supported kinds are: hf",
                onlyProblem(modelCache("gpt2", "x") + "    kind: gcs\n"));
    }

    // ---- refusals: repo ids and revisions ----

    @Test
    void repoIdWithDoubleDash_isRefused_namingTheEntry() {
        List<String> problems = problems("model_cache:\n"
                + "  - {repo_id: ok/fine, volume_folder: a}\n"
                + "  - {repo_id: a--b/c, volume_folder: b}\n");
        assertEquals(1, problems.size());
        assertTrue(problems.getFirst().startsWith(
                "config.yaml: model_cache[1]: repo_id 'a--b/c' is malformed: it contains '--'"), problems.getFirst());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "a/b/c      | it has more than one '/'",
        "-a/b       | the namespace starts with '-'",
        "a/b.       | the name ends with '.'",
        "a..b       | it contains '..'",
        "org/m.git  | it ends with '.git'",
        "'a b'      | the name contains ' '",
        "org/mödel  | the name contains 'ö'",
        "/b         | the namespace is empty",
        "a/         | the name is empty",
        "a/-        | the name starts with '-'",
    })
    void malformedRepoId_isRefused_sayingWhatIsWrong(String repoId, String reason) {
        String problem = onlyProblem(modelCache("'" + repoId + "'", "x"));
        assertContains(problem, "config.yaml: model_cache[0]: repo_id '" + repoId + "' is malformed: ");
        assertContains(problem, reason);
    }

    @ParameterizedTest
    @ValueSource(strings = {"''", "'   '"})
    void emptyRepoId_isRefused(String repoId) {
        assertContains(onlyProblem(modelCache(repoId, "x")), "model_cache[0]: repo_id ");
        assertContains(onlyProblem(modelCache(repoId, "x")), " is empty");
    }

    @Test
    void missingRepoId_isRefused() {
        assertEquals("config.yaml: model_cache[0]: repo_id is required",
                onlyProblem("model_cache:\n  - volume_folder: x\n"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"x", "''", "' '"})
    void oneCharacterOrEmptyRevision_isRefused(String revision) {
        String problem = onlyProblem(modelCache("gpt2", "x") + "    revision: " + revision + "\n");
        assertContains(problem, "config.yaml: model_cache[0]: revision ");
        assertTrue(problem.contains("single character") || problem.contains("is empty"), problem);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "..|'..' path segment, which would collapse the request URL",
        ".|'.' path segment, which would collapse the request URL",
        "/|empty path segment",
        "//|empty path segment",
        "refs/pr/../../x|'..' path segment",
        "refs//pr|empty path segment",
        "main/|empty path segment",
        "/main|empty path segment",
        ".hidden|segment starting with '.'",
        "a..b|contains '..'",
        "dev.lock|ending with '.lock'",
        "v1.|ends with '.'",
        "a@{1}|contains '@{'",
        "'has space'|contains ' '",
        "what?|contains '?'",
        "a\\b|contains '\\'"})
    void aRevisionThatWouldCollapseTheUrlOrIsNoGitRef_isRefused_namingTheRule(String revision, String rule) {
        String problem = onlyProblem(modelCache("gpt2", "x") + "    revision: \"" + revision.replace("\\", "\\\\") + "\"\n");
        assertContains(problem, "config.yaml: model_cache[0]: revision '" + revision + "' ");
        assertContains(problem, rule);
        assertContains(problem, "rule");
        if (revision.contains("@")) {
            return; // in a source, the last '@' separates the revision: another case
        }
        String source = onlyProblem("weights:\n  - source: \"hf://gpt2@" + revision.replace("\\", "\\\\") + "\"\n    mount_location: x\n");
        assertContains(source, "config.yaml: weights[0]: source 'hf://gpt2@" + revision + "': revision '" + revision + "' ");
    }

    @Test
    void sourceWithAnEmptyRevision_isRefused() {
        assertContains(onlyProblem("weights:\n  - source: hf://gpt2@\n    mount_location: x\n"),
                "config.yaml: weights[0]: source 'hf://gpt2@': revision is empty");
    }

    @ParameterizedTest
    @ValueSource(strings = {"s3", "gs", "azure", "https", "HTTP"})
    void sourceWithAnotherScheme_isRefused_namingItAndTheSupportedOne(String scheme) {
        assertEquals("config.yaml: weights[0]: source '" + scheme + "://bucket/model' uses the unsupported scheme '"
                        + scheme + "://': supported schemes are: hf://",
                onlyProblem("weights:\n  - source: " + scheme + "://bucket/model\n    mount_location: x\n"));
    }

    @Test
    void sourceWithoutAScheme_isRefused() {
        assertContains(onlyProblem("weights:\n  - source: org/name\n    mount_location: x\n"),
                "source 'org/name' has no scheme: expected hf://<repo_id>[@<revision>]");
    }

    @Test
    void missingSourceAndMountLocation_areBothReported() {
        List<String> problems = problems("weights:\n  - allow_patterns: [\"*\"]\n");
        assertEquals(2, problems.size(), problems::toString);
        assertContains(problems.get(0), "weights[0]: source is required");
        assertContains(problems.get(1), "weights[0]: mount_location is required");
    }

    // ---- refusals: folders ----

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "'\"\"'          | volume_folder is empty",
        "/abs/path       | volume_folder '/abs/path' is absolute",
        "..              | volume_folder '..' escapes the mount point",
        "a/../../b       | volume_folder 'a/../../b' escapes the mount point",
        ".               | volume_folder '.' is the mount point itself",
        "a/..            | volume_folder 'a/..' is the mount point itself",
        ".weightfs       | volume_folder '.weightfs' uses the reserved name '.weightfs'",
        "./.weightfs/x   | volume_folder './.weightfs/x' uses the reserved name '.weightfs'",
    })
    void badVolumeFolder_isRefused(String folder, String expected) {
        String problem = onlyProblem(modelCache("gpt2", folder));
        assertTrue(problem.startsWith("config.yaml: model_cache[0]: " + expected), problem);
    }

    @Test
    void volumeFolderWithANulCharacter_isRefused() {
        assertContains(onlyProblem(modelCache("gpt2", "\"a\\0b\"")),
                "config.yaml: model_cache[0]: volume_folder 'a\\0b' contains a NUL character");
    }

    @Test
    void missingVolumeFolder_isRefused() {
        assertContains(onlyProblem("model_cache:\n  - repo_id: gpt2\n"),
                "config.yaml: model_cache[0]: volume_folder is required");
    }

    @Test
    void mountLocationOutsideEveryRoot_isRefused_namingTheRoots(@TempDir Path target) {
        String yaml = "weights:\n  - source: hf://gpt2\n    mount_location: /data/gpt2\n";
        assertEquals("config.yaml: weights[0]: mount_location '/data/gpt2' is not under a mount root: it must lie"
                        + " under /app/model_cache or " + target.toAbsolutePath().normalize(),
                problems(yaml, ConfigOptions.forTarget(target)).getFirst());
    }

    @Test
    void mountLocationEscapingTheRootThroughDotDot_isRefused() {
        assertContains(onlyProblem("weights:\n  - source: hf://gpt2\n    mount_location: /app/model_cache/../etc\n"),
                "mount_location '/app/model_cache/../etc' is not under a mount root");
    }

    @ParameterizedTest
    @ValueSource(strings = {"/app/model_cache", "/app/model_cache/", "/app/model_cache/x/.."})
    void mountLocationEqualToTheRoot_isRefused(String location) {
        assertContains(onlyProblem("weights:\n  - source: hf://gpt2\n    mount_location: " + location + "\n"),
                "is the mount root itself");
    }

    @Test
    void mountLocationInTheReservedFolder_isRefused() {
        assertContains(onlyProblem("weights:\n  - source: hf://gpt2\n    mount_location: /app/model_cache/.weightfs\n"),
                "uses the reserved name '.weightfs'");
    }

    @Test
    void twoEntriesInTheSameFolder_acrossSections_areRefused_namingBoth() {
        assertEquals("config.yaml: weights[0]: folder 'llama' is also the folder of model_cache[0] (org/a):"
                        + " each entry needs a folder of its own",
                onlyProblem("model_cache:\n  - {repo_id: org/a, volume_folder: llama/}\n"
                        + "weights:\n  - {source: hf://org/b, mount_location: /app/model_cache/llama}\n"));
    }

    @Test
    void folderNestedInAnother_isRefused_namingBoth() {
        assertEquals("config.yaml: model_cache[1]: folder 'a/b' lies inside folder 'a' of model_cache[0] (org/a):"
                        + " entries' folders may not nest",
                onlyProblem("model_cache:\n  - {repo_id: org/a, volume_folder: a}\n"
                        + "  - {repo_id: org/b, volume_folder: a/b}\n"));
        assertEquals("config.yaml: model_cache[1]: folder 'a' contains folder 'a/b' of model_cache[0] (org/b):"
                        + " entries' folders may not nest",
                onlyProblem("model_cache:\n  - {repo_id: org/b, volume_folder: a/b}\n"
                        + "  - {repo_id: org/a, volume_folder: a}\n"));
    }

    // ---- refusals: secrets ----

    @ParameterizedTest
    @ValueSource(strings = {"../etc/passwd", "a/b", "..", "''"})
    void secretNameThatIsNotAPlainFileName_isRefused(String name) {
        assertContains(onlyProblem(modelCache("gpt2", "x") + "    runtime_secret_name: " + name + "\n"),
                "config.yaml: model_cache[0]: runtime_secret_name '");
        assertContains(onlyProblem("weights:\n  - {source: hf://gpt2, mount_location: x, auth_secret_name: " + name
                + "}\n"), "config.yaml: weights[0]: auth_secret_name '");
    }

    // ---- all at once ----

    @Test
    void everyProblem_isReported_oneLineEach_thenTheHint() {
        ConfigException e = assertThrows(ConfigException.class, () -> parse("""
                model_cache:
                  - repo_id: a--b
                    volume_folder: ../x
                  - repo_id: gpt2
                    volume_folder: y
                    revision: r
                weights:
                  - source: s3://bucket/x
                    mount_location: /elsewhere
                """));
        assertEquals(List.of(
                "config.yaml: model_cache[0]: repo_id 'a--b' is malformed: it contains '--' (a repo id is 'name'"
                        + " or 'namespace/name'; each part is 1 to 96 letters, digits, '_', '-' or '.', and does"
                        + " not start or end with '-' or '.')",
                "config.yaml: model_cache[0]: volume_folder '../x' escapes the mount point through '..'",
                "config.yaml: model_cache[1]: revision 'r' is a single character: give a branch, tag, refs/pr/N or"
                        + " commit sha",
                "config.yaml: weights[0]: source 's3://bucket/x' uses the unsupported scheme 's3://': supported"
                        + " schemes are: hf://",
                "config.yaml: weights[0]: mount_location '/elsewhere' is not under a mount root: it must lie under"
                        + " /app/model_cache"),
                e.problems());
        assertEquals(String.join("\n", e.problems()) + "\n"
                + "Fix the config and run again; nothing was mounted or downloaded.", e.getMessage());
        assertEquals(FILE, e.file());
    }

    // ---- reading files ----

    @Test
    void load_readsTheFile_andNamesItInTheResult(@TempDir Path dir) throws IOException, ConfigException {
        Path file = dir.resolve("config.yaml");
        Files.writeString(file, modelCache("gpt2", "gpt2"), StandardCharsets.UTF_8);
        WeightsConfig config = ConfigLoader.load(file, OPTIONS);
        assertEquals(file, config.file());
        assertEquals("gpt2", config.entries().getFirst().folder());
    }

    @Test
    void load_ofAMissingFile_isRefused_sayingSo(@TempDir Path dir) {
        Path file = dir.resolve("nope.yaml");
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(file, OPTIONS));
        assertEquals(List.of(file + ": the config file does not exist"), e.problems());
    }

    @Test
    void load_ofAFolder_isRefused_sayingSo(@TempDir Path dir) {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(dir, OPTIONS));
        assertEquals(List.of(dir + ": is a folder, not a config file"), e.problems());
    }

    @Test
    void load_ofAFileThatIsNotUtf8_isRefused(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("config.yaml");
        Files.write(file, new byte[] {'a', ':', ' ', (byte) 0xff, '\n'});
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(file, OPTIONS));
        assertEquals(List.of(file + ": the config file is not valid UTF-8"), e.problems());
    }

    // ---- options ----

    @Test
    void forTarget_addsTheNormalisedTargetAfterTheDefaultRoot() {
        assertEquals(List.of(Path.of("/app/model_cache"), Path.of("/mnt/models")),
                ConfigOptions.forTarget(Path.of("/mnt/x/../models/")).mountRoots());
    }

    @Test
    void relativeMountRoot_isRejected() {
        assertThrows(IllegalArgumentException.class, () -> new ConfigOptions(List.of(Path.of("models"))));
    }

    @org.junit.jupiter.api.Test
    void theWeightfsSection_namesTheSharedCache() throws Exception {
        WeightsConfig c = ConfigLoader.parse("""
                model_cache:
                  - repo_id: org/m
                    volume_folder: m
                weightfs:
                  shared_cache: /mnt/b10cache
                  namespace: acme
                """, java.nio.file.Path.of("config.yaml"), ConfigOptions.defaults());
        org.junit.jupiter.api.Assertions.assertEquals(
                java.util.Optional.of(new WeightsConfig.SharedCache(java.nio.file.Path.of("/mnt/b10cache"), "acme")), c.sharedCache());
    }

    @org.junit.jupiter.api.Test
    void aSharedCacheWithoutNamespace_orAnUnknownKey_isRefused() {
        ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> ConfigLoader.parse("""
                model_cache:
                  - repo_id: org/m
                    volume_folder: m
                weightfs:
                  shared_cache: /mnt/b10cache
                  namespaec: acme
                """, java.nio.file.Path.of("config.yaml"), ConfigOptions.defaults()));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("unknown key 'namespaec'"), e.getMessage());
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("go together"), e.getMessage());
    }

    @Test
    void repoTypeDataset_inEitherForm_makesADatasetEntry() throws Exception {
        RepoEntry cached = parse("model_cache:\n  - repo_id: org/data\n    repo_type: dataset\n    volume_folder: d\n")
                .entries().getFirst();
        assertEquals(RepoType.DATASET, cached.repoType());
        assertEquals("org/data", cached.repoId());
        RepoEntry weights = parse("weights:\n  - source: hf://datasets/org/data@refs/pr/2\n    mount_location: d\n")
                .entries().getFirst();
        assertEquals(RepoType.DATASET, weights.repoType());
        assertEquals("org/data", weights.repoId());
        assertEquals("refs/pr/2", weights.revision());
        assertEquals(RepoType.MODEL, parse(modelCache("org/m", "m")).entries().getFirst().repoType());
        assertEquals(RepoType.MODEL, parse("model_cache:\n  - repo_id: org/m\n    repo_type: model\n    volume_folder: m\n")
                .entries().getFirst().repoType());
    }

    @Test
    void anUnknownRepoTypeOrASpaceSource_isRefused_namingWhatIsSupported() {
        assertContains(onlyProblem("model_cache:\n  - repo_id: org/s\n    repo_type: space\n    volume_folder: s\n"),
                "model_cache[0]: unsupported repo_type 'space': supported repo types are: model, dataset");
        assertContains(onlyProblem("weights:\n  - source: hf://spaces/org/s\n    mount_location: s\n"),
                "only model and dataset repos can be mounted");
        assertContains(onlyProblem("weights:\n  - source: hf://datasets/a/b/c\n    mount_location: s\n"),
                "repo id 'a/b/c' is malformed");
    }

    // ---- the weightfs section: the Hugging Face cache view and metrics ----

    private static String withSection(String section) {
        return modelCache("org/m", "m") + "weightfs:\n" + section;
    }

    @Test
    void hfCache_isAFolderOfTheMount_orTrueForHub() throws ConfigException {
        assertEquals(Optional.of("hub"), parse(withSection("  hf_cache: hub\n")).hfCache());
        assertEquals(Optional.of("hub"), parse(withSection("  hf_cache: true\n")).hfCache());
        assertEquals(Optional.of("hf/hub"), parse(withSection("  hf_cache: ./hf//hub/\n")).hfCache());
        assertEquals(Optional.of("hub"), parse(withSection("  hf_cache: /app/model_cache/hub\n")).hfCache());
        assertEquals(Optional.empty(), parse(withSection("  hf_cache: false\n")).hfCache());
        assertEquals(Optional.empty(), parse(modelCache("org/m", "m")).hfCache());
    }

    @Test
    void aBadHfCache_isRefused_sayingWhyAndWhatToGive() {
        assertContains(onlyProblem(withSection("  hf_cache: 3\n")), "config.yaml: weightfs: hf_cache must be a folder of the mount"
                + " (e.g. hf_cache: hub) or true, got a number");
        assertContains(onlyProblem(withSection("  hf_cache: .\n")), "weightfs: hf_cache '.' is the mount point itself");
        assertContains(onlyProblem(withSection("  hf_cache: /app/model_cache\n")), "HF_HUB_CACHE=<mount>/hub, or HF_HOME=<mount>");
        assertContains(onlyProblem(withSection("  hf_cache: ../up\n")), "weightfs: hf_cache '../up' escapes the mount point");
        assertContains(onlyProblem(withSection("  hf_cache: .weightfs/hub\n")), "uses the reserved name '.weightfs'");
        assertContains(onlyProblem(withSection("  hf_cache: /elsewhere/hub\n")), "is not under a mount root");
    }

    @Test
    void anHfCacheThatSharesOrNestsWithAnEntrysFolder_isRefused_namingTheEntry() {
        assertContains(onlyProblem(withSection("  hf_cache: m\n")),
                "weightfs: hf_cache folder 'm' is also the folder of model_cache[0] (org/m)");
        assertContains(onlyProblem(withSection("  hf_cache: m/hub\n")), "hf_cache folder 'm/hub' lies inside folder 'm'");
        assertContains(onlyProblem("model_cache:\n  - repo_id: org/m\n    volume_folder: hub/m\nweightfs:\n  hf_cache: hub\n"),
                "hf_cache folder 'hub' contains folder 'hub/m' of model_cache[0] (org/m)");
    }

    @Test
    void hfCacheOnTheCommandLine_winsOverTheConfig_andItsProblemsNameTheOption() throws ConfigException {
        WeightsConfig c = parse(withSection("  hf_cache: hub\n"));
        assertEquals(Optional.of("cache/hub"), ConfigLoader.withHfCache(c, "cache/hub", OPTIONS).hfCache());
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.withHfCache(c, "m", OPTIONS));
        assertEquals(List.of("--hf-cache folder 'm' is also the folder of model_cache[0] (org/m): the Hugging Face cache view needs"
                + " a folder of its own"), e.problems());
        assertThrows(ConfigException.class, () -> ConfigLoader.withHfCache(c, "..", OPTIONS));
    }

    @Test
    void verifyAndReadTimeout_areReadFromTheSection_andBadValuesRefused() throws ConfigException {
        WeightsConfig c = parse(withSection("  verify: before-serve\n  read_timeout: 90s\n"));
        assertEquals(Optional.of("before-serve"), c.verify());
        assertEquals(Optional.of(java.time.Duration.ofSeconds(90)), c.readTimeout());
        assertEquals(Optional.of(java.time.Duration.ofMillis(500)), parse(withSection("  read_timeout: 500ms\n")).readTimeout());
        assertEquals(Optional.of(java.time.Duration.ofMinutes(2)), parse(withSection("  read_timeout: 2m\n")).readTimeout());
        assertContains(onlyProblem(withSection("  verify: eager\n")), "weightfs: verify must be lazy or before-serve, got 'eager'");
        assertContains(onlyProblem(withSection("  read_timeout: forever\n")), "read_timeout must be a positive duration like 60s");
        assertContains(onlyProblem(withSection("  read_timeout: 0\n")), "read_timeout must be a positive duration");
    }

    @Test
    void metrics_isAddrColonPort() throws ConfigException {
        assertEquals(Optional.of(new MetricsAddress("127.0.0.1", 9400)), parse(withSection("  metrics: 127.0.0.1:9400\n")).metrics());
        assertEquals(Optional.of(new MetricsAddress("::1", 0)), parse(withSection("  metrics: \"[::1]:0\"\n")).metrics());
        assertEquals(Optional.of(new MetricsAddress("", 9400)), parse(withSection("  metrics: \":9400\"\n")).metrics());
        assertEquals("0.0.0.0", MetricsAddress.parse(":9400").bindHost());
        assertEquals("[::1]:9400", MetricsAddress.parse("[::1]:9400").toString());
    }

    @Test
    void badMetricsAddresses_areRefused_withAnExample() {
        assertContains(onlyProblem(withSection("  metrics: 9400\n")), "weightfs: metrics must be ADDR:PORT (e.g. metrics: 127.0.0.1:9400");
        assertContains(onlyProblem(withSection("  metrics: localhost\n")), "metrics 'localhost' is not ADDR:PORT");
        assertContains(onlyProblem(withSection("  metrics: 127.0.0.1:70000\n")), "port 70000 is not in 0-65535");
        assertContains(onlyProblem(withSection("  metrics: \"http://x:1\"\n")), "is not ADDR:PORT");
    }

    @Test
    void anUnknownWeightfsKey_isRefused_withTheKeyItMeant() {
        assertContains(onlyProblem(withSection("  hf_cahce: hub\n")),
                "weightfs: unknown key 'hf_cahce' (did you mean 'hf_cache'?); allowed keys are: shared_cache, namespace, hf_cache, metrics,"
                        + " verify, read_timeout");
    }
}
