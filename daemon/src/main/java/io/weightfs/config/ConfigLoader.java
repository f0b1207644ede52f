package io.weightfs.config;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;

/**
 * Reads a truss-style {@code config.yaml} into a validated {@link WeightsConfig}.
 *
 * <p>Two optional list sections are read, {@code model_cache:} (the documented form) and
 * {@code weights:} (the newer {@code hf://} form); every other top-level key is ignored, since a
 * truss config has many. Inside an entry, an unknown key is an error: a misspelt
 * {@code allow_paterns} would otherwise silently download the whole repo.
 *
 * <p>Validation is complete before anything touches the network, and it does not stop at the first
 * problem: every problem found is reported at once, one line each, naming the file, the entry
 * ({@code model_cache[0]}, 0-based as in {@link RepoEntry#index()}) and the rule, so a user fixes the
 * config in one round. Only YAML syntax errors stop early, since nothing after them can be trusted.
 */
public final class ConfigLoader {
    private static final Logger LOG = LoggerFactory.getLogger(ConfigLoader.class);

    static final String MODEL_CACHE = "model_cache";
    static final String WEIGHTS = "weights";
    /** weightfs's own settings section (other top-level keys of a truss config are ignored). */
    static final String WEIGHTFS = "weightfs";

    private static final List<String> MODEL_CACHE_KEYS = List.of(
            "repo_id", "revision", "use_volume", "volume_folder", "allow_patterns", "ignore_patterns",
            "runtime_secret_name", "kind", "repo_type");
    private static final List<String> WEIGHTS_KEYS = List.of(
            "source", "mount_location", "allow_patterns", "ignore_patterns", "auth_secret_name");

    private static final List<String> WEIGHTFS_KEYS = List.of("shared_cache", "namespace", "hf_cache", "metrics", "verify", "read_timeout");

    /**
     * The Hugging Face cache view's folder for {@code hf_cache: true}: {@code hub}, because
     * huggingface_hub's cache is {@code $HF_HOME/hub}, so {@code HF_HOME=<mount>} finds it.
     */
    public static final String DEFAULT_HF_CACHE = "hub";

    /** The revision huggingface_hub uses when none is given. */
    static final String DEFAULT_REVISION = "main";

    /** Top-level folder name the daemon keeps for its control files (status, wait, metrics). */
    static final String RESERVED_FOLDER = ".weightfs";

    /** huggingface_hub's validate_repo_id: each part of a repo id is at most 96 characters. */
    private static final int MAX_REPO_ID_PART = 96;

    private static final String SUPPORTED_SCHEMES = "hf://";
    private static final String SUPPORTED_KINDS = "hf";

    /** Booleans as PyYAML (YAML 1.1, what truss reads configs with) spells them, beyond true/false. */
    private static final Set<String> YAML11_TRUE = Set.of("true", "yes", "on");
    private static final Set<String> YAML11_FALSE = Set.of("false", "no", "off");

    private ConfigLoader() {}

    /**
     * Reads and validates {@code file}.
     *
     * @throws ConfigException if the file cannot be read, is not valid YAML, or breaks any rule
     */
    public static WeightsConfig load(Path file, ConfigOptions options) throws ConfigException {
        String text;
        try {
            if (Files.isDirectory(file)) {
                throw new ConfigException(file, List.of(file + ": is a folder, not a config file"));
            }
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ConfigException(file, List.of(file + ": the config file does not exist"));
        } catch (AccessDeniedException e) {
            throw new ConfigException(file, List.of(file + ": cannot read the config file: permission denied"));
        } catch (CharacterCodingException e) {
            throw new ConfigException(file, List.of(file + ": the config file is not valid UTF-8"));
        } catch (IOException e) {
            throw new ConfigException(file, List.of(file + ": cannot read the config file: " + e));
        }
        return parse(text, file, options);
    }

    /**
     * Validates config text that was read from {@code file} ({@code file} is used only in messages
     * and in the result).
     *
     * @throws ConfigException if the text is not valid YAML or breaks any rule
     */
    public static WeightsConfig parse(String yamlText, Path file, ConfigOptions options) throws ConfigException {
        Object document = parseYaml(yamlText, file);
        return new Validation(file, options).run(document);
    }

    private static Object parseYaml(String yamlText, Path file) throws ConfigException {
        LoadSettings settings = LoadSettings.builder().setLabel(file.toString()).build();
        try {
            return new Load(settings).loadFromString(yamlText);
        } catch (MarkedYamlEngineException e) {
            throw new ConfigException(file, List.of(syntaxProblem(file, e)));
        } catch (YamlEngineException e) {
            throw new ConfigException(file, List.of(file + ": not valid YAML: " + e.getMessage()));
        }
    }

