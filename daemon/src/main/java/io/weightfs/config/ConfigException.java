package io.weightfs.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * A config that cannot be used, with every problem found in it (not just the first), one per line.
 * Each problem already names the file and, where there is one, the entry. Thrown before anything is
 * mounted or downloaded.
 */
public final class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;

    /** The last line of every message: what to do, and that nothing has happened yet. */
    public static final String HINT = "Fix the config and run again; nothing was mounted or downloaded.";

    private final transient Path file;
    private final List<String> problems;

    /**
     * @param file the config file the problems are in
     * @param problems one line each, at least one
     */
    public ConfigException(Path file, List<String> problems) {
        super(message(problems));
        this.file = Objects.requireNonNull(file, "file");
        this.problems = List.copyOf(problems);
    }

    private static String message(List<String> problems) {
        if (problems.isEmpty()) {
            throw new IllegalArgumentException("a ConfigException needs at least one problem");
        }
        return String.join("\n", problems) + "\n" + HINT;
    }

    /** The config file the problems are in. */
    public Path file() {
        return file;
    }

    /** The problems, one line each, in the order found. */
    public List<String> problems() {
        return problems;
    }
}
