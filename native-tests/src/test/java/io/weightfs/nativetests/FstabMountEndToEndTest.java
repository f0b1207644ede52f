package io.weightfs.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * fstab's way in: a real {@code mount -t fuse.weightfs CONFIG MOUNTPOINT -o ...}, which mount(8)
 * hands to {@code /sbin/mount.fuse.weightfs} (the only place it looks), and a real {@code umount}.
 * The helper is this checkout's packaging/bin/mount.fuse.weightfs, linked into /sbin for the test
 * (and unlinked after) unless an installed one is there.
 */
@io.weightfs.testing.RequiresFuse
class FstabMountEndToEndTest {
    private static final Path HELPER = Path.of("/sbin/mount.fuse.weightfs");
    private static final Duration WAIT = Duration.ofSeconds(120);
    private static final Pattern PID = Pattern.compile("\\(pid (\\d+),");
    private static boolean linkedByUs;

    @TempDir
    Path tmp;

    static Path checkout() {
        return WeightfsProcess.jar().toAbsolutePath().getParent().getParent().getParent();
    }

    @BeforeAll
    static void installHelper() throws IOException {
        Path ours = checkout().resolve("packaging/bin/mount.fuse.weightfs");
        try {
            Files.createSymbolicLink(HELPER, ours);
            linkedByUs = true;
        } catch (FileAlreadyExistsException e) {
            // An installed helper (the Debian package) or a concurrent run's link: either runs the same way.
        }
    }

    @AfterAll
    static void removeHelper() throws IOException {
        if (linkedByUs) {
            Files.deleteIfExists(HELPER);
        }
    }

    /** What mount(8) passes on: the helper finds the launcher beside it, the launcher this build's jar and JDK. */
    private static Map<String, String> env() {
        Path java = Path.of(WeightfsProcess.java());
        return Map.of("WEIGHTFS_JAR", WeightfsProcess.jar().toString(), "JAVA_HOME", java.getParent().getParent().toString(),
                "HF_HOME", System.getProperty("java.io.tmpdir") + "/weightfs-test-no-hf-home", "WEIGHTFS_RETRY_BASE_MS", "20");
    }

    private static WeightfsProcess.Result run(String... cmd) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(env());
        pb.environment().remove("HF_TOKEN");
        Process p = pb.start();
        // Only the helper's own words come back: the detached daemon logs to the store, not to this pipe.
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        if (!p.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", cmd) + " did not finish within " + WAIT);
        }
        return new WeightfsProcess.Result(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    private Path config() throws IOException {
        Path c = tmp.resolve("etc/small.yaml");
        TestRepos.writeConfig(c, "model_cache:\n  - repo_id: acme/small\n    volume_folder: small\n");
        return c;
    }

    @Test
    void mountTypeFuseWeightfs_withFstabOptions_mountsEveryFileWithItsBytes_andUmountStopsTheDaemon() throws Exception {
        Path repos = tmp.resolve("repos");
        Path repo = TestRepos.sampleRepo(repos, "acme/small", false);
        Path mnt = Files.createDirectories(tmp.resolve("mnt"));
        try (ServeProcess serve = ServeProcess.start(repos)) {
            try {
                WeightfsProcess.Result m = run("mount", "-t", "fuse.weightfs", config().toString(), mnt.toString(), "-o",
                        "store=" + tmp.resolve("store") + ",endpoint=" + serve.endpoint()
                                + ",allow_other,_netdev,nofail,noatime,read_timeout=30s,x-systemd.requires=network-online.target");
                assertEquals(0, m.exit(), m.all());
                assertTrue(MountProcess.isMounted(mnt), m.all());
                Matcher pid = PID.matcher(m.all());
                assertTrue(pid.find(), "the helper says which daemon serves the mount: " + m.all());
                ProcessHandle daemon = ProcessHandle.of(Long.parseLong(pid.group(1))).orElseThrow();

                for (String f : TestRepos.files(repo)) {
                    assertEquals(sha256(repo.resolve(f)), sha256(mnt.resolve("small").resolve(f)), f);
                }
                assertEquals(TestRepos.files(repo), TestRepos.files(mnt.resolve("small")));
                assertFalse(tryWrite(mnt.resolve("small/new.txt")),
                        "the mount is read-only, whatever 'rw' mount(8) added");

                WeightfsProcess.Result u = run("umount", mnt.toString());
                assertEquals(0, u.exit(), u.all());
                assertFalse(MountProcess.isMounted(mnt));
                assertTrue(daemon.onExit().get(WAIT.toSeconds(), TimeUnit.SECONDS) != null && !daemon.isAlive(),
                        "the daemon exits once its mount is gone");
            } finally {
                SystemdNotifyEndToEndTest.unmountIfNeeded(mnt);
            }
        }
    }

    @Test
    void mountTypeFuseWeightfs_withAnUnknownOption_failsWithUsageStatusAndMountsNothing() throws Exception {
        Path mnt = Files.createDirectories(tmp.resolve("mnt"));
        WeightfsProcess.Result m = run("mount", "-t", "fuse.weightfs", config().toString(), mnt.toString(), "-o",
                "store=" + tmp.resolve("store") + ",no_such_option=1");
        assertEquals(1, m.exit(), m.all());
        assertTrue(m.all().contains("unknown option 'no_such_option=1'"), m.all());
        assertFalse(MountProcess.isMounted(mnt));
    }

    @Test
    void mountTypeFuseWeightfs_withABadConfig_failsAndSaysWhy() throws Exception {
        Path mnt = Files.createDirectories(tmp.resolve("mnt"));
        Path bad = tmp.resolve("bad.yaml");
        Files.writeString(bad, "model_cache:\n  - repo_id: acme/small\n");
        WeightfsProcess.Result m = run("mount", "-t", "fuse.weightfs", bad.toString(), mnt.toString(), "-o", "store=" + tmp.resolve("store"));
        assertEquals(1, m.exit(), m.all());
        assertTrue(m.all().contains("volume_folder is required"), m.all());
        assertFalse(MountProcess.isMounted(mnt));
    }

    private static boolean tryWrite(Path p) {
        try {
            Files.writeString(p, "x");
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static String sha256(Path file) throws Exception {
        MessageDigest d = MessageDigest.getInstance("SHA-256");
        try (var in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 20];
            int n;
            while ((n = in.read(buf)) > 0) {
                d.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(d.digest());
    }
}