    /**
     * The config with the Hugging Face cache view at {@code folder} ({@code --hf-cache}, which wins over
     * the config's {@code hf_cache}), checked by the same rules; the problems name the option.
     *
     * @throws ConfigException if the folder cannot be the cache view's
     */
    public static WeightsConfig withHfCache(WeightsConfig config, String folder, ConfigOptions options) throws ConfigException {
        Validation v = new Validation(config.file(), options);
        Where where = new Where("--hf-cache", Where.COMMAND_LINE);
        Optional<String> root = v.hfCache(folder, where, "--hf-cache");
        root.ifPresent(r -> v.checkHfCacheApart(where, "--hf-cache", r, config.entries()));
        if (!v.problems.isEmpty() || root.isEmpty()) {
            throw new ConfigException(config.file(), v.problems.isEmpty() ? List.of("--hf-cache: no folder given") : v.problems);
        }
        return config.withHfCache(root);
    }

    /** {@code config.yaml: line 4, column 7: <problem> (<context> at line 2, column 1)}, 1-based. */
    private static String syntaxProblem(Path file, MarkedYamlEngineException e) {
        Optional<Mark> mark = e.getProblemMark().or(e::getContextMark);
        String problem = e.getProblem() != null ? e.getProblem() : e.getMessage();
        StringBuilder sb = new StringBuilder().append(file).append(": ");
        mark.ifPresent(m -> sb.append(position(m)).append(": "));
        sb.append("not valid YAML: ").append(problem);
        if (e.getContext() != null) {
            sb.append(" (").append(e.getContext());
            if (e.getProblemMark().isPresent() && e.getContextMark().isPresent()) {
                sb.append(" at ").append(position(e.getContextMark().get()));
            }
            sb.append(')');
        }
        return sb.toString();
    }

    private static String position(Mark mark) {
        // snakeyaml counts from 0; editors count from 1.
        return "line " + (mark.getLine() + 1) + ", column " + (mark.getColumn() + 1);
    }

