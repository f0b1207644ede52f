#!/usr/bin/env bash
# How many times each byte of a model sits in the page cache after a cold read through a mount:
# once as the node store's blob file, and once more in the FUSE file's own cache where the daemon
# serves the read. Measures with fincore(1) (mincore of each file), so the figure does not depend on
# how busy the machine is.
#
#   tools/pagecache/residency.sh [SIZE_MIB] [-- extra mount options]   # default 512 MiB, as root
#
# Prints, after `cat` of every file, then after `weightfs wait` and a second `cat` through a new
# open: the model's MiB, MiB resident as blob files, MiB resident in the FUSE files, and the ratio.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "$0")")" && pwd)"
root="$(cd "$here/../.." && pwd)"
size_mib="${1:-512}"
shift || true
[ "${1:-}" = "--" ] && shift
extra=("$@")
[ "$(id -u)" = 0 ] || { echo "residency.sh: run as root (drops caches, mounts FUSE)" >&2; exit 2; }
command -v fincore >/dev/null || { echo "residency.sh: needs fincore (util-linux)" >&2; exit 2; }
wfs="$root/weightfs"
work="$(mktemp -d /var/tmp/weightfs-residency-XXXXXX)"
serve_pid=""
mnt="$work/mnt"
cleanup() {
  "$wfs" umount "$mnt" >/dev/null 2>&1 || fusermount3 -u -z "$mnt" 2>/dev/null || true
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/repos/bench/model" "$mnt"
shard=$(( size_mib / 4 ))
for i in 1 2 3 4; do
  head -c "$((shard << 20))" /dev/urandom >"$work/repos/bench/model/model-0000$i-of-00004.safetensors"
done
echo '{"model_type": "llama"}' >"$work/repos/bench/model/config.json"
"$wfs" serve --repos "$work/repos" --port 0 >"$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 1 300); do grep -q "listening on" "$work/serve.log" && break; sleep 0.1; done
endpoint="$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/serve.log" | head -1)"
[ -n "$endpoint" ] || { cat "$work/serve.log" >&2; exit 1; }
cat >"$work/config.yaml" <<YAML
model_cache:
  - repo_id: bench/model
    revision: main
    volume_folder: model
YAML
sync; echo 3 >/proc/sys/vm/drop_caches
"$wfs" mount --config "$work/config.yaml" --endpoint "$endpoint" --store "$work/store" "${extra[@]}" \
  --background "$mnt" >"$work/mount.log" 2>&1
resident_mib() { # files... -> resident MiB summed
  fincore -b -n -o RES "$@" 2>/dev/null | awk '{s += $1} END {printf "%.0f", s / 1048576}'
}
report() {
  local blobs fuse
  mapfile -t blob_files < <(find "$work/store/blobs" -type f ! -name '*.state' 2>/dev/null)
  blobs=$(resident_mib "${blob_files[@]}")
  fuse=$(resident_mib "$mnt"/model/*.safetensors)
  awk -v what="$1" -v m="$size_mib" -v b="$blobs" -v f="$fuse" 'BEGIN {
    printf "%-44s model %5d MiB  blob files %5d MiB  FUSE files %5d MiB  = %.2fx the model\n", what, m, b, f, (b + f) / m }'
}
cat "$mnt"/model/*.safetensors >/dev/null
report "after a cold cat of every shard"
"$wfs" wait "$mnt" >/dev/null
report "after weightfs wait (every file verified)"
cat "$mnt"/model/*.safetensors >/dev/null
report "after a second cat (new opens)"
