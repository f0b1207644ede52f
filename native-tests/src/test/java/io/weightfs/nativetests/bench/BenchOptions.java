package io.weightfs.nativetests.bench;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * What {@link ColdStartBenchmark} runs, validated once from the command line and immutable after.
 *
 * @param modelBytes total size of the generated model (its shards; config and tokenizer files come on top)
 * @param shards how many safetensors shards the model is cut into
 * @param importTime how long the simulated model server "imports" before it reads a byte
 * @param sections which numbered parts of the issue to run (6, peak memory, comes with 1 and 4)
 * @param repeat how many times each cheap figure is measured (the median is quoted)
 * @param shapedRate the tc rate of the shaped link for parts 3 and 4 (tc syntax, e.g. 800mbit)
 * @param latencyReads random 4 KiB reads per scheduler mode in part 3
 * @param fileCounts the tree sizes of part 5
 * @param forceThrottle use {@code serve --fault throttle:N} on loopback instead of a network namespace
 * @param work where models, stores and mountpoints go (the model is kept there between runs)
 * @param jar the weightfs jar to run (copied first, so a rebuild during the run changes nothing)
 * @param java the java binary that runs weightfs
 * @param launcher {@code packaging/bin/weightfs}, through which weightfs runs; null: java -jar with its flags
 * @param refFs the C libfuse3 reference filesystem binary, or null to leave that peer out
 * @param results where the markdown table is also written
 * @param commandLine the command that started the run, printed under the table
 * @param fuse {@code --fuse BINDING} for every mount, or null for weightfs's default (weightfs refuses unknown names)
 * @param profiler libasyncProfiler.so to attach to part 1's daemon ({@code --profile}), or null for no profile
 * @param python the python of a venv with transformers, huggingface_hub and torch (part 8), or null to skip part 8
 */