    /**
     * Why {@code repoId} is not a valid Hub repo id (HUB-PROTOCOL.md §0, huggingface_hub's
     * {@code validate_repo_id}, restricted to ASCII), or empty if it is valid.
     */
    static Optional<String> repoIdProblem(String repoId) {
        if (repoId.isBlank()) {
            return Optional.of("is empty");
        }
        List<String> reasons = new ArrayList<>();
        long slashes = repoId.chars().filter(c -> c == '/').count();
        if (slashes > 1) {
            reasons.add("it has more than one '/'");
        } else {
            int slash = repoId.indexOf('/');
            if (slash >= 0) {
                partProblems("namespace", repoId.substring(0, slash), reasons);
                partProblems("name", repoId.substring(slash + 1), reasons);
            } else {
                partProblems("name", repoId, reasons);
            }
        }
        if (repoId.contains("--")) {
            reasons.add("it contains '--'");
        }
        if (repoId.contains("..")) {
            reasons.add("it contains '..'");
        }
        if (repoId.endsWith(".git")) {
            reasons.add("it ends with '.git'");
        }
        if (reasons.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of("is malformed: " + String.join("; ", reasons)
                + " (a repo id is 'name' or 'namespace/name'; each part is 1 to 96 letters, digits,"
                + " '_', '-' or '.', and does not start or end with '-' or '.')");
    }

    private static void partProblems(String what, String part, List<String> reasons) {
        if (part.isEmpty()) {
            reasons.add("the " + what + " is empty");
            return;
        }
        String bad = part.codePoints()
                .filter(c -> !isRepoIdChar(c))
                .distinct()
                .mapToObj(c -> "'" + Character.toString(c) + "'")
                .collect(Collectors.joining(", "));
        if (!bad.isEmpty()) {
            reasons.add("the " + what + " contains " + bad);
        }
        if (part.length() > MAX_REPO_ID_PART) {
            reasons.add("the " + what + " is longer than " + MAX_REPO_ID_PART + " characters");
        }
        char first = part.charAt(0);
        char last = part.charAt(part.length() - 1);
        if (first == '-' || first == '.') {
            reasons.add("the " + what + " starts with '" + first + "'");
        }
        if (part.length() > 1 && (last == '-' || last == '.')) {
            reasons.add("the " + what + " ends with '" + last + "'");
        }
    }

    private static boolean isRepoIdChar(int c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '_' || c == '-' || c == '.';
    }

    /** Why {@code revision} cannot be used, or empty if it can. */
    static Optional<String> revisionProblem(String revision) {
        if (revision.isBlank()) {
            return Optional.of("revision is empty: give a branch, tag, refs/pr/N or commit sha, or leave it out"
                    + " for '" + DEFAULT_REVISION + "'");
        }
        if (revision.chars().anyMatch(Character::isISOControl)) {
            return Optional.of("revision " + quoted(revision) + " contains a control character");
        }
        Optional<String> refProblem = refNameProblem(revision);
        if (refProblem.isPresent()) {
            return Optional.of("revision " + quoted(revision) + " " + refProblem.get()
                    + ": give a branch, tag, refs/pr/N or commit sha");
        }
        if (revision.codePointCount(0, revision.length()) == 1) {
            return Optional.of("revision '" + revision + "' is a single character: give a branch, tag, refs/pr/N"
                    + " or commit sha");
        }
        return Optional.empty();
    }

    /** Characters git never allows in a ref name (git check-ref-format, rule 4 and 5). */
    private static final String REF_FORBIDDEN = " ~^:?*[\\";

    /**
     * Why {@code revision} is no git ref name (the rules of {@code git check-ref-format}, which every
     * branch and tag on the Hub keeps), or empty. The first rules matter most here: the revision is a
     * segment of request URLs, and a {@code .}, {@code ..} or empty segment would collapse the URL
     * path (a revision {@code ..} asked for {@code /api/models/<org>/revision} of another repo).
     */
    static Optional<String> refNameProblem(String revision) {
        for (String segment : revision.split("/", -1)) {
            if (segment.equals(".") || segment.equals("..")) {
                return Optional.of("has a '" + segment + "' path segment, which would collapse the request URL"
                        + " (rule: no segment of a revision is '.' or '..')");
            }
            if (segment.isEmpty()) {
                return Optional.of("has an empty path segment (rule: a revision neither starts nor ends with '/'"
                        + " and has no '//')");
            }
            if (segment.startsWith(".")) {
                return Optional.of("has a segment starting with '.' (rule of git ref names: no segment starts with '.')");
            }
            if (segment.endsWith(".lock")) {
                return Optional.of("has a segment ending with '.lock' (rule of git ref names)");
            }
        }
        if (revision.contains("..")) {
            return Optional.of("contains '..' (rule of git ref names: no '..' anywhere)");
        }
        if (revision.endsWith(".")) {
            return Optional.of("ends with '.' (rule of git ref names)");
        }
        if (revision.contains("@{") || revision.equals("@")) {
            return Optional.of("contains '@{' or is '@' (rule of git ref names)");
        }
        for (int i = 0; i < revision.length(); i++) {
            char c = revision.charAt(i);
            if (REF_FORBIDDEN.indexOf(c) >= 0 || c == 0x7f) {
                return Optional.of("contains '" + c + "' (rule of git ref names: no space, ~, ^, :, ?, *, [ or \\)");
            }
        }
        return Optional.empty();
    }

    private static String quoted(String s) {
        StringBuilder sb = new StringBuilder("'");
        s.codePoints().forEach(c -> {
            if (c == 0) {
                sb.append("\\0");
            } else if (Character.isISOControl(c)) {
                sb.append(String.format("\\u%04x", c));
            } else {
                sb.appendCodePoint(c);
            }
        });
        return sb.append('\'').toString();
    }

    /** One config's validation: collects problems and warnings, then builds or throws. */
    private static final class Validation {
        private final Path file;
        private final ConfigOptions options;
        private final List<String> problems = new ArrayList<>();
        private final List<String> warnings = new ArrayList<>();
        private final List<Draft> drafts = new ArrayList<>();

        Validation(Path file, ConfigOptions options) {
            this.file = file;
            this.options = options;
        }

        WeightsConfig run(Object document) throws ConfigException {
            Map<?, ?> top;
            if (document == null) {
                top = Map.of(); // an empty file: reported below as nothing to serve
            } else if (document instanceof Map<?, ?> map) {
                top = map;
            } else {
                problems.add(file + ": the top level must be a map with model_cache: and/or weights:, got "
                        + typeName(document));
                throw new ConfigException(file, problems);
            }
            List<?> modelCache = section(top, MODEL_CACHE);
            List<?> weights = section(top, WEIGHTS);
            if (modelCache != null && weights != null && modelCache.isEmpty() && weights.isEmpty()) {
                problems.add(file + ": no model_cache or weights entries: nothing to serve");
            }
            if (modelCache != null) {
                for (int i = 0; i < modelCache.size(); i++) {
                    modelCacheEntry(new Where(MODEL_CACHE, i), modelCache.get(i));
                }
            }
            if (weights != null) {
                for (int i = 0; i < weights.size(); i++) {
                    weightsEntry(new Where(WEIGHTS, i), weights.get(i));
                }
            }
            checkFoldersDisjoint();
            WeightfsSection section = weightfsSection(top.get(WEIGHTFS));
            List<RepoEntry> entries = new ArrayList<>(drafts.size());
            for (Draft d : drafts) {
                if (d.folder != null) {
                    entries.add(new RepoEntry(d.where.index, d.where.section, d.repoId == null ? "?" : d.repoId, d.revision,
                            d.folder, d.allow, d.ignore, d.secretName, d.type, d.baked));
                }
            }
            section.hfCache().ifPresent(h -> checkHfCacheApart(new Where(WEIGHTFS, Where.SECTION), "hf_cache", h, entries));
            if (!problems.isEmpty()) {
                throw new ConfigException(file, problems);
            }
            warnings.forEach(LOG::warn);
            return new WeightsConfig(file, entries, section.sharedCache(), section.hfCache(), section.metrics(), section.verify(),
                    section.readTimeout());
        }

        /**
         * The optional {@code weightfs:} section: {@code shared_cache} and {@code namespace} (both or
         * neither), {@code hf_cache} (a folder of the mount, or {@code true} for {@value #DEFAULT_HF_CACHE}),
         * {@code metrics} ({@code ADDR:PORT}). Entries' folders must be known: {@code hf_cache} may not
         * share or nest with one.
         */
        private WeightfsSection weightfsSection(Object value) {
            WeightfsSection none = new WeightfsSection(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());
            if (value == null) {
                return none;
            }
            if (!(value instanceof Map<?, ?> map)) {
                problems.add(file + ": " + WEIGHTFS + " must be a map (" + String.join(", ", WEIGHTFS_KEYS) + "), got " + typeName(value));
                return none;
            }
            for (Object k : map.keySet()) {
                if (!(k instanceof String name) || !WEIGHTFS_KEYS.contains(name)) {
                    String key = String.valueOf(k);
                    String suggestion = closest(key, WEIGHTFS_KEYS).map(c -> " (did you mean '" + c + "'?)").orElse("");
                    problems.add(file + ": " + WEIGHTFS + ": unknown key " + quoted(key) + suggestion
                            + "; allowed keys are: " + String.join(", ", WEIGHTFS_KEYS));
                }
            }
            return new WeightfsSection(sharedCache(map), hfCache(map.get("hf_cache"), new Where(WEIGHTFS, Where.SECTION), "hf_cache"),
                    metrics(map.get("metrics")), verify(map.get("verify")), readTimeout(map.get("read_timeout")));
        }

        /** {@code verify: lazy | before-serve}. */
        private Optional<String> verify(Object value) {
            if (value == null) {
                return Optional.empty();
            }
            if (!(value instanceof String v) || !(v.equals("lazy") || v.equals("before-serve"))) {
                problems.add(file + ": " + WEIGHTFS + ": verify must be lazy or before-serve, got " + quoted(String.valueOf(value)));
                return Optional.empty();
            }
            return Optional.of(v);
        }

        /** {@code read_timeout: 60s} (also {@code 500ms}, {@code 2m}, or a number of seconds). */
        private Optional<java.time.Duration> readTimeout(Object value) {
            if (value == null) {
                return Optional.empty();
            }
            String text = String.valueOf(value).strip();
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d{1,9})(ms|s|m)?").matcher(text);
            if (!m.matches() || Long.parseLong(m.group(1)) == 0) {
                problems.add(file + ": " + WEIGHTFS + ": read_timeout must be a positive duration like 60s, 500ms or 2m, got "
                        + quoted(text));
                return Optional.empty();
            }
            long n = Long.parseLong(m.group(1));
            String unit = m.group(2) == null ? "s" : m.group(2);
            return Optional.of(switch (unit) {
                case "ms" -> java.time.Duration.ofMillis(n);
                case "m" -> java.time.Duration.ofMinutes(n);
                default -> java.time.Duration.ofSeconds(n);
            });
        }

        private Optional<WeightsConfig.SharedCache> sharedCache(Map<?, ?> map) {
            Object dir = map.get("shared_cache");
            Object ns = map.get("namespace");
            if (dir == null && ns == null) {
                return Optional.empty();
            }
            if (!(dir instanceof String d) || d.isBlank() || !(ns instanceof String n) || n.isBlank()) {
                problems.add(file + ": " + WEIGHTFS + ": shared_cache (a directory) and namespace (your organisation) go together:"
                        + " give both as strings, or neither");
                return Optional.empty();
            }
            if (!n.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,127}")) {
                problems.add(file + ": " + WEIGHTFS + ": namespace " + quoted(n) + " must be letters, digits, '.', '_' or '-'");
                return Optional.empty();
            }
            return Optional.of(new WeightsConfig.SharedCache(Path.of(d), n));
        }

