package io.weightfs.serve;

import java.util.regex.Pattern;

/**
 * The simple globs of {@link Fault}: {@code *} is any run of characters, {@code /} included;
 * {@code ?} is one character; everything else is literal.
 */
final class Glob {
    private final String text;
    private final Pattern pattern;

    private Glob(String text) {
        this.text = text;
        StringBuilder regex = new StringBuilder();
        StringBuilder literal = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '*' || c == '?') {
                if (!literal.isEmpty()) {
                    regex.append(Pattern.quote(literal.toString()));
                    literal.setLength(0);
                }
                regex.append(c == '*' ? ".*" : ".");
            } else {
                literal.append(c);
            }
        }
        if (!literal.isEmpty()) {
            regex.append(Pattern.quote(literal.toString()));
        }
        this.pattern = Pattern.compile(regex.toString(), Pattern.DOTALL);
    }

    static Glob of(String text) {
        validate(text);
        return new Glob(text);
    }

    static void validate(String text) {
        if (text == null || text.isEmpty()) {
            throw new IllegalArgumentException("empty glob (use * to match every file)");
        }
    }

    /** True if the glob matches the file's repo path or its {@code org/name/path}. */
    boolean matches(ServedFile file) {
        return pattern.matcher(file.path()).matches() || pattern.matcher(file.repo() + "/" + file.path()).matches();
    }

    @Override
    public String toString() {
        return text;
    }
}
