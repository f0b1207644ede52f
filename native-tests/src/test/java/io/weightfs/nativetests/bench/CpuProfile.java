package io.weightfs.nativetests.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where a daemon's CPU went, from async-profiler's collapsed stacks ({@code frame;frame;...;leaf COUNT},
 * root first): each stack goes to the category of the innermost frame that names one, so a stack
 * whose leaf is a kernel copy under {@code SocketDispatcher.read} counts as a socket read, and one
 * whose leaf is {@code SHA2.implCompress} under the fetch worker counts as sha256. "JIT/GC/class loading"
 * is the JVM's own work (compilers, collector, class loading and linking, interpreted code).
 */
final class CpuProfile {
    /** The categories, in the order they are printed. */
    static final List<String> CATEGORIES = List.of("socket read", "HTTP parsing", "pwrite/fsync", "sha256", "sha256 catch-up read",
            "crc32c", "FUSE reply/copy", "JIT/GC/class loading", "other");

    /** Frame substrings per category, tried in this order on each frame from the leaf up. */
    private static final Map<String, List<String>> PATTERNS = new LinkedHashMap<>();

    static {
        // Frames are matched with '/' turned into '.', so both of async-profiler's spellings match.
        PATTERNS.put("sha256", List.of("sha256", "SHA2.", "SHA2$", "sun.security.provider.SHA", "sun.security.provider.DigestBase",
                "java.security.MessageDigest", "sha1_implCompress", "io.weightfs.store.BlobDigest"));
        // Reading back the part of a blob that was not hashed while it was written (the digest's catch-up).
        PATTERNS.put("sha256 catch-up read", List.of("io.weightfs.store.Blob.catchUp"));
        PATTERNS.put("crc32c", List.of("CRC32C", "crc32c", "updateBytesCRC32"));
        PATTERNS.put("socket read", List.of("SocketDispatcher.read", "SocketChannelImpl.read", "NioSocketImpl", "SocketInputStream",
                "tcp_recvmsg", "sock_recvmsg", "sock_read_iter", "__x64_sys_recvfrom", "inet_recvmsg"));
        PATTERNS.put("pwrite/fsync", List.of("FileDispatcherImpl.pwrite", "FileDispatcherImpl.write", "FileChannelImpl.write",
                "FileDispatcherImpl.force", "FileChannelImpl.force", "__x64_sys_pwrite64", "__x64_sys_fdatasync", "__x64_sys_fsync",
                "ext4_file_write_iter", "ext4_sync_file"));
        PATTERNS.put("HTTP parsing", List.of("okhttp3.", "okio.", "io.weightfs.hub."));
        PATTERNS.put("FUSE reply/copy", List.of("org.cryptomator.jfuse", "jnr.", "ru.serce.jnrfuse", "io.weightfs.fuse.", "io.weightfs.fs.",
                "fuse_dev_", "fuse_"));
        PATTERNS.put("JIT/GC/class loading", List.of("ClassFileParser", "SymbolTable::", "SystemDictionary", "ClassLoader",
                "Verifier::", "LinkResolver", "ConstantPool::", "Interpreter", "I2C/C2I", "BarrierSetNMethod", "java.util.zip.Inflater",
                "MethodHandleNatives.link","CompileBroker", "C2Compiler", "Compiler::", "Compile::", "PhaseIdealLoop", "PhaseChaitin",
                "PhaseIterGVN", "Parse::", "GraphKit", "Matcher::", "LinearScan", "CodeCache", "SerialHeap", "DefNewGeneration",
                "TenuredGeneration", "VM_GC", "VMThread", "GCTaskThread", "SerialFullGC", "CollectedHeap"));
    }

    private final Map<String, Long> samples = new LinkedHashMap<>();
    private long total;

    private CpuProfile() {
        for (String c : CATEGORIES) {
            samples.put(c, 0L);
        }
    }

    static CpuProfile read(Path collapsed) throws IOException {
        return parse(Files.readAllLines(collapsed));
    }

    /** Parses collapsed stacks; blank lines are skipped, a line without a trailing count is an error. */
    static CpuProfile parse(List<String> lines) {
        CpuProfile p = new CpuProfile();
        for (String line : lines) {
            if (line.isBlank()) {
                continue;
            }
            int sp = line.lastIndexOf(' ');
            long n;
            try {
                n = Long.parseLong(line.substring(sp + 1).trim());
            } catch (NumberFormatException | IndexOutOfBoundsException e) {
                throw new IllegalArgumentException("not a collapsed stack (no count at the end): " + line);
            }
            if (sp < 0) {
                throw new IllegalArgumentException("not a collapsed stack (no frames): " + line);
            }
            String c = classify(line.substring(0, sp));
            p.samples.merge(c, n, Long::sum);
            p.total += n;
        }
        return p;
    }

    /** The category of one stack, root first, frames separated by ';'. */
    static String classify(String stack) {
        String[] frames = stack.split(";");
        for (int i = frames.length - 1; i >= 0; i--) {
            String f = frames[i].replace('/', '.');
            for (var e : PATTERNS.entrySet()) {
                for (String pat : e.getValue()) {
                    if (f.contains(pat)) {
                        return e.getKey();
                    }
                }
            }
        }
        return "other";
    }

    long samples(String category) {
        return samples.getOrDefault(category, 0L);
    }

    long total() {
        return total;
    }

    /**
     * "socket read 0.41, HTTP parsing 0.02, ... = 1.80 CPU-s/GiB": each category's samples times the
     * sampling interval, per GiB.
     */
    String perGib(double intervalSeconds, double gib) {
        StringBuilder b = new StringBuilder();
        for (String c : CATEGORIES) {
            if (b.length() > 0) {
                b.append(", ");
            }
            b.append(c).append(' ').append(String.format(Locale.ROOT, "%.2f", samples(c) * intervalSeconds / gib));
        }
        b.append(String.format(Locale.ROOT, " = %.2f CPU-s/GiB (%d samples)", total * intervalSeconds / gib, total));
        return b.toString();
    }
}