        /**
         * {@code hf_cache}: a folder of the mount ({@code hub}, {@code hf/hub}, or absolute under a mount
         * root), {@code true} for {@value #DEFAULT_HF_CACHE}, {@code false} or absent for none.
         */
        private Optional<String> hfCache(Object value, Where where, String key) {
            if (value == null || Boolean.FALSE.equals(value)) {
                return Optional.empty();
            }
            if (Boolean.TRUE.equals(value)) {
                value = DEFAULT_HF_CACHE;
            }
            if (!(value instanceof String raw)) {
                problem(where, key + " must be a folder of the mount (e.g. hf_cache: " + DEFAULT_HF_CACHE
                        + ") or true, got " + typeName(value));
                return Optional.empty();
            }
            if (!raw.isBlank() && raw.indexOf('\0') < 0 && isMountRootItself(raw)) {
                problem(where, key + " " + quoted(raw) + " is the mount point itself: name a folder for the Hugging Face cache,"
                        + " e.g. hf_cache: " + DEFAULT_HF_CACHE + " (then HF_HUB_CACHE=<mount>/" + DEFAULT_HF_CACHE
                        + ", or HF_HOME=<mount>)");
                return Optional.empty();
            }
            return Optional.ofNullable(folder(where, key, raw, true));
        }

