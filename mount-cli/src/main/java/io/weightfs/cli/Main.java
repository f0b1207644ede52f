package io.weightfs.cli;

import io.weightfs.config.Redactor;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code weightfs} command. Each subcommand parses its options and hands off to the daemon
 * library; no logic of its own lives here.
 *
 * <p>Exit statuses: 0 success, 1 the job failed (a file did not verify, the Hub refused), 2 bad
 * usage or a bad config.
 */
@Command(
        name = "weightfs",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Model weights as a lazy, verified filesystem.",
        subcommands = {
            MountCommand.class,
            UmountCommand.class,
            WaitCommand.class,
            StatusCommand.class,
            GcCommand.class,
            FetchCommand.class,
            BakeCommand.class,
            ServeCommand.class,
            DemoCommand.class,
            CommandLine.HelpCommand.class
        })
public final class Main implements Runnable {
    /** Exit status for a job that ran and failed. */
    public static final int EXIT_FAILED = 1;
    /** Exit status for bad usage or a bad config (picocli's own usage status too). */
    public static final int EXIT_USAGE = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    static {
        // The log path: everything this process prints or logs (slf4j-simple writes to System.err)
        // goes through the Redactor, so no token reaches a terminal or a log file, whatever text
        // a server sent back.
        System.setOut(Redactor.redacting(System.out));
        System.setErr(Redactor.redacting(System.err));
        // A last line without a newline (a progress bar) is still held by the redactor at exit.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.flush();
            System.err.flush();
        }, "weightfs-flush-output"));
        // slf4j-simple reads these once, at its first use: set them before anything logs.
        String level = System.getenv("WEIGHTFS_LOG");
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", level == null || level.isBlank() ? "info" : level);
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
        System.setProperty("org.slf4j.simpleLogger.dateTimeFormat", "HH:mm:ss.SSS");
        System.setProperty("org.slf4j.simpleLogger.showShortLogName", "true");
        System.setProperty("org.slf4j.simpleLogger.levelInBrackets", "true");
        // OkHttp's own logger is java.util.logging; it has nothing a user needs at INFO.
        java.util.logging.Logger.getLogger("okhttp3").setLevel(java.util.logging.Level.WARNING);
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit status; for tests and the demo. */
    public static int run(String... args) {
        return new CommandLine(new Main())
                .setCaseInsensitiveEnumValuesAllowed(true)
                .execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }
}
