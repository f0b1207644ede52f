package io.weightfs.manifest;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * Which files of a repo an entry keeps: huggingface_hub's {@code filter_repo_objects}, so that a
 * config written for {@code snapshot_download} selects exactly the same files here.
 *
 * <p>Rules (HUB-PROTOCOL.md §8): {@code \} becomes {@code /} in patterns and paths; a pattern ending
 * in {@code /} gets {@code *} appended; a path is kept if it matches at least one allow pattern (when
 * an allow list is given; an empty one keeps nothing) and no ignore pattern. Matching is Python's
 * {@code fnmatch.fnmatchcase}: whole path, case-sensitive, {@code *} crosses {@code /}, {@code ?}
 * is one character, {@code [seq]} / {@code [!seq]} are classes, backslash is not an escape.
 *
 * <p>Patterns are compiled once, into a small token matcher rather than a regex: Python's
 * {@code fnmatch.translate} has corner cases in classes (empty ranges dropped, {@code -} after a
 * range literal) that are easier to reproduce exactly as a set of code-point ranges than to
 * re-express in Java regex syntax, and the matcher cannot backtrack catastrophically. Immutable and
 * thread-safe.
 */
public final class PathFilter implements Predicate<String> {

    private final Optional<List<String>> allow;
    private final List<String> ignore;
    private final Optional<List<Glob>> allowGlobs;
    private final List<Glob> ignoreGlobs;

    private PathFilter(Optional<List<String>> allow, List<String> ignore) {
        this.allow = allow.map(List::copyOf);
        this.ignore = List.copyOf(ignore);
        this.allowGlobs = this.allow.map(PathFilter::compileAll);
        this.ignoreGlobs = compileAll(this.ignore);
    }

    /**
     * @param allow the allow patterns; empty Optional = no allow filter (keep everything not ignored);
     *     a present but empty list keeps nothing
     * @param ignore patterns that exclude a file; may be empty
     */
    public static PathFilter of(Optional<List<String>> allow, List<String> ignore) {
        Objects.requireNonNull(allow, "allow");
        Objects.requireNonNull(ignore, "ignore");
        return new PathFilter(allow, ignore);
    }

    /** True if the file at {@code repoPath} (a {@code /}-separated repo path) is kept. */
    @Override
    public boolean test(String repoPath) {
        String path = repoPath.replace('\\', '/');
        int[] cps = path.codePoints().toArray();
        if (allowGlobs.isPresent() && allowGlobs.get().stream().noneMatch(g -> g.matches(cps))) {
            return false;
        }
        return ignoreGlobs.stream().noneMatch(g -> g.matches(cps));
    }

    /** The patterns as written, for messages: {@code allow_patterns ["*.json"], ignore_patterns []}. */
    public String describe() {
        String allowPart = allow.map(a -> "allow_patterns " + quoteAll(a)).orElse("no allow_patterns");
        return allowPart + ", ignore_patterns " + quoteAll(ignore);
    }

    @Override
    public String toString() {
        return "PathFilter[" + describe() + "]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PathFilter other && allow.equals(other.allow) && ignore.equals(other.ignore);
    }

    @Override
    public int hashCode() {
        return Objects.hash(allow, ignore);
    }

    /**
     * Python's {@code fnmatch.fnmatchcase(path, pattern)}, without the backslash and trailing-slash
     * rewriting that {@link #test} adds. Package-private for the test table.
     */
    static boolean fnmatchcase(String path, String pattern) {
        return Glob.compile(pattern).matches(path.codePoints().toArray());
    }

    private static List<Glob> compileAll(List<String> patterns) {
        List<Glob> globs = new ArrayList<>(patterns.size());
        for (String p : patterns) {
            String pattern = p.replace('\\', '/');
            // huggingface_hub's _add_wildcard_to_directories: "data/" selects everything below data.
            if (pattern.endsWith("/")) {
                pattern = pattern + "*";
            }
            globs.add(Glob.compile(pattern));
        }
        return List.copyOf(globs);
    }