        private boolean isMountRootItself(String raw) {
            Path p = Path.of(raw).normalize();
            return raw.startsWith("/") ? options.mountRoots().contains(p) : p.toString().isEmpty();
        }

        /** {@code metrics: ADDR:PORT}. */
        private Optional<MetricsAddress> metrics(Object value) {
            if (value == null) {
                return Optional.empty();
            }
            if (!(value instanceof String text)) {
                problems.add(file + ": " + WEIGHTFS + ": metrics must be ADDR:PORT (e.g. metrics: 127.0.0.1:9400, or"
                        + " metrics: \":9400\" for every interface), got " + typeName(value));
                return Optional.empty();
            }
            Optional<String> problem = MetricsAddress.problem(text);
            if (problem.isPresent()) {
                problems.add(file + ": " + WEIGHTFS + ": metrics " + problem.get());
                return Optional.empty();
            }
            return Optional.of(MetricsAddress.parse(text));
        }

        /** An {@code hf_cache} folder may not be an entry's folder, nor lie inside one, nor hold one. */
        private void checkHfCacheApart(Where where, String key, String hfCache, List<RepoEntry> entries) {
            String a = hfCache;
            for (RepoEntry e : entries) {
                String b = e.folder();
                if (a.equals(b)) {
                    problem(where, key + " folder '" + a + "' is also the folder of " + e.label()
                            + ": the Hugging Face cache view needs a folder of its own");
                } else if (a.startsWith(b + "/")) {
                    problem(where, key + " folder '" + a + "' lies inside folder '" + b + "' of " + e.label()
                            + ": the Hugging Face cache view needs a folder of its own");
                } else if (b.startsWith(a + "/")) {
                    problem(where, key + " folder '" + a + "' contains folder '" + b + "' of " + e.label()
                            + ": the Hugging Face cache view needs a folder of its own");
                }
            }
        }

        /** The section's entries; empty if absent or null; null (after reporting) if not a list. */
        private List<?> section(Map<?, ?> top, String name) {
            Object value = top.get(name);
            if (value == null) {
                return List.of();
            }
            if (value instanceof List<?> list) {
                return list;
            }
            String hint = value instanceof Map ? " (start each entry with '- ')" : "";
            problems.add(file + ": " + name + " must be a list of entries" + hint + ", got " + typeName(value));
            return null;
        }

        private void modelCacheEntry(Where where, Object raw) {
            Map<?, ?> entry = entryMap(where, raw, MODEL_CACHE_KEYS);
            if (entry == null) {
                return;
            }
            String repoId = string(where, entry, "repo_id");
            if (entry.get("repo_id") == null) {
                problem(where, "repo_id is required");
            } else if (repoId != null) {
                repoIdProblem(repoId).ifPresent(p -> problem(where, "repo_id " + quoted(repoId) + " " + p));
            }
            String revision = string(where, entry, "revision");
            if (revision == null) {
                revision = DEFAULT_REVISION;
            } else {
                revisionProblem(revision).ifPresent(p -> problem(where, p));
            }
            // use_volume: false (truss: the weights are baked into the image) is what weightfs bake bakes
            // and what a mount given --baked serves from the image's files.
            Boolean useVolume = bool(where, entry, "use_volume");
            String kind = string(where, entry, "kind");
            if (kind != null && !kind.strip().equalsIgnoreCase("hf")) {
                problem(where, "unsupported kind " + quoted(kind) + ": supported kinds are: " + SUPPORTED_KINDS);
            }
            RepoType type = RepoType.MODEL;
            String repoType = string(where, entry, "repo_type");
            if (repoType != null) {
                Optional<RepoType> parsed = RepoType.parse(repoType);
                if (parsed.isEmpty()) {
                    problem(where, "unsupported repo_type " + quoted(repoType) + ": supported repo types are: model, dataset");
                } else {
                    type = parsed.get();
                }
            }
            String folder = null;
            String volumeFolder = string(where, entry, "volume_folder");
            if (entry.get("volume_folder") == null) {
                problem(where, "volume_folder is required: the folder under the mount point where the repo"
                        + " appears, e.g. volume_folder: sdxl");
            } else if (volumeFolder != null) {
                folder = folder(where, "volume_folder", volumeFolder, false);
            }
            finishEntry(where, entry, repoId, revision, folder, "runtime_secret_name", type, Boolean.FALSE.equals(useVolume));
        }

