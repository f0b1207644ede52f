#!/usr/bin/env bash
# The container and Kubernetes-manifest test, for real: podman, FUSE, mount propagation.
#   1. builds (or reuses, by inputs' hash) the image with packaging/container/build.sh;
#   2. serves a private test repo with `weightfs serve` on the host's loopback;
#   3. `podman kube play` of packaging/k8s/test/sidecar-podman.yaml (host network): the privileged
#      weightfs sidecar mounts on a shared volume; an unprivileged reader container sees the files
#      through propagation and reads every byte: sha256 equal to the served files;
#   4. the sidecar stopped with SIGTERM leaves no mount behind (host and reader);
#   5. restarted, it mounts again and the reader reads the new mount;
#   6. killed with SIGKILL it leaves "Transport endpoint is not connected"; restarted on the same
#      volume it clears that (--unmount-stale) and mounts; the reader reads every byte again.
# Cleans up the pod, its containers, mounts and files whatever happens. Needs root.
# Usage: packaging/container/test-container.sh [build.sh arguments]
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
packaging="$(cd "$here/.." && pwd)"

"$here/setup-podman.sh"
image="$("$here/build.sh" "$@" | tail -1)"
wfs="$packaging/target/dist/bin/weightfs"

work="$(mktemp -d /tmp/weightfs-ct.XXXXXX)"
pod="weightfs-test-$$"
serve_pid=""
cleanup() {
  set +e
  podman pod rm -f -t 5 "$pod" >/dev/null 2>&1
  # Whatever FUSE mount is left under our directory (a failed step), then the shared bind.
  for m in $(awk -v w="$work/" 'index($2, w) == 1 && $3 ~ /^fuse/ {print $2}' /proc/mounts | sort -r); do
    fusermount3 -u "$m" 2>/dev/null || umount -l "$m"
  done
  mountpoint -q "$work/shared" && umount -l "$work/shared"
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "test-container.sh: FAIL: $*" >&2; exit 1; }
step() { echo "test-container.sh: $*" >&2; }
# Waits (bounded, $2 s) until the command $3... succeeds.
await() {
  local what="$1" secs="$2"; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "$what: not within $secs s"
    sleep 0.2
  done
}

# The served repo: private, so the sidecar must read its token from /secrets.
token="hf_containertest$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
repo="$work/repos/acme/tiny-private"
mkdir -p "$repo/sub" "$work/shared" "$work/store" "$work/secrets"
printf '{"private": true, "tokens": ["%s"]}\n' "$token" >"$repo/.weightfs-repo.json"
printf '{"hidden_size": 64}\n' >"$repo/config.json"
head -c $((20 * 1024 * 1024 + 12345)) /dev/urandom >"$repo/model.safetensors"
head -c 300000 /dev/urandom >"$repo/sub/extra.bin"
printf '%s' "$token" >"$work/secrets/hf_access_token"
chmod 0400 "$work/secrets/hf_access_token"
want="$(cd "$repo" && sha256sum $(find . -type f ! -name .weightfs-repo.json | sort))"

"$wfs" serve --repos "$work/repos" --port 0 >"$work/serve.log" 2>&1 &
serve_pid=$!
await "weightfs serve listening" 120 grep -q 'listening on' "$work/serve.log"
endpoint="$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$work/serve.log")"

# / is a private mount here: without its own shared peer group, the volume would accept
# Bidirectional and propagate nothing.
mount --bind "$work/shared" "$work/shared"
mount --make-rshared "$work/shared"

sed -e "s|@POD@|$pod|" -e "s|@IMAGE@|$image|" -e "s|@ENDPOINT@|$endpoint|" -e "s|@SHARED@|$work/shared|" \
    -e "s|@STORE@|$work/store|" -e "s|@SECRETS@|$work/secrets|" \
    "$packaging/k8s/test/sidecar-podman.yaml" >"$work/pod.yaml"
step "podman kube play ($image, hub $endpoint)"
# From the work directory: kube play builds an image itself when a folder named like the image
# (here ./weightfs, the launcher in the source checkout) is in its working directory.
(cd "$work" && podman kube play "$work/pod.yaml") >"$work/play.log" 2>&1 || { cat "$work/play.log" >&2; fail "podman kube play"; }
sidecar="$pod-weightfs"
reader="$pod-reader"

is_mounted() { awk -v m="$work/shared/hf" '$2 == m && $3 ~ /^fuse/ {found=1} END {exit !found}' /proc/mounts; }
reader_sums() { podman logs "$reader" 2>&1 | sed -n 's/^READER-SUM //p'; }
check_reader_sums() {  # $1: what; reads every file again inside the reader container
  local got
  got="$(podman exec "$reader" sh -c 'cd /models/hf/tiny && files="$(find . -type f | sort)" && [ -n "$files" ] && sha256sum $files')" || got=""
  if [ "$got" != "$want" ]; then
    echo "test-container.sh: $1: the reader got:" >&2; printf '%s\n' "$got" >&2
    echo "  host mounts at the volume:" >&2; awk -v m="$work/shared/" 'index($2, m) == 1' /proc/mounts >&2
    echo "  the reader's mounts:" >&2; podman exec "$reader" grep /models /proc/self/mountinfo >&2
    echo "  the reader's listing:" >&2; podman exec "$reader" ls -laR /models/hf >&2
    podman logs "$sidecar" 2>&1 | tail -15 >&2
    fail "$1: the reader's sha256 differ from the served files'"
  fi
}

