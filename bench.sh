#!/usr/bin/env bash
# The weightfs cold-start benchmark (README, "Performance"): builds the jar and the benchmark,
# installs the peers it compares against, and runs
# native-tests/src/test/java/io/weightfs/nativetests/bench/ColdStartBenchmark.java.
#
#   ./bench.sh                         # default: a 4 GiB model, import 5 s, parts 1-6
#   ./bench.sh --size 512M --repeat 1  # a quick smoke run
#   ./bench.sh --size 2G --only 1,3    # some parts only
#   ./bench.sh --size 2G --only 1 --profile   # part 1 with a CPU profile of the daemon (async-profiler 4.1)
#   ./bench.sh --fuse jnr              # every mount with another FUSE binding
#   ./bench.sh --help                  # every option
#
# Needs root and /dev/fuse (it mounts, drops the page cache and makes a network namespace).
# Prints one markdown table on stdout and writes it to native-tests/target/bench/results.md;
# progress goes to stderr, the logs of every process to WORK/run/logs (default /var/tmp/weightfs-bench).
set -euo pipefail

root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
cd "$root"
netns=wfsbench
work=/var/tmp/weightfs-bench
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --work) work="${args[$((i + 1))]}" ;;
    --profile) profile=1 ;;
    --only) only="${args[$((i + 1))]}" ;;
    -h|--help) help=1 ;;
  esac
done

if [ "$(id -u)" != 0 ] || [ ! -e /dev/fuse ]; then
  echo "bench.sh: needs root and /dev/fuse (it mounts FUSE filesystems, drops caches, makes a network namespace)" >&2
  exit 2
fi

find_java() {
  for home in "${WEIGHTFS_JAVA_HOME:-}" "${JAVA_HOME:-}" /usr/lib/jvm/temurin-2[5-9]* /usr/lib/jvm/java-2[5-9]* /usr/lib/jvm/jdk-2[5-9]*; do
    [ -n "$home" ] && [ -x "$home/bin/java" ] || continue
    v="$("$home/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
    if [ -n "$v" ] && [ "${v%%.*}" -ge 25 ] 2>/dev/null; then echo "$home"; return 0; fi
  done
  return 1
}
if ! JAVA_HOME="$(find_java)"; then
  echo "bench.sh: needs a Java 25 JDK (looked at \$WEIGHTFS_JAVA_HOME, \$JAVA_HOME, /usr/lib/jvm/temurin-25*)" >&2
  exit 2
fi
export JAVA_HOME

# Tools: the peers (curl, aria2c), the shaper (ip, tc), FUSE, and what builds the C reference.
need=()
command -v mvn >/dev/null || need+=(maven)
command -v curl >/dev/null || need+=(curl)
command -v aria2c >/dev/null || need+=(aria2)
command -v ip >/dev/null && command -v tc >/dev/null || need+=(iproute2)
command -v fusermount3 >/dev/null || need+=(fuse3)
[ -e /usr/lib/x86_64-linux-gnu/libfuse3.so.3 ] || ls /usr/lib/*/libfuse3.so.3 >/dev/null 2>&1 || need+=(libfuse3-3)
command -v gcc >/dev/null || need+=(gcc)
command -v pkg-config >/dev/null || need+=(pkg-config)
pkg-config --exists fuse3 2>/dev/null || need+=(libfuse3-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "bench.sh: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y "${need[@]}" >&2 || { apt-get update >&2 && apt-get install -y "${need[@]}" >&2; }
fi

mvn_q() {
  # Offline first (the usual case once dependencies are cached), online if something is missing.
  mvn -q -B -o "$@" >&2 || mvn -q -B "$@" >&2
}
out="$root/native-tests/target/bench"
mkdir -p "$out"
if [ -z "${help:-}" ]; then
  echo "bench.sh: building the jar and the benchmark" >&2
  mvn_q install -DskipTests -pl daemon,mount-cli -am
  mvn_q test-compile -pl native-tests
  mvn_q dependency:build-classpath -pl native-tests -Dmdep.includeScope=test -Dmdep.outputFile="$out/classpath.txt"
  ref="$out/refs_passthrough"
  if ! gcc -O2 -Wall -o "$ref" native-tests/src/bench/c/refs_passthrough.c $(pkg-config --cflags --libs fuse3) >&2; then
    echo "bench.sh: could not build the C libfuse3 reference; part 2 reports against the direct read only" >&2
    ref=""
  fi
else
  ref=""
  [ -f "$out/classpath.txt" ] || echo "" > "$out/classpath.txt"
fi

extra=()
if [ -n "${profile:-}" ] && [ -z "${help:-}" ]; then
  # async-profiler 4.1 from Maven Central; the jar holds the agent library.
  mvn_q dependency:copy -Dartifact=tools.profiler:async-profiler:4.1:jar:linux-x64 -DoutputDirectory="$out/async-profiler"
  (cd "$out/async-profiler" && "$JAVA_HOME/bin/jar" xf async-profiler-4.1-linux-x64.jar linux-x64/libasyncProfiler.so)
  extra+=(--profiler "$out/async-profiler/linux-x64/libasyncProfiler.so")
fi
command -v strace >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y strace >&2 || true; }
# Part 8 (transformers): a venv under WORK, keyed by its versions, from the machine's pip index.
if [ -z "${help:-}" ] && { [ -z "${only:-}" ] || [[ ",${only}," == *",8,"* ]]; }; then
  venv="$work/venvs/transformers-5.17.0-hub-1.33.0-torch-2.13.0"
  if py="$(bash native-tests/src/test/python/ensure-venv.sh "$venv" huggingface_hub==1.33.0 transformers==5.17.0 \
      torch==2.13.0+cpu safetensors | tail -1)"; then
    extra+=(--python "$py")
  else
    echo "bench.sh: could not make the transformers venv; part 8 is left out" >&2
  fi
fi

cleanup() {
  # Whatever happens to the benchmark JVM, no mount and no namespace outlive this script.
  if [ -d "$work" ]; then
    grep ' fuse' /proc/self/mounts | awk '{print $2}' | while read -r m; do
      case "$m" in "$work"/*) fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true ;; esac
    done
  fi
  ip netns del "$netns" 2>/dev/null || true
}
trap cleanup EXIT

set +e
"$JAVA_HOME/bin/java" -Xmx256m -XX:+UseSerialGC \
  -cp "$root/native-tests/target/test-classes:$(cat "$out/classpath.txt")" \
  io.weightfs.nativetests.bench.ColdStartBenchmark \
  --jar "$root/mount-cli/target/weightfs.jar" --java "$JAVA_HOME/bin/java" --launcher "$root/packaging/bin/weightfs" \
  --ref-fs "$ref" \
  --results "$out/results.md" --command "./bench.sh $*" "${extra[@]}" "$@"
rc=$?
exit $rc
