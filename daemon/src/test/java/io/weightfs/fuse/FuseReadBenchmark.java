package io.weightfs.fuse;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sequential read throughput through each binding: {@code dd if=MNT/big.bin of=/dev/null bs=1M} of a
 * 2 GiB file served from memory, first read (every byte through FUSE) and second read (kernel page
 * cache, kept by kernel_cache/keep_cache). Prints MB/s, the largest read request the kernel sent,
 * how many reads were inside {@code FsOps} at once, and the ratio against a plain tmpfs file (the
 * page-cache ceiling). A program, not a test: it never fails because a machine is slow.
 *
 * <p>Run as root (read_ahead_kb is raised only then), from the repository root after {@code mvn
 * -o -pl daemon test-compile} and {@code mvn -o -pl daemon dependency:build-classpath
 * -Dmdep.outputFile=/tmp/daemon.cp -Dmdep.includeScope=test}:
 * <pre>
 * java --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
 *   -Djava.library.path=/usr/lib/x86_64-linux-gnu \
 *   -cp daemon/target/classes:daemon/target/test-classes:$(cat /tmp/daemon.cp) \
 *   io.weightfs.fuse.FuseReadBenchmark [jfuse|jnr ...] [sizeMiB]
 * </pre>
 */
final class FuseReadBenchmark {
    private static final long MIB = 1 << 20;
    private static final long DEFAULT_SIZE_MIB = 2048;
    private static final Pattern DD_RATE = Pattern.compile("(\\d+) bytes .* copied, ([0-9.]+) s");

    private FuseReadBenchmark() {}

    public static void main(String[] args) throws Exception {
        List<FuseBinding> bindings = new ArrayList<>();
        long sizeMib = DEFAULT_SIZE_MIB;
        for (String a : args) {
            if (a.chars().allMatch(Character::isDigit)) {
                sizeMib = Long.parseLong(a);
            } else {
                bindings.add(FuseBinding.fromName(a));
            }
        }
        if (bindings.isEmpty()) {
            bindings = List.of(FuseBinding.values());
        }
        long size = sizeMib * MIB;
        RepeatingContent content = new RepeatingContent(size);

        double baseline = tmpfsBaseline(content);
        System.out.printf("%-28s %8.0f MB/s%n", "plain tmpfs (page cache)", baseline);
        for (FuseBinding binding : bindings) {
            InMemoryFs fs = new InMemoryFs().file("/big.bin", content);
            Path mp = Files.createTempDirectory("weightfs-bench");
            try (MountedFs m = FuseMounter.mount(fs, mp, MountOptions.defaults().withBinding(binding))) {
                Path file = m.mountpoint().resolve("big.bin");
                double cold = dd(file);
                double warm = dd(file);
                String ra = Files.readString(Path.of("/sys/class/bdi", m.device(), "read_ahead_kb")).strip();
                System.out.printf("%-28s %8.0f MB/s (%.2f of tmpfs); second read %6.0f MB/s; read_ahead_kb %s;"
                                + " largest request %d KiB; reads in FsOps at once: up to %d; %d reads%n",
                        binding.name().toLowerCase(java.util.Locale.ROOT) + " first read", cold, cold / baseline, warm, ra,
                        m.largestReadRequest() / 1024, fs.maxReadsInFlight(), fs.reads());
            } finally {
                Files.deleteIfExists(mp);
            }
        }
    }

    private static double tmpfsBaseline(RepeatingContent content) throws IOException, InterruptedException {
        Path shm = Path.of("/dev/shm");
        if (!Files.isDirectory(shm) || Files.getFileStore(shm).getUsableSpace() < content.size() * 2) {
            return Double.NaN;
        }
        Path file = Files.createTempFile(shm, "weightfs-bench", ".bin");
        try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
            ByteBuffer buf = ByteBuffer.allocateDirect((int) MIB);
            for (long off = 0; off < content.size(); off += MIB) {
                buf.clear().limit((int) Math.min(MIB, content.size() - off));
                content.fill(off, buf);
                buf.flip();
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
            }
            return dd(file);
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** MB/s (10^6 bytes per second, as dd counts) of one {@code dd bs=1M} of the whole file. */
    private static double dd(Path file) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("dd", "if=" + file, "of=/dev/null", "bs=1M").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IOException("dd failed: " + out);
        }
        Matcher m = DD_RATE.matcher(out);
        if (!m.find()) {
            throw new IOException("cannot read dd's figures: " + out);
        }
        return Long.parseLong(m.group(1)) / Double.parseDouble(m.group(2)) / 1e6;
    }

    /**
     * Content that costs one bulk copy per read: a random block of a period that is no power of two,
     * repeated, so every read crosses unaligned boundaries yet any byte can still be predicted.
     */
    static final class RepeatingContent implements InMemoryFs.Content {
        private static final int PERIOD = (int) MIB + 4099;
        /** Reads from FUSE are at most 1 MiB: a block this long serves any of them in one slice. */
        private static final int BLOCK = PERIOD + (int) MIB;

        private final long size;
        private final ByteBuffer block = ByteBuffer.allocateDirect(BLOCK);

        RepeatingContent(long size) {
            this.size = size;
            byte[] period = new byte[PERIOD];
            new Random(17).nextBytes(period);
            for (int i = 0; i < BLOCK; i++) {
                block.put(i, period[i % PERIOD]);
            }
        }

        @Override
        public long size() {
            return size;
        }

        @Override
        public void fill(long offset, ByteBuffer dst) {
            long o = offset;
            while (dst.hasRemaining()) {
                int start = (int) (o % PERIOD);
                int n = Math.min(dst.remaining(), BLOCK - start);
                dst.put(block.slice(start, n));
                o += n;
            }
        }
    }
}
