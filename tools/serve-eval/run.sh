#!/usr/bin/env bash
# The evaluation of moving weightfs serve's HTTP layer onto Jetty 12 (issue 8): server-alone
# throughput, curl to /dev/null of a 2 GiB file in the page cache, one stream and 4 parallel,
# medians of 5 (runs of the two servers interleaved), and the server's CPU-seconds per GiB from
# /proc/PID/stat. Not part of the build or of CI.
#
#   JAVA_HOME=... MAVEN_OPTS=-Dmaven.repo.local=... tools/serve-eval/run.sh [SIZE_MIB] [REPEAT]
#
# Builds the daemon (mvn install -DskipTests, offline) and this program first.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
size_mib="${1:-2048}"
repeat="${2:-5}"
java="${JAVA_HOME:?set JAVA_HOME to a JDK 25}/bin/java"
(cd "$here/../.." && mvn -o -B -q install -DskipTests -pl daemon -am)
(cd "$here" && mvn -o -B -q package)
work="$(mktemp -d /var/tmp/serve-eval-XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/repos/bench/eval"
file="$work/repos/bench/eval/blob.bin"
head -c "$((size_mib << 20))" /dev/urandom > "$file"
cat "$file" > /dev/null
bytes=$(stat -c %s "$file")
tck=$(getconf CLK_TCK)

start() { # name args... -> sets url_<name>, pid_<name>
  local name=$1; shift
  "$java" -Xmx384m -XX:+UseSerialGC -cp "$here/target/classes:$here/target/lib/*" io.weightfs.serveeval.ServeEval "$@" \
    > "$work/$name.out" 2> "$work/$name.err" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 600); do grep -q '^URL ' "$work/$name.out" 2>/dev/null && break; sleep 0.1; done
  eval "url_$name=\$(sed -n 's/^URL //p' \"$work/$name.out\")"
  eval "pid_$name=$pid"
}
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
now() { date +%s.%N; }

start weightfs weightfs "$work/repos"
start jetty jetty "$file" 65536
start jetty1m jetty "$file" 1048576
servers=(weightfs jetty jetty1m)
echo "weightfs serve: $url_weightfs (pid $pid_weightfs); jetty 12, 64 KiB buffers: $url_jetty (pid $pid_jetty);" \
  "jetty 12, 1 MiB buffers: $url_jetty1m (pid $pid_jetty1m); file $bytes bytes" >&2
for name in "${servers[@]}"; do eval "u=\$url_$name"; curl -s -o /dev/null "$u"; done # warm-up: JIT, page cache

declare -A results
for ((r = 1; r <= repeat; r++)); do
  for name in "${servers[@]}"; do
    eval "u=\$url_$name; p=\$pid_$name"
    for streams in 1 4; do
      c0=$(cpu "$p"); t0=$(now)
      for ((s = 0; s < streams; s++)); do curl -s -o /dev/null "$u" & done
      wait $(jobs -p | grep -v -e "^$pid_weightfs\$" -e "^$pid_jetty\$" -e "^$pid_jetty1m\$") 2>/dev/null || true
      t1=$(now); c1=$(cpu "$p")
      mbs=$(awk -v b="$bytes" -v n="$streams" -v a="$t0" -v z="$t1" 'BEGIN {printf "%.0f", b * n / (z - a) / 1e6}')
      cpg=$(awk -v b="$bytes" -v n="$streams" -v a="$c0" -v z="$c1" -v t="$tck" 'BEGIN {printf "%.3f", (z - a) / t / (b * n / 1073741824)}')
      results["$name,$streams,mbs"]+="$mbs "
      results["$name,$streams,cpu"]+="$cpg "
      echo "run $r $name streams=$streams: $mbs MB/s, $cpg CPU-s/GiB" >&2
    done
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)] " (" a[1] "-" a[NR] ", n=" NR ")"}'; }
echo "| server | streams | MB/s, median (min-max, n) | server CPU-s/GiB, median (min-max, n) |"
echo "|---|---|---|---|"
for name in "${servers[@]}"; do
  for streams in 1 4; do
    echo "| $name | $streams | $(echo "${results[$name,$streams,mbs]}" | median) | $(echo "${results[$name,$streams,cpu]}" | median) |"
  done
done