        private void weightsEntry(Where where, Object raw) {
            Map<?, ?> entry = entryMap(where, raw, WEIGHTS_KEYS);
            if (entry == null) {
                return;
            }
            String repoId = null;
            String revision = DEFAULT_REVISION;
            RepoType type = RepoType.MODEL;
            String source = string(where, entry, "source");
            if (entry.get("source") == null) {
                problem(where, "source is required, e.g. source: hf://<repo_id>@<revision>");
            } else if (source != null) {
                String[] parsed = parseSource(where, source);
                if (parsed != null) {
                    repoId = parsed[0];
                    revision = parsed[1];
                    type = RepoType.valueOf(parsed[2]);
                }
            }
            String folder = null;
            String mountLocation = string(where, entry, "mount_location");
            if (entry.get("mount_location") == null) {
                problem(where, "mount_location is required, e.g. mount_location: "
                        + ConfigOptions.DEFAULT_MOUNT_ROOT + "/<name>");
            } else if (mountLocation != null) {
                folder = folder(where, "mount_location", mountLocation, true);
            }
            finishEntry(where, entry, repoId, revision, folder, "auth_secret_name", type, false);
        }

        /** The parts both sections share: patterns and secret; then records the entry. */
        private void finishEntry(Where where, Map<?, ?> entry, String repoId, String revision, String folder,
                String secretKey, RepoType type, boolean baked) {
            Optional<List<String>> allow = patterns(where, entry, "allow_patterns");
            List<String> ignore = patterns(where, entry, "ignore_patterns").orElse(List.of());
            if (allow.isPresent() && allow.get().isEmpty()) {
                warnings.add(prefix(where) + "allow_patterns is an empty list, so no file of this repo is served");
            }
            String secret = string(where, entry, secretKey);
            if (secret != null) {
                TokenResolver.secretNameProblem(secret)
                        .ifPresent(p -> problem(where, secretKey + " " + quoted(secret) + " " + p));
            }
            drafts.add(new Draft(where, repoId, revision, folder, allow, ignore, Optional.ofNullable(secret), type, baked));
        }

        /**
         * {@code hf://[datasets/]<repo_id>[@<revision>]} into {repoId, revision, RepoType name}, or
         * null after reporting.
         */
        private String[] parseSource(Where where, String source) {
            int sep = source.indexOf("://");
            if (sep < 0) {
                problem(where, "source " + quoted(source) + " has no scheme: expected hf://<repo_id>[@<revision>] or hf://datasets/<repo_id>[@<revision>];"
                        + " supported schemes are: " + SUPPORTED_SCHEMES);
                return null;
            }
            String scheme = source.substring(0, sep);
            if (!scheme.equalsIgnoreCase("hf")) {
                problem(where, "source " + quoted(source) + " uses the unsupported scheme '" + scheme
                        + "://': supported schemes are: " + SUPPORTED_SCHEMES);
                return null;
            }
            String rest = source.substring(sep + "://".length());
            RepoType type = RepoType.MODEL;
            if (rest.startsWith(RepoType.DATASET.urlPrefix())) {
                type = RepoType.DATASET;
                rest = rest.substring(RepoType.DATASET.urlPrefix().length());
            } else if (rest.startsWith("spaces/") || rest.startsWith("buckets/") || rest.startsWith("kernels/")) {
                problem(where, "source " + quoted(source) + ": only model and dataset repos can be mounted"
                        + " (hf://<repo_id> or hf://datasets/<repo_id>), not " + rest.substring(0, rest.indexOf('/')));
                return null;
            }
            int at = rest.lastIndexOf('@');
            String repoId = at < 0 ? rest : rest.substring(0, at);
            String revision = at < 0 ? DEFAULT_REVISION : rest.substring(at + 1);
            boolean ok = true;
            Optional<String> idProblem = repoIdProblem(repoId);
            if (idProblem.isPresent()) {
                problem(where, "source " + quoted(source) + ": repo id " + quoted(repoId) + " " + idProblem.get());
                ok = false;
            }
            Optional<String> revProblem = revisionProblem(revision);
            if (revProblem.isPresent()) {
                problem(where, "source " + quoted(source) + ": " + revProblem.get());
                ok = false;
            }
            return ok ? new String[] {repoId, revision, type.name()} : null;
        }

