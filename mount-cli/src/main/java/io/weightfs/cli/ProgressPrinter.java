package io.weightfs.cli;

import io.weightfs.fetch.FetchProgress;
import java.io.PrintStream;
import java.util.Locale;

/**
 * Draws a fetch's progress: a bar redrawn in place on a terminal, a plain line every few seconds
 * otherwise (logs, CI). Owns one daemon thread from {@link #start()} to {@link #close()}.
 */
final class ProgressPrinter implements AutoCloseable {
    /** Redraw often enough to look live, rarely enough to cost nothing. */
    private static final long BAR_INTERVAL_MS = 200;
    /** Plain lines go to logs: one every few seconds is plenty. */
    private static final long LINE_INTERVAL_MS = 5_000;
    private static final int BAR_WIDTH = 30;

    private final FetchProgress progress;
    private final PrintStream out;
    private final boolean terminal;
    private final long startNanos = System.nanoTime();
    private Thread thread;

    ProgressPrinter(FetchProgress progress, PrintStream out, boolean terminal) {
        this.progress = progress;
        this.out = out;
        this.terminal = terminal;
    }

    /** Whether standard error is an interactive terminal (Java 22+: Console#isTerminal). */
    static boolean stderrIsTerminal() {
        java.io.Console c = System.console();
        return c != null && c.isTerminal();
    }

    ProgressPrinter start() {
        thread = Thread.ofPlatform().daemon(true).name("weightfs-progress").start(() -> {
            long interval = terminal ? BAR_INTERVAL_MS : LINE_INTERVAL_MS;
            try {
                while (true) {
                    Thread.sleep(interval);
                    draw(false);
                }
            } catch (InterruptedException e) {
                // closing
            }
        });
        return this;
    }

    private synchronized void draw(boolean last) {
        FetchProgress.Snapshot s = progress.snapshot();
        long elapsed = System.nanoTime() - startNanos;
        double frac = s.bytesTotal() == 0 ? 1.0 : Math.min(1.0, (double) s.bytesDone() / s.bytesTotal());
        String text = String.format(Locale.ROOT, "%3.0f%% %s / %s, %s, %d/%d files%s",
                frac * 100, Sizes.format(s.bytesDone()), Sizes.format(s.bytesTotal()),
                Sizes.rate(s.bytesDownloaded(), elapsed), s.filesDone(), s.filesTotal(),
                s.filesFailed() > 0 ? ", " + s.filesFailed() + " failed" : "");
        if (terminal) {
            int filled = (int) Math.round(frac * BAR_WIDTH);
            out.print("\r[" + "#".repeat(filled) + ".".repeat(BAR_WIDTH - filled) + "] " + text + "\u001b[K" + (last ? "\n" : ""));
        } else {
            out.println("progress: " + text);
        }
        out.flush();
    }

    @Override
    public void close() {
        if (thread != null) {
            thread.interrupt();
            try {
                thread.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (terminal) {
                draw(true);
            }
        }
    }
}
