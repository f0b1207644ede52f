#!/usr/bin/env bash
# Tests the Debian package for real: installs it in a fresh Debian 12 chroot (mmdebstrap minbase
# plus the package's dependencies, mount(8) and systemd's tools), then, inside it: weightfs
# --version, the man page, systemd-analyze verify of the installed unit, a `weightfs serve` of a
# small repo, a `mount -t fuse.weightfs` through the installed helper, every file read back and
# compared by sha256, `umount` (the daemon exits), `dpkg -r` (every file of `dpkg -L` gone),
# `dpkg --purge` (the node store gone, the package unknown). Run as root.
#
# Usage: packaging/deb/test-deb.sh [--deb FILE] [--jar JAR]
#   --deb FILE  test this package instead of building one (packaging/deb/build.sh)
#   --jar JAR   build the package around this jar (passed on to the runtime build)
# The chroot's base tarball is cached in $WEIGHTFS_TEST_CACHE (default /var/cache/weightfs-test),
# keyed by the hash of everything that makes it (suite, packages, mirror, mmdebstrap's version);
# the mirror is read from this machine's apt sources, never written anywhere.
set -euo pipefail

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
packaging="$(cd "$here/.." && pwd)"
deb=""
jar_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --deb) deb="$2"; shift 2 ;;
    --jar) jar_args=(--jar "$2"); shift 2 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test-deb.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "test-deb.sh: must run as root (chroot, mounts, dpkg)" >&2; exit 2; }
command -v mmdebstrap >/dev/null || { echo "test-deb.sh: needs mmdebstrap (apt-get install -y mmdebstrap; ./test.sh does)" >&2; exit 2; }

say() { echo "test-deb.sh: $*" >&2; }
fail() { echo "test-deb.sh: FAILED: $*" >&2; exit 1; }

# The Debian mirror this machine's apt uses for bookworm (deb822 .sources or one-line .list files).
mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN{RS=""; FS="\n"} {
      uris=""; suites=""
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); uris=$i }
        if ($i ~ /^Suites:/) { sub(/^Suites:[ \t]*/, "", $i); suites=" " $i " " }
      }
      if (suites ~ / bookworm / && uris != "") { split(uris, u, /[ \t]+/); print u[1]; exit }
    }' "$f"
  done | head -1
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/) { if ($(i+1) == "bookworm") print $i; break } }' "$f"
  done | head -1
}
url="$(mirror | head -1)"
[ -n "$url" ] || fail "no bookworm mirror in /etc/apt/sources.list.d/ or /etc/apt/sources.list"

include="fuse3,libfuse3-3,mount,systemd"
cache="${WEIGHTFS_TEST_CACHE:-/var/cache/weightfs-test}"
key="$(printf '%s\n' bookworm minbase "$include" "$url" "$(mmdebstrap --version 2>&1 | head -1)" | sha256sum | cut -c1-16)"
base="$cache/bookworm-minbase-$key.tar"
if [ ! -f "$base" ]; then
  say "making the chroot's base (cached as $base)"
  mkdir -p "$cache"
  # mmdebstrap picks the output's format by its name's ending: the partial file must end in .tar.
  partial="$cache/partial-$key-$$.tar"
  mmdebstrap --quiet --variant=minbase --include="$include" bookworm "$partial" "$url" >&2
  mv "$partial" "$base"
fi

if [ -z "$deb" ]; then
  deb="$("$here/build.sh" --out "$(mktemp -d)" "${jar_args[@]}" | tail -1)"
fi
[ -f "$deb" ] || fail "no package at $deb"

root="$(mktemp -d /tmp/weightfs-deb-chroot.XXXXXX)"
serve_pid=""
cleanup() {
  set +e
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  # Anything still mounted inside the chroot (deepest first): a FUSE mount, then /proc and /dev.
  awk -v r="$root" '$2 == r || index($2, r "/") == 1 {print $2}' /proc/self/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null
  done
  rm -rf --one-file-system "$root"
}
trap cleanup EXIT
tar -C "$root" -xf "$base"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --make-rslave "$root/dev"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }

