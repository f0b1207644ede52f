package io.weightfs.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Whether FUSE is usable for tests here (see {@link RequiresFuse}). A test that mounts is skipped,
 * with the missing prerequisite printed, only where something that {@code ./test.sh} cannot
 * install is absent: the {@code /dev/fuse} device, or the right to
 * mount (root). What {@code ./test.sh} does install (libfuse3, libfuse2, fusermount3) is not a
 * reason to skip: its absence fails the test, because CI installs it.
 *
 * <p>{@link #assumeBinding} does the same for one binding inside a parameterized test.
 */
public final class FusePrerequisites {
    private FusePrerequisites() {}

    /** Why FUSE cannot be used on this machine at all, or empty if it can. */
    public static Optional<String> missing() {
        List<String> why = new ArrayList<>();
        Path dev = Path.of("/dev/fuse");
        if (!Files.exists(dev)) {
            why.add("/dev/fuse does not exist (a container needs --device /dev/fuse, a VM the fuse module)");
        } else if (!Files.isReadable(dev) || !Files.isWritable(dev)) {
            why.add("/dev/fuse is not readable and writable by this user");
        }
        if (!isRoot()) {
            why.add("the tests mount and unmount as root (run ./test.sh as root)");
        }
        return why.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", why));
    }

    /** Skips the calling test (visibly) if FUSE is unusable here; the binding name is for the message. */
    public static void assumeBinding(String binding) {
        Optional<String> why = missing();
        why.ifPresent(w -> System.err.println("SKIPPED (" + binding + "): " + w));
        Assumptions.assumeTrue(why.isEmpty(), () -> "FUSE is not usable here: " + why.orElse(""));
    }

    private static boolean isRoot() {
        try {
            Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
            return uid instanceof Integer i && i == 0;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return false;
        }
    }

    /** The JUnit side: disables the class with the reason, and says so on stderr where CI logs show it. */
    public static final class Condition implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            Optional<String> why = missing();
            if (why.isEmpty()) {
                return ConditionEvaluationResult.enabled("FUSE is usable");
            }
            System.err.println("SKIPPED " + context.getDisplayName() + ": FUSE is not usable here: " + why.get());
            return ConditionEvaluationResult.disabled("FUSE is not usable here: " + why.get());
        }
    }
}
