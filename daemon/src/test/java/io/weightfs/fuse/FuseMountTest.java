package io.weightfs.fuse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.weightfs.testing.PatternContent;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileStore;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Real mounts of {@link InMemoryFs} through both bindings, checked with plain java.nio and child
 * processes. Every test unmounts in {@code finally} (try-with-resources); {@link #noMountLeftBehind}
 * fails a test that left one and clears it, so one broken test cannot break the next. Waits are
 * bounded; nothing sleeps to synchronise.
 */
@io.weightfs.testing.RequiresFuse
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FuseMountTest {
    private static final long MIB = 1 << 20;
    private static final long KIB = 1 << 10;
    /** Not a multiple of anything: the last request is partial, and pages straddle boundaries. */
    private static final PatternContent WEIGHTS = new PatternContent(42, 3 * MIB + 4321);
    private static final PatternContent NESTED = new PatternContent(7, 200_000);
    private static final String CONTROL_FILLER = "x".repeat(99) + "\n";
    /** Bigger than one 128 KiB request, so a control file read takes several. */
    private static final int CONTROL_LINES = 3000;
    private static final Duration CHILD_TIMEOUT = Duration.ofSeconds(60);
    @SuppressWarnings("StringOperationCanBeSimplified") // a distinct instance, compared by identity
    private static final String END_OF_OUTPUT = new String("<end of output>");

    @TempDir
    Path tmp;

    private final List<Path> mountpoints = new ArrayList<>();
    private final AtomicInteger generation = new AtomicInteger();

    private InMemoryFs sampleFs() {
        return new InMemoryFs()
                .file("/weights.bin", WEIGHTS)
                .file("/config.json", "{\"a\":1}\n".getBytes(StandardCharsets.UTF_8))
                .file("/dir/sub/nested.bin", NESTED)
                .controlFile("/.weightfs/status", this::controlContent)
                .failingFile("/broken.bin", 10_000)
                .blockingFile("/slow.bin", 10_000)
                .xattr("/weights.bin", "user.weightfs.sha256", "abc123");
    }

    private byte[] controlContent() {
        StringBuilder s = new StringBuilder("generation " + generation.incrementAndGet() + "\n");
        s.append(CONTROL_FILLER.repeat(CONTROL_LINES));
        return s.toString().getBytes(StandardCharsets.UTF_8);
    }

    private Path newMountpoint() throws IOException {
        Path mp = Files.createDirectory(tmp.resolve("mnt" + mountpoints.size()));
        mountpoints.add(mp);
        return mp;
    }

    private MountedFs mount(FuseBinding binding, InMemoryFs fs) throws IOException {
        return FuseMounter.mount(fs, newMountpoint(), MountOptions.defaults().withBinding(binding));
    }

    @AfterEach
    void noMountLeftBehind() throws IOException {
        List<Path> left = new ArrayList<>();
        for (Path mp : mountpoints) {
            if (MountTable.find(MountTable.canonical(mp)).filter(MountTable.Entry::isFuse).isPresent()) {
                left.add(mp);
                FuseMounter.unmount(mp);
            }
        }
        if (!left.isEmpty()) {
            fail("test left mounts behind (now cleared): " + left);
        }
    }

    @ParameterizedTest
    @EnumSource(FuseBinding.class)
    void listing_showsEveryFileWithItsRealSizeModeTimeAndInode(FuseBinding binding) throws IOException {
        InMemoryFs fs = sampleFs();
        try (MountedFs m = mount(binding, fs)) {
            Path mp = m.mountpoint();
            try (Stream<Path> names = Files.list(mp)) {
                assertEquals(List.of(".weightfs", "broken.bin", "config.json", "dir", "slow.bin", "weights.bin"),
                        names.map(p -> p.getFileName().toString()).sorted().toList());
            }
            assertEquals(WEIGHTS.size(), Files.size(mp.resolve("weights.bin")));
            assertEquals(NESTED.size(), Files.size(mp.resolve("dir/sub/nested.bin")));
            assertTrue(Files.isDirectory(mp.resolve("dir/sub")));
            assertTrue(Files.isRegularFile(mp.resolve("config.json")));

            Path weights = mp.resolve("weights.bin");
            assertEquals(FileTime.fromMillis(InMemoryFs.MTIME_MILLIS), Files.getLastModifiedTime(weights));
            assertEquals(InMemoryFs.FILE_MODE, (Integer) Files.getAttribute(weights, "unix:mode") & 07777);
            assertEquals(InMemoryFs.DIR_MODE, (Integer) Files.getAttribute(mp.resolve("dir"), "unix:mode") & 07777);
            assertEquals(fs.inodeOf("/weights.bin"), (Long) Files.getAttribute(weights, "unix:ino"));
            assertEquals(ProcessOwner.current().uid(), (Integer) Files.getAttribute(weights, "unix:uid"));
            // ls -i takes inode numbers from the listing itself (d_ino), not from a stat
            String ls = run("ls", "-i1", mp.resolve("dir/sub").toString());
            assertEquals(fs.inodeOf("/dir/sub/nested.bin") + " nested.bin", ls.strip());

            FileStore store = Files.getFileStore(mp);
            assertTrue(store.isReadOnly(), "mounted read-only");
            assertEquals(fs.statfs().totalBlocks() * InMemoryFs.BLOCK_SIZE, store.getTotalSpace());
        }
    }

    @ParameterizedTest
    @EnumSource(FuseBinding.class)
    void reads_atRandomOffsets_returnTheFilesBytes_acrossRequestBoundariesAndTheLastPartialChunk(FuseBinding binding)
            throws IOException {
        try (MountedFs m = mount(binding, sampleFs());
                FileChannel ch = FileChannel.open(m.mountpoint().resolve("weights.bin"))) {
            long size = WEIGHTS.size();
            List<long[]> ranges = new ArrayList<>(List.of(
                    new long[] {0, 1},
                    new long[] {4095, 2},
                    new long[] {128 * KIB - 10, 20},
                    new long[] {MIB - 5, 10},
                    new long[] {2 * MIB - 1, MIB + 3},
                    new long[] {size - 100, 4096}, // the last partial chunk: 100 bytes, then EOF
                    new long[] {size - 1, 1}));
            Random random = new Random(1234);
            for (int i = 0; i < 64; i++) {
                ranges.add(new long[] {random.nextLong(size), 1 + random.nextInt(300 * (int) KIB)});
            }
            for (long[] r : ranges) {
                long offset = r[0];
                int expected = (int) Math.min(r[1], size - offset);
                byte[] got = readAt(ch, offset, (int) r[1]);
                assertEquals(expected, got.length, "bytes at " + offset);
                assertArrayEquals(WEIGHTS.bytes(offset, expected), got, "bytes at " + offset);
            }
            assertEquals(-1, ch.read(ByteBuffer.allocate(10), size), "EOF at the size");
        }
    }

    @ParameterizedTest
    @EnumSource(FuseBinding.class)
    void sequentialRead_ofWholeFiles_matchesTheirContent(FuseBinding binding) throws IOException {
        try (MountedFs m = mount(binding, sampleFs())) {
            assertEquals(-1, WEIGHTS.firstDifference(m.mountpoint().resolve("weights.bin")));
            assertEquals(-1, NESTED.firstDifference(m.mountpoint().resolve("dir/sub/nested.bin")));
            assertEquals("{\"a\":1}\n", Files.readString(m.mountpoint().resolve("config.json")));
        }
    }

    @ParameterizedTest
    @EnumSource(FuseBinding.class)
    void mmap_ofAFile_seesTheSameBytesAsTheContent(FuseBinding binding) throws IOException {
        try (MountedFs m = mount(binding, sampleFs());
                FileChannel ch = FileChannel.open(m.mountpoint().resolve("weights.bin"))) {
            MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, WEIGHTS.size());
            for (long i = 0; i < WEIGHTS.size(); i++) {
                if (map.get((int) i) != WEIGHTS.at(i)) {
                    fail("mapped byte " + i + " differs");
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(FuseBinding.class)
    void controlFile_withDirectIo_readsFullyThoughStatSaysZero_andShowsNewContentOnEachRead(FuseBinding binding)
            throws Exception {
        try (MountedFs m = mount(binding, sampleFs())) {
            Path status = m.mountpoint().resolve(".weightfs/status");
            assertEquals(0, Files.size(status));
            String first = cat(status);
            String second = cat(status);
            assertTrue(first.startsWith("generation 1\n"), first.substring(0, 20));
            assertTrue(second.startsWith("generation 2\n"), second.substring(0, 20));
            int expectedLength = ("generation 1\n" + CONTROL_FILLER.repeat(CONTROL_LINES)).length();
            assertEquals(expectedLength, first.length(), "the whole content, not the 0 bytes stat promised");
            assertEquals(expectedLength, second.length());
            assertEquals(expectedLength, Files.readAllBytes(status).length, "java.nio reads it fully too");
        }
    }

    @ParameterizedTest
    @EnumSource(FuseBinding.class)
    void readFailureInTheFilesystem_surfacesAsAnIOException(FuseBinding binding) throws IOException {
        InMemoryFs fs = sampleFs();
        try (MountedFs m = mount(binding, fs)) {
            IOException e = assertThrows(IOException.class, () -> Files.readAllBytes(m.mountpoint().resolve("broken.bin")));
            assertTrue(String.valueOf(e.getMessage()).contains("Input/output error"), e.toString());
            assertEquals(0, m.unexpectedFailures(), "an FsException is expected, not a bug");
            assertEquals(-1, WEIGHTS.firstDifference(m.mountpoint().resolve("weights.bin")), "the mount still serves");
        }
    }

    @ParameterizedTest
    @EnumSource(FuseBinding.class)
    void writes_areRefusedAsReadOnly(FuseBinding binding) throws IOException {
        try (MountedFs m = mount(binding, sampleFs())) {
            Path mp = m.mountpoint();
            List<ThrowingAction> writes = List.of(
                    () -> Files.writeString(mp.resolve("config.json"), "changed"),
                    () -> Files.writeString(mp.resolve("new.txt"), "new"),
                    () -> Files.newByteChannel(mp.resolve("weights.bin"), StandardOpenOption.WRITE).close(),
                    () -> Files.delete(mp.resolve("config.json")),
                    () -> Files.createDirectory(mp.resolve("newdir")),
                    () -> Files.move(mp.resolve("config.json"), mp.resolve("moved.json")),
                    () -> Files.setLastModifiedTime(mp.resolve("config.json"), FileTime.fromMillis(0)));
            for (ThrowingAction write : writes) {
                FileSystemException e = assertThrows(FileSystemException.class, write::run);
                assertTrue(String.valueOf(e.getReason()).contains("Read-only file system"), e.toString());
            }
            assertEquals("{\"a\":1}\n", Files.readString(mp.resolve("config.json")));
        }
    }

    @ParameterizedTest
    @EnumSource(FuseBinding.class)
    void unknownNames_areNotFound_andExtendedAttributesAreReadThrough(FuseBinding binding) throws IOException {
        try (MountedFs m = mount(binding, sampleFs())) {
            Path mp = m.mountpoint();
            assertFalse(Files.exists(mp.resolve("nope")));
            assertThrows(NoSuchFileException.class, () -> Files.size(mp.resolve("dir/nope.bin")));

            UserDefinedFileAttributeView xattrs =
                    Files.getFileAttributeView(mp.resolve("weights.bin"), UserDefinedFileAttributeView.class);
            ByteBuffer value = ByteBuffer.allocate(64);
            assertEquals(6, xattrs.size("weightfs.sha256"));
            xattrs.read("weightfs.sha256", value);
            assertEquals("abc123", new String(value.array(), 0, value.position(), StandardCharsets.UTF_8));
            assertThrows(FileSystemException.class, () -> xattrs.size("weightfs.other"));
        }
    }

    @ParameterizedTest
    @EnumSource(FuseBinding.class)
    void everyOpen_isReleased_onceTheReaderClosesTheFile(FuseBinding binding) throws Exception {
        InMemoryFs fs = sampleFs();
        try (MountedFs m = mount(binding, fs)) {
            for (int i = 0; i < 5; i++) {
                try (InputStream in = Files.newInputStream(m.mountpoint().resolve("config.json"))) {
                    in.readAllBytes();
                }
            }
            // The kernel sends RELEASE after close(2) has returned, asynchronously.
            assertTrue(poll(Duration.ofSeconds(10), () -> fs.openHandles() == 0), "open handles: " + fs.openHandles());
        }
    }

    @ParameterizedTest
    @EnumSource(FuseBinding.class)
    void close_whileAReaderIsBlockedInsideRead_failsTheReaderAndReturnsWithinItsBound(FuseBinding binding)
            throws Exception {
        assumeTrue(ProcessOwner.current().isRoot(), "aborting a busy mount's connection needs root");
        InMemoryFs fs = sampleFs();
        Duration closeTimeout = Duration.ofSeconds(2);
        MountedFs m = FuseMounter.mount(fs, newMountpoint(),
                MountOptions.defaults().withBinding(binding).withCloseTimeout(closeTimeout));
        try {
            Path slow = m.mountpoint().resolve("slow.bin");
            CompletableFuture<Throwable> reader = new CompletableFuture<>();
            Thread.ofPlatform().name("blocked-reader").daemon().start(() -> {
                try {
                    Files.readAllBytes(slow);
                    reader.complete(null);
                } catch (Throwable t) {
                    reader.complete(t);
                }
            });
            assertTrue(fs.awaitBlockedRead(30), "the read reached FsOps");

            long start = System.nanoTime();
            m.close(); // the read stays blocked inside FsOps all along
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertTrue(took.compareTo(closeTimeout.plus(Duration.ofSeconds(10))) < 0, "close took " + took);

            Throwable failure = reader.get(10, TimeUnit.SECONDS);
            assertTrue(failure instanceof IOException && failure.getMessage().contains("not connected"),
                    "the reader failed with ENOTCONN: " + failure);
            assertTrue(m.isMounted(), "a callback is still inside FsOps");
        } finally {
            fs.releaseBlockedReads(); // as the filesystem's owner does at shutdown
            m.close();
        }
        assertTrue(m.awaitUnmounted(Duration.ofSeconds(30)), "the loop ended once FsOps let go");
        assertTrue(MountTable.find(m.mountpoint()).isEmpty(), "gone from the mount table");
    }

    @ParameterizedTest
    @EnumSource(FuseBinding.class)
    void unmountFromOutside_endsAwaitUnmounted_andCloseAfterwardsIsHarmless(FuseBinding binding) throws Exception {
        try (MountedFs m = mount(binding, sampleFs())) {
            assertFalse(m.awaitUnmounted(Duration.ofMillis(50)));
            FuseMounter.unmount(m.mountpoint());
            assertTrue(m.awaitUnmounted(Duration.ofSeconds(30)));
            assertFalse(m.isMounted());
            assertTrue(MountTable.find(m.mountpoint()).isEmpty());
        }
    }

    @ParameterizedTest
    @EnumSource(FuseBinding.class)
    void unmount_clearsAStaleMountWhoseDaemonWasKilled(FuseBinding binding) throws Exception {
        Path mp = MountTable.canonical(newMountpoint());
        Path childLog = tmp.resolve("child-" + binding + ".log");
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> !a.startsWith("-agentlib") && !a.startsWith("-javaagent"))
                .forEach(command::add);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), MountChild.class.getName(),
                binding.name(), mp.toString()));
        Process child = new ProcessBuilder(command).redirectError(childLog.toFile()).start();
        try {
            assertTrue(awaitLine(child, MountChild.READY, CHILD_TIMEOUT),
                    "the child mounted; its log: " + Files.readString(childLog));
            assertEquals("hello\n", Files.readString(mp.resolve("hello.txt")));

            child.destroyForcibly(); // SIGKILL: no shutdown hook, no unmount
            assertTrue(child.waitFor(CHILD_TIMEOUT.toSeconds(), TimeUnit.SECONDS));
            // A listing reaches the dead daemon; a stat may still be answered from the attribute cache.
            FileSystemException stale = assertThrows(FileSystemException.class, () -> Files.list(mp).close());
            assertTrue(String.valueOf(stale.getReason()).contains("not connected"), stale.toString());
            IOException refused = assertThrows(IOException.class,
                    () -> FuseMounter.mount(sampleFs(), mp, MountOptions.defaults().withBinding(binding)));
            assertTrue(refused.getMessage().contains("stale") && refused.getMessage().contains("weightfs umount"),
                    refused.getMessage());

            FuseMounter.unmount(mp);

            assertTrue(MountTable.find(mp).isEmpty(), "gone from the mount table");
            try (Stream<Path> children = Files.list(mp)) {
                assertEquals(0, children.count(), "the plain directory is back");
            }
        } finally {
            child.destroyForcibly();
            child.waitFor(CHILD_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        }
    }

    @ParameterizedTest
    @EnumSource(FuseBinding.class)
    void mount_refusesAMissingNonEmptyOrAlreadyMountedDirectory_namingIt(FuseBinding binding) throws IOException {
        MountOptions options = MountOptions.defaults().withBinding(binding);
        Path missing = tmp.resolve("missing");
        IOException e1 = assertThrows(IOException.class, () -> FuseMounter.mount(sampleFs(), missing, options));
        assertTrue(e1.getMessage().contains(missing.toString()) && e1.getMessage().contains("no such directory"),
                e1.getMessage());

        Path full = Files.createDirectory(tmp.resolve("full"));
        Files.writeString(full.resolve("file"), "x");
        IOException e2 = assertThrows(IOException.class, () -> FuseMounter.mount(sampleFs(), full, options));
        assertTrue(e2.getMessage().contains(full.toString()) && e2.getMessage().contains("not empty"), e2.getMessage());

        try (MountedFs m = mount(binding, sampleFs())) {
            IOException e3 = assertThrows(IOException.class,
                    () -> FuseMounter.mount(sampleFs(), m.mountpoint(), options));
            assertTrue(e3.getMessage().contains("already a FUSE mount"), e3.getMessage());
        }
    }

    @Test
    void unmount_refusesWhatIsNotMountedAndWhatIsNotAFuseMount() throws Exception {
        Path plain = Files.createDirectory(tmp.resolve("plain"));
        IOException e1 = assertThrows(IOException.class, () -> FuseMounter.unmount(plain));
        assertTrue(e1.getMessage().contains("nothing is mounted"), e1.getMessage());

        assumeTrue(ProcessOwner.current().isRoot(), "mounting a tmpfs needs root");
        Path tmpfs = Files.createDirectory(tmp.resolve("tmpfs"));
        Unmounter.Attempt mounted = Unmounter.run(List.of("mount", "-t", "tmpfs", "weightfs-test", tmpfs.toString()));
        assumeTrue(mounted.exit() == 0, "mount -t tmpfs: " + mounted);
        try {
            IOException e2 = assertThrows(IOException.class, () -> FuseMounter.unmount(tmpfs));
            assertTrue(e2.getMessage().contains("not a FUSE mount") && e2.getMessage().contains("tmpfs"), e2.getMessage());
            assertTrue(MountTable.find(MountTable.canonical(tmpfs)).isPresent(), "left mounted");
        } finally {
            Unmounter.run(List.of("umount", tmpfs.toString()));
        }
    }

    @Test
    void jfuse_withReadAheadRaised_getsOneMebibyteReadRequests() throws IOException {
        assumeTrue(ProcessOwner.current().isRoot(), "raising read_ahead_kb needs root");
        InMemoryFs fs = sampleFs();
        try (MountedFs m = mount(FuseBinding.JFUSE, fs)) {
            assertEquals(-1, WEIGHTS.firstDifference(m.mountpoint().resolve("weights.bin")));
            assertEquals(MIB, m.largestReadRequest(), "readahead reached the 256-page request cap");
            assertEquals(MIB, fs.largestRead());
        }
    }

    // ---- helpers ----

    @FunctionalInterface
    private interface ThrowingAction {
        void run() throws IOException;
    }

    private static byte[] readAt(FileChannel ch, long offset, int length) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(length);
        while (buf.hasRemaining()) {
            int n = ch.read(buf, offset + buf.position());
            if (n < 0) {
                break;
            }
        }
        byte[] out = new byte[buf.position()];
        buf.flip().get(out);
        return out;
    }

    /** {@code cat}, in a child process: what a shell user or a model server sees. */
    private static String cat(Path file) throws Exception {
        return run("cat", file.toString());
    }

    private static String run(String... command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> {
            try {
                return p.getInputStream().readAllBytes();
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        try {
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), command[0] + " finished");
            String output = new String(out.get(30, TimeUnit.SECONDS), StandardCharsets.UTF_8);
            assertEquals(0, p.exitValue(), command[0] + " exit status; output: " + output);
            return output;
        } catch (InterruptedException | java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + " did not finish", e);
        }
    }

    /** Whether the child prints {@code line} on stdout within {@code timeout}. */
    private static boolean awaitLine(Process p, String line, Duration timeout) throws InterruptedException {
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread.ofPlatform().daemon().start(() -> {
            try (var reader = p.inputReader(StandardCharsets.UTF_8)) {
                for (String l = reader.readLine(); l != null; l = reader.readLine()) {
                    lines.add(l);
                }
            } catch (IOException e) {
                // the child is gone
            }
            lines.add(END_OF_OUTPUT);
        });
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            String got = lines.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (got == null || got == END_OF_OUTPUT) {
                return false;
            }
            if (got.equals(line)) {
                return true;
            }
        }
    }

    /** Polls a condition that nothing signals (the kernel's asynchronous RELEASE), up to a deadline. */
    private static boolean poll(Duration timeout, java.util.function.BooleanSupplier condition)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            Thread.sleep(10);
        }
        return true;
    }
}