await "the reader's first full read" 180 sh -c "podman logs '$reader' 2>&1 | grep >/dev/null '^READER-DONE'" || true
podman logs "$reader" 2>&1 | grep >/dev/null '^READER-DONE' || { podman logs "$sidecar" >&2; podman logs "$reader" >&2; fail "reader"; }
[ "$(reader_sums)" = "$want" ] || fail "first read: sha256 differ:\n$(reader_sums)\nwant:\n$want"
podman logs "$reader" 2>&1 | grep >/dev/null '^READER: uid 1000$' || fail "the reader did not run as uid 1000"
is_mounted || fail "the sidecar's mount did not propagate to the host's shared directory"
step "ok: the unprivileged reader read every byte through propagation ($(wc -l <<<"$want") files, sha256 equal)"

step "SIGTERM to the sidecar"
podman stop -t 60 "$sidecar" >/dev/null
rc="$(podman inspect --format '{{.State.ExitCode}}' "$sidecar")"
# 143 = 128 + SIGTERM: how a JVM exits on SIGTERM once its shutdown hooks (the unmount) have run.
case "$rc" in 0|143) ;; *) podman logs "$sidecar" 2>&1 | tail -20 >&2; fail "the sidecar exited with $rc after SIGTERM" ;; esac
podman logs "$sidecar" 2>&1 | grep >/dev/null 'MountedFs - unmounted /models/hf' || fail "the sidecar did not log its unmount"
if podman logs "$sidecar" 2>&1 | grep -E '\[(ERROR|WARN)\]'; then fail "the sidecar logged errors on SIGTERM"; fi
is_mounted && fail "SIGTERM left the mount behind on the host"
ls "$work/shared/hf" >/dev/null 2>&1 || fail "SIGTERM left a dead mount: $(ls "$work/shared/hf" 2>&1)"
podman exec "$reader" ls /models/hf >/dev/null 2>&1 || fail "the reader sees a dead mount after SIGTERM: $(podman exec "$reader" ls /models/hf 2>&1)"
[ -z "$(podman exec "$reader" ls -A /models/hf)" ] || fail "the reader still sees files after SIGTERM"
step "ok: no mount left (host and reader), exit status $rc, unmount logged"

step "restart after SIGTERM"
podman start "$sidecar" >/dev/null
await "the restarted sidecar's mount" 120 podman exec "$reader" head -c 1 /models/hf/.weightfs/status.json
check_reader_sums "after the restart"
step "ok: mounted again, the reader read every byte of the new mount"

step "SIGKILL to the sidecar"
podman kill -s KILL "$sidecar" >/dev/null
await "the killed sidecar to exit" 60 sh -c "[ \"\$(podman inspect --format '{{.State.Running}}' '$sidecar')\" = false ]"
err="$(ls "$work/shared/hf" 2>&1 || true)"
grep -q 'Transport endpoint is not connected' <<<"$err" || fail "SIGKILL did not leave a dead mount (ls said: $err)"
rerr="$(podman exec "$reader" ls /models/hf 2>&1 || true)"
grep -q 'Transport endpoint is not connected' <<<"$rerr" || fail "the reader does not see the dead mount (ls said: $rerr)"
step "ok: SIGKILL left 'Transport endpoint is not connected' (host and reader)"

step "restart after SIGKILL on the same volume"
podman start "$sidecar" >/dev/null
await "the sidecar's mount after SIGKILL" 120 podman exec "$reader" head -c 1 /models/hf/.weightfs/status.json
# (The wait above reads a file of the mount: a stat would be answered from the kernel's attribute
# cache even by the dead mount.)
podman logs "$sidecar" 2>&1 | grep >/dev/null "unmounted the stale FUSE mount at /models/hf" \
  || { podman logs "$sidecar" 2>&1 | tail -20 >&2; fail "the restart did not say that it cleared the dead mount"; }
check_reader_sums "after SIGKILL and restart"
[ "$(awk -v m="$work/shared/hf" '$2 == m && $3 ~ /^fuse/' /proc/mounts | wc -l)" = 1 ] || fail "not exactly one mount at the volume after the restart"
step "ok: the restart cleared the dead mount (--unmount-stale) and mounted; the reader read every byte again"

podman stop -t 60 "$sidecar" >/dev/null
is_mounted && fail "the final SIGTERM left the mount behind"
step "PASS"