        /**
         * The entry's folder relative to the mount point, normalised, {@code /}-separated; or null
         * after reporting why {@code raw} cannot be one.
         */
        private String folder(Where where, String key, String raw, boolean absoluteAllowed) {
            if (raw.isBlank()) {
                problem(where, key + " is empty");
                return null;
            }
            if (raw.indexOf('\0') >= 0) {
                problem(where, key + " " + quoted(raw) + " contains a NUL character");
                return null;
            }
            String relative = raw;
            if (raw.startsWith("/")) {
                if (!absoluteAllowed) {
                    problem(where, key + " " + quoted(raw) + " is absolute: give a folder relative to the mount"
                            + " point, e.g. " + key + ": sdxl");
                    return null;
                }
                relative = underMountRoot(where, key, raw);
                if (relative == null) {
                    return null;
                }
            }
            Deque<String> segments = new ArrayDeque<>();
            for (String segment : relative.split("/", -1)) {
                if (segment.isEmpty() || segment.equals(".")) {
                    continue;
                }
                if (segment.equals("..")) {
                    if (segments.isEmpty()) {
                        problem(where, key + " " + quoted(raw) + " escapes the mount point through '..'");
                        return null;
                    }
                    segments.removeLast();
                } else {
                    segments.addLast(segment);
                }
            }
            if (segments.isEmpty()) {
                problem(where, key + " " + quoted(raw) + " is the mount point itself: give each repo a folder"
                        + " of its own");
                return null;
            }
            if (segments.getFirst().equals(RESERVED_FOLDER)) {
                problem(where, key + " " + quoted(raw) + " uses the reserved name '" + RESERVED_FOLDER
                        + "': the daemon's control folder lives there");
                return null;
            }
            return String.join("/", segments);
        }

        /** The part of an absolute location below the deepest mount root holding it, or null. */
        private String underMountRoot(Where where, String key, String raw) {
            Path location = Path.of(raw).normalize();
            Path best = null;
            for (Path root : options.mountRoots()) {
                if (location.equals(root)) {
                    problem(where, key + " " + quoted(raw) + " is the mount root itself: name a folder under"
                            + " it, e.g. " + root.resolve("<name>"));
                    return null;
                }
                if (location.startsWith(root) && (best == null || root.getNameCount() > best.getNameCount())) {
                    best = root;
                }
            }
            if (best == null) {
                String roots = options.mountRoots().stream().map(Path::toString).collect(Collectors.joining(" or "));
                problem(where, key + " " + quoted(raw) + " is not under a mount root: it must lie under "
                        + (roots.isEmpty() ? "(no mount root configured)" : roots));
                return null;
            }
            List<String> names = new ArrayList<>();
            best.relativize(location).forEach(p -> names.add(p.toString()));
            return String.join("/", names);
        }

        /** Two entries may not share a folder, nor may one folder lie inside another's. */
        private void checkFoldersDisjoint() {
            for (int j = 0; j < drafts.size(); j++) {
                Draft later = drafts.get(j);
                if (later.folder == null) {
                    continue;
                }
                for (int i = 0; i < j; i++) {
                    Draft earlier = drafts.get(i);
                    if (earlier.folder == null) {
                        continue;
                    }
                    String a = earlier.folder;
                    String b = later.folder;
                    if (a.equals(b)) {
                        problem(later.where, "folder '" + b + "' is also the folder of " + earlier.label()
                                + ": each entry needs a folder of its own");
                    } else if (b.startsWith(a + "/")) {
                        problem(later.where, "folder '" + b + "' lies inside folder '" + a + "' of "
                                + earlier.label() + ": entries' folders may not nest");
                    } else if (a.startsWith(b + "/")) {
                        problem(later.where, "folder '" + b + "' contains folder '" + a + "' of "
                                + earlier.label() + ": entries' folders may not nest");
                    }
                }
            }
        }