    private static String quoteAll(List<String> patterns) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < patterns.size(); i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append('"').append(patterns.get(i).replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
        }
        return sb.append(']').toString();
    }

    /** One compiled fnmatch pattern: a sequence of single-code-point tokens and stars. */
    private static final class Glob {
        private final Token[] tokens;

        private Glob(Token[] tokens) {
            this.tokens = tokens;
        }

        /** A port of CPython 3.11 {@code fnmatch.translate}, producing tokens instead of a regex. */
        static Glob compile(String pattern) {
            int[] pat = pattern.codePoints().toArray();
            List<Token> res = new ArrayList<>();
            int i = 0;
            int n = pat.length;
            while (i < n) {
                int c = pat[i++];
                if (c == '*') {
                    if (res.isEmpty() || res.getLast() != Star.STAR) {
                        res.add(Star.STAR);
                    }
                } else if (c == '?') {
                    res.add(AnyChar.ANY);
                } else if (c == '[') {
                    int j = i;
                    if (j < n && pat[j] == '!') {
                        j++;
                    }
                    if (j < n && pat[j] == ']') {
                        j++;
                    }
                    while (j < n && pat[j] != ']') {
                        j++;
                    }
                    if (j >= n) {
                        res.add(new Literal('['));
                    } else {
                        res.add(charClass(pat, i, j));
                        i = j + 1;
                    }
                } else {
                    res.add(new Literal(c));
                }
            }
            return new Glob(res.toArray(Token[]::new));
        }

        /**
         * The class between {@code pat[start]} (just after {@code [}) and {@code pat[end]} (the
         * closing {@code ]}). Follows translate(): the text is split into chunks at the hyphens that
         * form ranges (the first character, or the one after {@code !}, is never such a hyphen, nor
         * is the one right after a range), a trailing hyphen is literal, and ranges whose ends are out
         * of order are removed together with their ends.
         */
        private static Token charClass(int[] pat, int start, int end) {
            boolean hasHyphen = false;
            for (int k = start; k < end; k++) {
                hasHyphen |= pat[k] == '-';
            }
            List<int[]> chunks = new ArrayList<>();
            if (!hasHyphen) {
                chunks.add(Arrays.copyOfRange(pat, start, end));
            } else {
                int i = start;
                int k = pat[start] == '!' ? start + 2 : start + 1;
                while (true) {
                    k = indexOf(pat, '-', k, end);
                    if (k < 0) {
                        break;
                    }
                    chunks.add(Arrays.copyOfRange(pat, i, k));
                    i = k + 1;
                    k = k + 3;
                }
                int[] chunk = Arrays.copyOfRange(pat, i, end);
                if (chunk.length > 0) {
                    chunks.add(chunk);
                } else {
                    int[] last = chunks.getLast();
                    int[] extended = Arrays.copyOf(last, last.length + 1);
                    extended[last.length] = '-';
                    chunks.set(chunks.size() - 1, extended);
                }
                for (int c = chunks.size() - 1; c > 0; c--) {
                    int[] prev = chunks.get(c - 1);
                    int[] next = chunks.get(c);
                    if (prev[prev.length - 1] > next[0]) {
                        int[] merged = new int[prev.length - 1 + next.length - 1];
                        System.arraycopy(prev, 0, merged, 0, prev.length - 1);
                        System.arraycopy(next, 1, merged, prev.length - 1, next.length - 1);
                        chunks.set(c - 1, merged);
                        chunks.remove(c);
                    }
                }
            }
            int total = chunks.stream().mapToInt(a -> a.length).sum();
            if (total == 0) {
                return Never.NEVER; // translate(): "Empty range: never match."
            }
            boolean negated = chunks.getFirst().length > 0 && chunks.getFirst()[0] == '!';
            // Each boundary between two chunks is a range from the last code point of one to the
            // first of the next; every other code point is a literal member.
            List<int[]> ranges = new ArrayList<>();
            for (int c = 0; c < chunks.size(); c++) {
                int[] chunk = chunks.get(c);
                int from = c > 0 ? 1 : (negated ? 1 : 0);
                for (int q = from; q < chunk.length; q++) {
                    if (q == chunk.length - 1 && c + 1 < chunks.size()) {
                        ranges.add(new int[] {chunk[q], chunks.get(c + 1)[0]});
                    } else {
                        ranges.add(new int[] {chunk[q], chunk[q]});
                    }
                }
            }
            if (ranges.isEmpty()) {
                // "[!" with nothing left: translate() makes it ".", any one character.
                return AnyChar.ANY;
            }
            int[] lo = new int[ranges.size()];
            int[] hi = new int[ranges.size()];
            for (int r = 0; r < ranges.size(); r++) {
                lo[r] = ranges.get(r)[0];
                hi[r] = ranges.get(r)[1];
            }
            return new CharClass(negated, lo, hi);
        }

        private static int indexOf(int[] pat, int cp, int from, int end) {
            for (int k = from; k < end; k++) {
                if (pat[k] == cp) {
                    return k;
                }
            }
            return -1;
        }

        /**
         * Whole-string match. Every token but a star consumes exactly one code point, so the classic
         * greedy scan that backtracks only to the most recent star is exact (and O(path x pattern)).
         */
        boolean matches(int[] s) {
            int p = 0;
            int i = 0;
            int starP = -1;
            int starI = -1;
            while (i < s.length) {
                if (p < tokens.length && tokens[p] != Star.STAR && tokens[p].matches(s[i])) {
                    p++;
                    i++;
                } else if (p < tokens.length && tokens[p] == Star.STAR) {
                    starP = p++;
                    starI = i;
                } else if (starP >= 0) {
                    p = starP + 1;
                    i = ++starI;
                } else {
                    return false;
                }
            }
            while (p < tokens.length && tokens[p] == Star.STAR) {
                p++;
            }
            return p == tokens.length;
        }
    }

    private sealed interface Token permits Star, AnyChar, Never, Literal, CharClass {
        boolean matches(int cp);
    }

    private enum Star implements Token {
        STAR;

        @Override
        public boolean matches(int cp) {
            throw new UnsupportedOperationException("a star is handled by the matcher");
        }
    }

    private enum AnyChar implements Token {
        ANY;

        @Override
        public boolean matches(int cp) {
            return true;
        }
    }

    private enum Never implements Token {
        NEVER;

        @Override
        public boolean matches(int cp) {
            return false;
        }
    }

    private record Literal(int cp) implements Token {
        @Override
        public boolean matches(int other) {
            return other == cp;
        }
    }

    private record CharClass(boolean negated, int[] lo, int[] hi) implements Token {
        @Override
        public boolean matches(int cp) {
            for (int r = 0; r < lo.length; r++) {
                if (cp >= lo[r] && cp <= hi[r]) {
                    return !negated;
                }
            }
            return negated;
        }
    }
}
