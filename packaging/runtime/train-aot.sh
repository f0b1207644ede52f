#!/usr/bin/env bash
# Makes DIST/lib/weightfs.aot, the JDK 25 AOT cache the launcher uses (JEP 483/514/515), from a
# training run that does what a start of weightfs does: a real `weightfs mount` of a small repo
# served by `weightfs serve` on loopback, up to "ready", a listing and a read of every file, then
# `weightfs umount`. The cache is written as that mount process exits. Without FUSE (no /dev/fuse or
# fusermount3) the training run is `weightfs --help` and `weightfs mount --help` only (command line
# parsing), which still archives the JDK's and picocli's classes; it says so.
# Usage: packaging/runtime/train-aot.sh DIST
set -euo pipefail

dist="$(cd "${1:?usage: train-aot.sh DIST}" && pwd)"
java="$dist/runtime/bin/java"
jar="$dist/lib/weightfs.jar"
options="$dist/lib/jvm.options"
out="$dist/lib/weightfs.aot"
for f in "$java" "$jar" "$options"; do
  [ -e "$f" ] || { echo "train-aot.sh: $f is missing (run packaging/runtime/build.sh)" >&2; exit 2; }
done
rm -f "$out" "$out.config"

work="$(mktemp -d /tmp/weightfs-aot-training.XXXXXX)"
serve_pid=""
mount_pid=""
cleanup() {
  if grep -qs " $work/mnt fuse" /proc/mounts; then
    fusermount3 -u "$work/mnt" 2>/dev/null || umount -l "$work/mnt" 2>/dev/null || true
  fi
  [ -n "$mount_pid" ] && kill "$mount_pid" 2>/dev/null || true
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true
  [ -n "$serve_pid" ] && wait "$serve_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Waits (bounded) for a line matching $2 in file $1 while process $3 lives.
await() {
  local file="$1" pattern="$2" pid="$3" deadline=$((SECONDS + 120))
  until grep -q "$pattern" "$file" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      echo "train-aot.sh: no '$pattern' from the training run:" >&2
      cat "$file" >&2
      return 1
    fi
    sleep 0.1
  done
}

train() {
  # The training JVM runs with the options of every start, as the launcher gives them.
  "$java" "@$options" -XX:AOTCacheOutput="$out" -jar "$jar" "$@"
}

if [ -e /dev/fuse ] && command -v fusermount3 >/dev/null 2>&1; then
  repo="$work/repos/weightfs/aot-training"
  mkdir -p "$repo" "$work/mnt"
  printf '{"architectures": ["AotTraining"], "hidden_size": 64}\n' >"$repo/config.json"
  printf '{"version": "1.0", "model": {"type": "BPE"}}\n' >"$repo/tokenizer.json"
  # Three blocks of the default 8 MiB, so that the multi-block paths (readahead, the fill, lazy
  # verification) are part of the training, not only the one-block files.
  head -c $((20 * 1024 * 1024)) /dev/urandom >"$repo/model.safetensors"
  printf 'model_cache:\n  - repo_id: weightfs/aot-training\n    volume_folder: model\n' >"$work/config.yaml"

  "$dist/bin/weightfs" serve --repos "$work/repos" --port 0 >"$work/serve.log" 2>&1 &
  serve_pid=$!
  await "$work/serve.log" 'listening on' "$serve_pid"
  endpoint="$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$work/serve.log")"

  train mount --config "$work/config.yaml" --store "$work/store" --endpoint "$endpoint" "$work/mnt" >"$work/mount.log" 2>&1 &
  mount_pid=$!
  await "$work/mount.log" 'ready at' "$mount_pid"
  ls -lR "$work/mnt" >/dev/null
  (cd "$work/repos/weightfs/aot-training" && sha256sum ./*) >"$work/want"
  (cd "$work/mnt/model" && sha256sum ./*) >"$work/got"
  cmp -s "$work/want" "$work/got" || { echo "train-aot.sh: the training mount read wrong bytes" >&2; exit 1; }
  "$dist/bin/weightfs" umount "$work/mnt" >/dev/null
  deadline=$((SECONDS + 180))
  while kill -0 "$mount_pid" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { echo "train-aot.sh: the training mount did not exit" >&2; exit 1; }
    sleep 0.2
  done
  rc=0; wait "$mount_pid" || rc=$?
  mount_pid=""
  [ "$rc" = 0 ] || { echo "train-aot.sh: the training mount exited with $rc:" >&2; cat "$work/mount.log" >&2; exit 1; }
  how="a real mount of a served 20 MiB repo"
else
  echo "train-aot.sh: no FUSE here (/dev/fuse, fusermount3): training on command line parsing only" >&2
  train mount --help >"$work/mount.log" 2>&1
  how="command line parsing only"
fi
[ -s "$out" ] || { echo "train-aot.sh: no AOT cache was written:" >&2; cat "$work/mount.log" >&2; exit 1; }
echo "train-aot.sh: $out ($(du -h "$out" | cut -f1), trained on $how)" >&2