        /** The entry as a map with only allowed keys, or null after reporting. */
        private Map<?, ?> entryMap(Where where, Object raw, List<String> allowedKeys) {
            if (!(raw instanceof Map<?, ?> entry)) {
                problem(where, "an entry must be a map of keys (" + String.join(", ", allowedKeys) + "), got "
                        + typeName(raw));
                return null;
            }
            for (Object key : entry.keySet()) {
                String name = String.valueOf(key);
                if (!(key instanceof String) || !allowedKeys.contains(name)) {
                    String suggestion = closest(name, allowedKeys).map(k -> " (did you mean '" + k + "'?)").orElse("");
                    problem(where, "unknown key " + quoted(name) + suggestion + ": allowed keys are: "
                            + String.join(", ", allowedKeys));
                }
            }
            return entry;
        }

        /** The string at {@code key}; null if absent, null, or (after reporting) not a string. */
        private String string(Where where, Map<?, ?> entry, String key) {
            Object value = entry.get(key);
            if (value == null || value instanceof String) {
                return (String) value;
            }
            String hint = value instanceof Number || value instanceof Boolean
                    ? " (put it in quotes to make it one: " + key + ": \"" + value + "\")" : "";
            problem(where, key + " must be a string, got " + typeName(value) + hint);
            return null;
        }

        private Boolean bool(Where where, Map<?, ?> entry, String key) {
            Object value = entry.get(key);
            if (value == null || value instanceof Boolean) {
                return (Boolean) value;
            }
            if (value instanceof String s) {
                String lower = s.strip().toLowerCase(Locale.ROOT);
                if (YAML11_TRUE.contains(lower)) {
                    return true;
                }
                if (YAML11_FALSE.contains(lower)) {
                    return false;
                }
            }
            problem(where, key + " must be true or false, got " + typeName(value));
            return null;
        }

        /** A string or a list of strings; empty Optional if absent or null, or (after reporting) wrong. */
        private Optional<List<String>> patterns(Where where, Map<?, ?> entry, String key) {
            Object value = entry.get(key);
            if (value == null) {
                return Optional.empty();
            }
            if (value instanceof String s) {
                return Optional.of(List.of(s));
            }
            if (!(value instanceof List<?> list)) {
                problem(where, key + " must be a string or a list of strings, got " + typeName(value));
                return Optional.empty();
            }
            List<String> patterns = new ArrayList<>(list.size());
            boolean ok = true;
            for (int i = 0; i < list.size(); i++) {
                if (list.get(i) instanceof String s) {
                    patterns.add(s);
                } else {
                    problem(where, key + "[" + i + "] must be a string, got " + typeName(list.get(i)));
                    ok = false;
                }
            }
            return ok ? Optional.of(patterns) : Optional.empty();
        }

        private void problem(Where where, String text) {
            problems.add(prefix(where) + text);
        }

        private String prefix(Where where) {
            return switch (where.index) {
                case Where.COMMAND_LINE -> "";
                case Where.SECTION -> file + ": " + where.section + ": ";
                default -> file + ": " + where.section + "[" + where.index + "]: ";
            };
        }
    }

    /**
     * How a problem names its place: an entry of a section ({@code index >= 0}), a section as a whole
     * ({@link #SECTION}), or a command-line option ({@link #COMMAND_LINE}: the option names itself).
     */
    private record Where(String section, int index) {
        static final int SECTION = -1;
        static final int COMMAND_LINE = -2;
    }

    /** What the {@code weightfs:} section says. */
    private record WeightfsSection(Optional<WeightsConfig.SharedCache> sharedCache, Optional<String> hfCache,
            Optional<MetricsAddress> metrics, Optional<String> verify, Optional<java.time.Duration> readTimeout) {}

    /** An entry as far as it was understood; {@code folder} is null where it was not valid. */
    private record Draft(Where where, String repoId, String revision, String folder,
            Optional<List<String>> allow, List<String> ignore, Optional<String> secretName, RepoType type, boolean baked) {

        String label() {
            String at = where.section + "[" + where.index + "]";
            return repoId == null ? at : at + " (" + type.qualify(repoId) + ")";
        }
    }

    /** How messages name a YAML value's type. */
    static String typeName(Object value) {
        return switch (value) {
            case null -> "nothing (null)";
            case String _ -> "a string";
            case Boolean _ -> "a boolean";
            case Number _ -> "a number";
            case Map<?, ?> _ -> "a map";
            case List<?> _ -> "a list";
            case Set<?> _ -> "a set";
            case byte[] _ -> "binary data";
            default -> "a " + value.getClass().getSimpleName();
        };
    }

    /** The allowed key a misspelt one most likely meant: within two edits, if any. */
    private static Optional<String> closest(String key, List<String> allowed) {
        String best = null;
        int bestDistance = 3;
        for (String candidate : allowed) {
            int d = editDistance(key.toLowerCase(Locale.ROOT), candidate);
            if (d < bestDistance) {
                best = candidate;
                bestDistance = d;
            }
        }
        return Optional.ofNullable(best);
    }

    private static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
