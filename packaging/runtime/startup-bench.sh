#!/usr/bin/env bash
# Measures what the dist's AOT cache buys: N starts (default 30) each with and without it
# (WEIGHTFS_NO_AOT=1), alternating, of
#   - `weightfs --version` (process start to exit), and
#   - mount-ready: `weightfs mount` started on a fresh store against a local `weightfs serve`, to the
#     first successful stat of a file in the mount (then `weightfs umount`).
# Every start must succeed (exit status 0, the right output, the mount answering and exiting 0 after
# its unmount); any failure is counted and fails the script. Prints median, p90, min and max (ms)
# of the wall time and of the CPU time (user + system) the process had used by then: on a loaded
# machine the CPU time is the steadier measure of the work a start does.
# Usage: packaging/runtime/startup-bench.sh [DIST] [N]
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
dist="$(cd "${1:-$here/../target/dist}" && pwd)"
n="${2:-30}"
wfs="$dist/bin/weightfs"
[ -f "$dist/lib/weightfs.aot" ] || { echo "startup-bench.sh: $dist has no lib/weightfs.aot" >&2; exit 2; }

work="$(mktemp -d /tmp/weightfs-startup-bench.XXXXXX)"
serve_pid=""
cleanup() {
  if grep -qs " $work/mnt fuse" /proc/mounts; then fusermount3 -u "$work/mnt" 2>/dev/null || umount -l "$work/mnt" || true; fi
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s%N; }

mkdir -p "$work/repos/acme/bench" "$work/mnt"
printf '{"hidden_size": 64}\n' >"$work/repos/acme/bench/config.json"
head -c $((16 * 1024 * 1024)) /dev/urandom >"$work/repos/acme/bench/model.safetensors"
printf 'model_cache:\n  - repo_id: acme/bench\n    volume_folder: m\n' >"$work/config.yaml"
WEIGHTFS_NO_AOT=1 "$wfs" serve --repos "$work/repos" --port 0 >"$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 600); do grep -q 'listening on' "$work/serve.log" && break; sleep 0.1; done
endpoint="$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$work/serve.log")"
[ -n "$endpoint" ] || { echo "startup-bench.sh: serve did not start" >&2; cat "$work/serve.log" >&2; exit 1; }
want_version="$(WEIGHTFS_NO_AOT=1 "$wfs" --version)"

failures=0
declare -A times
tick="$(getconf CLK_TCK)"
# CPU ms (user + system) a live process has used: fields 14 and 15 of /proc/PID/stat.
cpu_ms() { awk -v t="$tick" '{sub(/^.*\) /, ""); print int(($12 + $13) * 1000 / t)}' "/proc/$1/stat" 2>/dev/null || echo 0; }
version_once() {  # $1: aot|noaot
  local t0 out rc=0 noaot=""
  [ "$1" = aot ] || noaot=1
  t0=$(now)
  out="$(WEIGHTFS_NO_AOT="$noaot" /usr/bin/time -f 'CPU %U %S' -o "$work/time" "$wfs" --version 2>&1)" || rc=$?
  times[version_$1]+="$(( ($(now) - t0) / 1000000 )) "
  times[cpu_version_$1]+="$(awk '/^CPU/ {print int(($2 + $3) * 1000)}' "$work/time") "
  if [ "$rc" != 0 ] || [ "$out" != "$want_version" ]; then
    failures=$((failures + 1)); echo "startup-bench.sh: --version ($1) failed: rc $rc: $out" >&2
  fi
}
mount_once() {  # $1: aot|noaot
  local t0 pid rc=0 answered="" deadline
  rm -rf "$work/store"
  t0=$(now)
  if [ "$1" = aot ]; then
    "$wfs" mount --config "$work/config.yaml" --store "$work/store" --endpoint "$endpoint" "$work/mnt" >"$work/mount.log" 2>&1 &
  else
    WEIGHTFS_NO_AOT=1 "$wfs" mount --config "$work/config.yaml" --store "$work/store" --endpoint "$endpoint" "$work/mnt" >"$work/mount.log" 2>&1 &
  fi
  pid=$!
  deadline=$(( $(now) + 60000000000 ))
  while [ "$(now)" -lt "$deadline" ] && kill -0 "$pid" 2>/dev/null; do
    if stat "$work/mnt/m/config.json" >/dev/null 2>&1; then answered=1; break; fi
    sleep 0.005
  done
  times[mount_$1]+="$(( ($(now) - t0) / 1000000 )) "
  times[cpu_mount_$1]+="$(cpu_ms "$pid") "
  [ -n "$answered" ] && "$wfs" umount "$work/mnt" >/dev/null 2>&1 || true
  wait "$pid" || rc=$?
  if [ -z "$answered" ] || [ "$rc" != 0 ]; then
    failures=$((failures + 1)); echo "startup-bench.sh: mount ($1) failed: answered=${answered:-no} rc $rc" >&2; tail -5 "$work/mount.log" >&2
    grep -qs " $work/mnt fuse" /proc/mounts && { fusermount3 -u "$work/mnt" 2>/dev/null || umount -l "$work/mnt"; }
  fi
}

for i in $(seq "$n"); do
  if [ $((i % 2)) = 0 ]; then version_once aot; version_once noaot; mount_once aot; mount_once noaot
  else version_once noaot; version_once aot; mount_once noaot; mount_once aot; fi
done

stats() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -n | awk '{a[NR]=$1} END {printf "median %d, p90 %d, min %d, max %d ms (%d starts)", a[int((NR+1)/2)], a[int(NR*0.9+0.5)], a[1], a[NR], NR}'; }
for k in version_aot version_noaot mount_aot mount_noaot cpu_version_aot cpu_version_noaot cpu_mount_aot cpu_mount_noaot; do
  printf '%-14s %s\n' "$k" "$(stats "${times[$k]}")"
done
echo "failures: $failures"
[ "$failures" = 0 ]
