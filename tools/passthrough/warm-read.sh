#!/usr/bin/env bash
# Warm read of a complete store through a new mount, against reading the store's blob files
# directly, with cold and warm page caches, and the daemon's CPU seconds per GiB during it:
#
#   tools/passthrough/warm-read.sh [SIZE_MIB]      (root; default 1024 MiB; about a minute)
#
# Mounts, in one run: --fuse kernel with passthrough, --fuse kernel without it
# (WEIGHTFS_PASSTHROUGH=0) and --fuse jfuse, each on the same filled store. Prints MB/s and ratios.
set -euo pipefail
size_mib="${1:-1024}"
here="$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)"
wfs="$here/weightfs"
work="$(mktemp -d /tmp/weightfs-warm-XXXXXX)"
serve_pid=""
cleanup() {
  for m in "$work"/mnt*; do mountpoint -q "$m" 2>/dev/null && { "$wfs" umount "$m" >/dev/null 2>&1 || umount -l "$m"; }; done
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/repos/acme/model"
head -c "$((size_mib << 20))" /dev/urandom >"$work/repos/acme/model/model.safetensors"
echo '{}' >"$work/repos/acme/model/config.json"
cat >"$work/config.yaml" <<YAML
model_cache:
  - repo_id: acme/model
    revision: main
    volume_folder: model
YAML
"$wfs" serve --repos "$work/repos" --port 0 --bind 127.0.0.1 >"$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 300); do grep -q "listening on" "$work/serve.log" && break; sleep 0.1; done
endpoint="$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.log" | head -1)"

mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }
timed_cat() { # prints seconds
  local t0 t1; t0=$(date +%s.%N); cat "$@" >/dev/null; t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
bytes=$((size_mib << 20))

run_mount() { # name env binding
  local name="$1" envs="$2" binding="$3" mnt="$work/mnt-$1"
  mkdir -p "$mnt"
  env $envs "$wfs" mount --config "$work/config.yaml" --store "$work/store" --endpoint "$endpoint" \
    --fuse "$binding" --background "$mnt" >/dev/null
  cat "$mnt/.weightfs/wait" >/dev/null
  local pid; pid="$(pgrep -f "weightfs.jar mount .*$mnt" | head -1)"
  sync; echo 3 >/proc/sys/vm/drop_caches
  local c0 cold c1 warm c2
  c0=$(cpu_ticks "$pid"); cold=$(timed_cat "$mnt/model/model.safetensors"); c1=$(cpu_ticks "$pid")
  warm=$(timed_cat "$mnt/model/model.safetensors"); c2=$(cpu_ticks "$pid")
  local hz; hz=$(getconf CLK_TCK)
  echo "$name cold $(mbps $bytes $cold) MB/s warm $(mbps $bytes $warm) MB/s daemon CPU cold $(awk -v t=$((c1 - c0)) -v h=$hz -v g=$size_mib 'BEGIN { printf "%.3f", t / h / (g / 1024) }') s/GiB warm $(awk -v t=$((c2 - c1)) -v h=$hz -v g=$size_mib 'BEGIN { printf "%.3f", t / h / (g / 1024) }') s/GiB"
  echo "$cold $warm" >"$work/$name.times"
  "$wfs" umount "$mnt" >/dev/null
}

# Fill the store once (the first mount waits for it), then measure each mount on the full store.
run_mount kernel-passthrough "" kernel
blobs=$(find "$work/store" -type f -size +$((size_mib / 2))M)
sync; echo 3 >/proc/sys/vm/drop_caches
dcold=$(timed_cat $blobs); dwarm=$(timed_cat $blobs)
echo "blob files directly: cold $(mbps $bytes $dcold) MB/s warm $(mbps $bytes $dwarm) MB/s"
run_mount kernel-passthrough "" kernel
run_mount kernel-no-passthrough "WEIGHTFS_PASSTHROUGH=0" kernel
run_mount jfuse "" jfuse
for n in kernel-passthrough kernel-no-passthrough jfuse; do
  read -r c w <"$work/$n.times"
  echo "$n / direct: cold $(awk -v a=$dcold -v b=$c 'BEGIN { printf "%.2f", a / b }')x warm $(awk -v a=$dwarm -v b=$w 'BEGIN { printf "%.2f", a / b }')x"
done