cp "$deb" "$root/tmp/weightfs.deb"
say "installing $(basename "$deb")"
in_root dpkg -i /tmp/weightfs.deb >&2 || fail "dpkg -i"
in_root dpkg -L weightfs >"$root/tmp/files"
in_root weightfs --version | grep -q '^weightfs ' || fail "weightfs --version"
zcat "$root/usr/share/man/man1/weightfs.1.gz" | grep -q '^\.SH "WEIGHTFS BAKE"' || fail "the man page lacks weightfs bake"
[ -x "$root/sbin/mount.fuse.weightfs" ] || fail "no /sbin/mount.fuse.weightfs"
mkdir -p "$root/etc/weightfs"
cat >"$root/etc/weightfs/tiny.yaml" <<'YAML'
model_cache:
  - repo_id: acme/tiny
    volume_folder: tiny
YAML
in_root systemd-analyze verify --man=no weightfs@tiny.service >&2 || fail "systemd-analyze verify weightfs@tiny.service"

# A small repo, served from inside the chroot by the installed weightfs.
repo="$root/srv/repos/acme/tiny"
mkdir -p "$repo/nested"
printf '{"architectures": ["GPT2LMHeadModel"]}\n' >"$repo/config.json"
head -c $((9 * 1024 * 1024 + 7)) /dev/urandom >"$repo/model.safetensors"
printf 'x\n' >"$repo/nested/small.txt"
in_root weightfs serve --repos /srv/repos --port 0 --bind 127.0.0.1 >"$root/tmp/serve.log" 2>&1 &
serve_pid=$!
endpoint=""
for _ in $(seq 1 600); do
  endpoint="$(sed -n 's/^weightfs serve: listening on \(http:[^ ]*\) .*/\1/p' "$root/tmp/serve.log")"
  [ -n "$endpoint" ] && break
  kill -0 "$serve_pid" 2>/dev/null || fail "weightfs serve exited: $(cat "$root/tmp/serve.log")"
  sleep 0.1
done
[ -n "$endpoint" ] || fail "weightfs serve did not listen within 60 s: $(cat "$root/tmp/serve.log")"

mkdir -p "$root/mnt/tiny"
say "mount -t fuse.weightfs in the chroot (endpoint $endpoint)"
in_root mount -t fuse.weightfs /etc/weightfs/tiny.yaml /mnt/tiny \
  -o "store=/var/cache/weightfs,endpoint=$endpoint,allow_other,_netdev,nofail" >"$root/tmp/mount.out" 2>&1 \
  || fail "mount -t fuse.weightfs: $(cat "$root/tmp/mount.out")"
daemon="$(sed -n 's/.*(pid \([0-9]*\),.*/\1/p' "$root/tmp/mount.out")"
grep -q " $root/mnt/tiny fuse" /proc/self/mounts || fail "not mounted: $(cat "$root/tmp/mount.out")"
for f in config.json model.safetensors nested/small.txt; do
  want="$(sha256sum <"$repo/$f")"
  got="$(in_root sha256sum </dev/null "/mnt/tiny/tiny/$f" | cut -d' ' -f1)  -"
  [ "$want" = "$got" ] || fail "$f read through the mount differs: $got, want $want"
done
in_root umount /mnt/tiny || fail "umount"
grep -q " $root/mnt/tiny " /proc/self/mounts && fail "still mounted after umount"
if [ -n "$daemon" ]; then
  for _ in $(seq 1 300); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$daemon" 2>/dev/null && fail "the daemon (pid $daemon) did not exit after umount"
fi
kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true; serve_pid=""
[ -d "$root/var/cache/weightfs/blobs" ] || fail "the mount left no node store at /var/cache/weightfs"

say "dpkg -r, then dpkg --purge"
in_root dpkg -r weightfs >&2 || fail "dpkg -r"
left=""
while read -r p; do
  # Directories other packages share (/usr/bin, and /sbin or /lib, links to directories on a
  # merged-/usr system) stay; no file or link of ours may.
  if { [ -L "$root$p" ] || [ -e "$root$p" ]; } && [ ! -d "$root$p" ]; then left="$left $p"; fi
done <"$root/tmp/files"
[ -z "$left" ] || fail "dpkg -r left:$left"
for d in /usr/lib/weightfs /usr/share/doc/weightfs; do
  [ ! -e "$root$d" ] || fail "dpkg -r left $d"
done
in_root dpkg --purge weightfs >&2 || fail "dpkg --purge"
[ ! -e "$root/var/cache/weightfs" ] || fail "dpkg --purge left the node store /var/cache/weightfs"
if in_root dpkg -s weightfs >/dev/null 2>&1; then fail "dpkg still knows weightfs after --purge"; fi
say "OK: installed, --version, man page, unit verified, mounted with mount -t fuse.weightfs, read back, removed and purged"
