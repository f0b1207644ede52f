package io.weightfs.config;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The one place that removes secrets from text: every token this process knows is replaced by
 * {@link #MASK} in any text that came from elsewhere (a server's {@code X-Error-Message}, an error
 * body, a {@code Location}, a listing's paths) before it is logged, shown or written to a status
 * file. A token registers itself when it is made ({@link Token}'s constructor), and
 * {@code weightfs serve} registers the tokens it grants, so nothing has to remember to.
 *
 * <p>The log path uses {@link #redacting(PrintStream)}: the CLI wraps {@code System.out} and
 * {@code System.err} with it before anything is logged, so a message that escaped redaction at its
 * source (an exception text quoting a URL the server sent) is still cleaned on its way out.
 *
 * <p>Process-wide by nature (a secret known anywhere in the process is hidden everywhere). Thread-safe:
 * the set of secrets is concurrent, and redaction reads a snapshot of it.
 */
public final class Redactor {
    /** What a token is replaced with. */
    public static final String MASK = "[redacted token]";

    /**
     * Shorter values are not treated as secrets: hiding every {@code "ab"} in a message would garble
     * it and protect nothing (a real Hub token is 37 characters).
     */
    static final int MIN_SECRET_LENGTH = 6;

    /** The secrets, and the forms they take in a URL, longest first when redacting. */
    private static final Set<String> SECRETS = ConcurrentHashMap.newKeySet();
    private static volatile List<String> longestFirst = List.of();

    private Redactor() {}

    /** Adds a secret to hide from now on (and its URL-encoded form, where that differs). */
    public static void register(String secret) {
        if (secret == null || secret.length() < MIN_SECRET_LENGTH) {
            return;
        }
        boolean added = SECRETS.add(secret);
        String encoded = URLEncoder.encode(secret, StandardCharsets.UTF_8);
        added |= !encoded.equals(secret) && SECRETS.add(encoded);
        if (added) {
            synchronized (Redactor.class) {
                longestFirst = SECRETS.stream().sorted(Comparator.comparingInt(String::length).reversed()).toList();
            }
        }
    }

    /** {@code text} with every known secret replaced by {@link #MASK}; null stays null. */
    public static String redact(String text) {
        if (text == null || text.isEmpty()) {
            return text;
        }
        String out = text;
        for (String s : longestFirst) {
            if (out.contains(s)) {
                out = out.replace(s, MASK);
            }
        }
        return out;
    }

    /**
     * A stream that writes what {@code out} would, redacted. Bytes are held until a line ends
     * ({@code \n} or {@code \r}, which progress bars use), {@link OutputStream#flush()} is called or
     * {@link #LINE_LIMIT} bytes are waiting, then redacted as UTF-8 text: a token is only ever
     * split across two writes by a line longer than that limit.
     */
    public static PrintStream redacting(PrintStream out) {
        // Not auto-flushing: an auto-flushing PrintStream flushes after every write, which would
        // emit each print() on its own and so split a token printed in two pieces. Lines still go
        // out as they end, and callers that flush (progress bars, slf4j) still flush.
        return new PrintStream(new LineRedactor(out), false, StandardCharsets.UTF_8);
    }

    /** Longest piece of a line held back before it is written anyway. */
    static final int LINE_LIMIT = 64 * 1024;

    /** Line-buffered redaction in front of another stream. Synchronized: several threads log. */
    private static final class LineRedactor extends OutputStream {
        private final PrintStream out;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream(256);

        LineRedactor(PrintStream out) {
            this.out = out;
        }

        @Override
        public synchronized void write(int b) {
            line.write(b);
            if (b == '\n' || b == '\r' || line.size() >= LINE_LIMIT) {
                emit();
            }
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            for (int i = off; i < off + len; i++) {
                write(b[i]);
            }
        }

        @Override
        public synchronized void flush() {
            emit();
            out.flush();
        }

        @Override
        public synchronized void close() throws IOException {
            flush();
        }

        private void emit() {
            if (line.size() == 0) {
                return;
            }
            String text = line.toString(StandardCharsets.UTF_8);
            String clean = redact(text);
            // Unchanged text goes out as the very bytes that came in (no re-encoding).
            byte[] bytes = clean.equals(text) ? line.toByteArray() : clean.getBytes(StandardCharsets.UTF_8);
            line.reset();
            out.write(bytes, 0, bytes.length);
        }
    }
}