record BenchOptions(
        long modelBytes,
        int shards,
        Duration importTime,
        Set<Integer> sections,
        int repeat,
        String shapedRate,
        int latencyReads,
        List<Integer> fileCounts,
        boolean forceThrottle,
        Path work,
        Path jar,
        String java,
        Path launcher,
        Path refFs,
        Path results,
        String commandLine,
        String fuse,
        Path profiler,
        Path python) {

    static final String USAGE = """
            usage: ColdStartBenchmark --jar WEIGHTFS_JAR --java JAVA [options]
              --size SIZE            model size, e.g. 512M, 2G, 4G (default 4G)
              --shards N             safetensors shards (default 5)
              --import DURATION      simulated model server's import time, e.g. 5s, 1500ms (default 5s)
              --only LIST            parts to run, e.g. 1,3 (default 1,2,3,4,5,7,8; 6 comes with 1 and 4)
                                     1 cold read (+ CPU, read() calls), 2 warm read, 3 foreground latency,
                                     4 cold start, 5 mount-ready, 6 RSS, 7 weightfs fetch vs curl and
                                     kill -9/resume, 8 transformers from_pretrained
              --fuse BINDING         passed to every mount as --fuse BINDING (jfuse, jnr, ...; weightfs
                                     refuses names it does not know)
              --profile              attach async-profiler to part 1's daemon (an extra, un-timed run) and
                                     print CPU-s/GiB per category (bench.sh fetches async-profiler 4.1)
              --profiler LIB         libasyncProfiler.so for --profile (bench.sh passes it)
              --python PYTHON        python of a venv with transformers 5.17, huggingface_hub 1.33, torch
                                     (part 8; bench.sh makes it under WORK/venvs)
              --repeat N             runs per cheap figure; the median is quoted (default 3)
              --rate RATE            shaped link rate for parts 3 and 4 (tc syntax, default 800mbit)
              --latency-reads N      random 4 KiB reads per scheduler mode in part 3 (default 100)
              --files LIST           tree sizes for part 5 (default 10,1000,10000)
              --throttle             shape with 'serve --fault throttle' on loopback, not a netns + tc
              --work DIR             models, stores, mountpoints (default /var/tmp/weightfs-bench)
              --launcher FILE        packaging/bin/weightfs: run weightfs through it (its flags, its CDS archive)
              --ref-fs BINARY        C libfuse3 passthrough filesystem for the warm-read peer
              --results FILE         also write the table here
              --command TEXT         the command line to print under the table
            """;

    BenchOptions {
        if (modelBytes < 64L << 20) {
            throw new IllegalArgumentException("--size must be at least 64M, was " + modelBytes);
        }
        if (shards < 1 || shards > 99) {
            throw new IllegalArgumentException("--shards must be 1..99, was " + shards);
        }
        if (repeat < 1) {
            throw new IllegalArgumentException("--repeat must be at least 1, was " + repeat);
        }
        if (latencyReads < 10) {
            throw new IllegalArgumentException("--latency-reads must be at least 10 (a p99 needs samples), was " + latencyReads);
        }
        if (jar == null || java == null) {
            throw new IllegalArgumentException("--jar and --java are required\n" + USAGE);
        }
    }

    static BenchOptions parse(String[] args) {
        long size = 4L << 30;
        int shards = 5;
        Duration importTime = Duration.ofSeconds(5);
        Set<Integer> sections = new TreeSet<>(List.of(1, 2, 3, 4, 5, 7, 8));
        int repeat = 3;
        String rate = "800mbit";
        int latencyReads = 100;
        List<Integer> files = List.of(10, 1000, 10000);
        boolean throttle = false;
        Path work = Path.of("/var/tmp/weightfs-bench");
        Path jar = null;
        String java = null;
        Path launcher = null;
        Path refFs = null;
        Path results = null;
        String command = "";
        String fuse = null;
        boolean profile = false;
        Path profiler = null;
        Path python = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--throttle")) {
                throttle = true;
                continue;
            }
            if (a.equals("--profile")) {
                profile = true;
                continue;
            }
            if (a.equals("-h") || a.equals("--help")) {
                System.out.print(USAGE);
                System.exit(0);
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("option " + a + " needs a value\n" + USAGE);
            }
            String v = args[++i];
            switch (a) {
                case "--size" -> size = parseSize(v);
                case "--shards" -> shards = Integer.parseInt(v);
                case "--import" -> importTime = parseDuration(v);
                case "--only" -> {
                    sections = new TreeSet<>();
                    for (String s : v.split(",")) {
                        int n = Integer.parseInt(s.trim());
                        if (n < 1 || n > 8) {
                            throw new IllegalArgumentException("--only takes parts 1..8, not " + n);
                        }
                        sections.add(n);
                    }
                }
                case "--repeat" -> repeat = Integer.parseInt(v);
                case "--rate" -> rate = v;
                case "--latency-reads" -> latencyReads = Integer.parseInt(v);
                case "--files" -> {
                    List<Integer> l = new ArrayList<>();
                    for (String s : v.split(",")) {
                        l.add(Integer.parseInt(s.trim()));
                    }
                    files = List.copyOf(l);
                }
                case "--work" -> work = Path.of(v);
                case "--jar" -> jar = Path.of(v);
                case "--java" -> java = v;
                case "--launcher" -> launcher = v.isEmpty() ? null : Path.of(v);
                case "--ref-fs" -> refFs = v.isEmpty() ? null : Path.of(v);
                case "--results" -> results = Path.of(v);
                case "--command" -> command = v;
                case "--fuse" -> {
                    if (v.isBlank() || v.startsWith("-")) {
                        throw new IllegalArgumentException("--fuse needs a binding name (jfuse, jnr, ...), was '" + v + "'");
                    }
                    fuse = v;
                }
                case "--profiler" -> profiler = v.isEmpty() ? null : Path.of(v);
                case "--python" -> python = v.isEmpty() ? null : Path.of(v);
                default -> throw new IllegalArgumentException("unknown option " + a + "\n" + USAGE);
            }
        }
        if (sections.contains(6)) {
            // Peak memory is read during parts 1 and 4; asking for 6 alone runs part 1 for it.
            if (!sections.contains(1) && !sections.contains(4)) {
                sections.add(1);
            }
        }
        if (profile && profiler == null) {
            throw new IllegalArgumentException("--profile needs --profiler LIB (libasyncProfiler.so; bench.sh passes it)");
        }
        if (!profile) {
            profiler = null;
        }
        return new BenchOptions(size, shards, importTime, Set.copyOf(sections), repeat, rate, latencyReads, files, throttle,
                work.toAbsolutePath(), jar, java, launcher, refFs, results, command, fuse, profiler, python);
    }

    boolean runs(int section) {
        return sections.contains(section);
    }

    /** The shaped rate in bytes per second, for {@code serve --fault throttle} and for the write-up. */
    long shapedBytesPerSecond() {
        String r = shapedRate.toLowerCase(Locale.ROOT);
        double mult;
        String num;
        if (r.endsWith("gbit")) {
            mult = 1e9 / 8;
            num = r.substring(0, r.length() - 4);
        } else if (r.endsWith("mbit")) {
            mult = 1e6 / 8;
            num = r.substring(0, r.length() - 4);
        } else if (r.endsWith("kbit")) {
            mult = 1e3 / 8;
            num = r.substring(0, r.length() - 4);
        } else {
            throw new IllegalArgumentException("--rate must end in kbit, mbit or gbit, was '" + shapedRate + "'");
        }
        return (long) (Double.parseDouble(num) * mult);
    }

    static long parseSize(String v) {
        String s = v.trim().toUpperCase(Locale.ROOT).replace("IB", "").replace("B", "");
        long mult = 1;
        char last = s.charAt(s.length() - 1);
        switch (last) {
            case 'K' -> mult = 1L << 10;
            case 'M' -> mult = 1L << 20;
            case 'G' -> mult = 1L << 30;
            case 'T' -> mult = 1L << 40;
            default -> { }
        }
        String num = mult == 1 ? s : s.substring(0, s.length() - 1);
        return (long) (Double.parseDouble(num) * mult);
    }

    static Duration parseDuration(String v) {
        String s = v.trim().toLowerCase(Locale.ROOT);
        if (s.endsWith("ms")) {
            return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)));
        }
        if (s.endsWith("s")) {
            return Duration.ofMillis((long) (Double.parseDouble(s.substring(0, s.length() - 1)) * 1000));
        }
        if (s.endsWith("m")) {
            return Duration.ofMillis((long) (Double.parseDouble(s.substring(0, s.length() - 1)) * 60_000));
        }
        return Duration.ofMillis((long) (Double.parseDouble(s) * 1000));
    }
}
