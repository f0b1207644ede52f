#!/usr/bin/env bash
# Builds the weightfs container image, localhost/weightfs:<version> (and :latest), without any image
# registry:
#   1. a Debian bookworm root file system: mmdebstrap --variant=minbase with fuse3, libfuse3-3,
#      libfuse2 (for --fuse jnr), ca-certificates and catatonit, from the Debian mirror this
#      machine's apt sources use (read from /etc/apt/sources.list.d/ and /etc/apt/sources.list at
#      run time); no documentation, no apt package lists or caches;
#   2. the dist (packaging/runtime/build.sh: runtime, jar, launcher, AOT cache);
#   3. buildah bud of packaging/container/Containerfile (FROM scratch + ADD rootfs.tar + the dist).
# Both are cached by their inputs' hash: the root file system in $WEIGHTFS_BUILD_CACHE (default
# /var/cache/weightfs-build), the image by its label io.weightfs.inputs; an unchanged input set
# rebuilds nothing. Prints the image's name on stdout as its last line.
#
# Usage: packaging/container/build.sh [--dist DIR] [--no-cache]
#   --dist DIR    use this dist instead of building packaging/target/dist
#   --no-cache    rebuild the root file system and the image even if cached
# Needs root, mmdebstrap, buildah, podman (packaging/container/setup-podman.sh installs them).
set -euo pipefail

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
packaging="$(cd "$here/.." && pwd)"
dist=""
use_cache=1
while [ $# -gt 0 ]; do
  case "$1" in
    --dist) dist="$2"; shift 2 ;;
    --no-cache) use_cache=""; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "container/build.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for tool in mmdebstrap buildah podman; do
  command -v "$tool" >/dev/null 2>&1 || { echo "container/build.sh: needs $tool (run packaging/container/setup-podman.sh)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "container/build.sh: needs root (mmdebstrap, rootful buildah)" >&2; exit 2; }

packages="fuse3,libfuse3-3,libfuse2,ca-certificates,catatonit"
cache="${WEIGHTFS_BUILD_CACHE:-/var/cache/weightfs-build}"
mkdir -p "$cache"

# The apt sources for bookworm, as one-line entries, from this machine's own configuration
# (deb822 .sources stanzas and one-line .list files), so the image comes from the same mirror.
sources() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && enabled != "no" && uris != "")
          for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++)
            if (s[j] ~ /^bookworm/) printf "deb %s %s %s\n", u[i], s[j], comps
        types = ""; uris = ""; suites = ""; comps = "main"; enabled = ""; nu = 0; ns = 0
      }
      BEGIN { comps = "main" }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      { key = tolower($1); sub(/:$/, "", key); val = $0; sub(/^[^:]*:[ \t]*/, "", val) }
      key == "types" { types = val }
      key == "uris" { uris = val; nu = split(val, u, /[ \t]+/) }
      key == "suites" { suites = val; ns = split(val, s, /[ \t]+/) }
      key == "components" { comps = val }
      key == "enabled" { enabled = tolower(val) }
      END { flush() }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # "deb [options] URI SUITE COMPONENTS...": keep bookworm's, drop the options.
    sed -n 's/^[ \t]*deb[ \t]\+\(\[[^]]*\][ \t]\+\)\{0,1\}\([^ \t]\+\)[ \t]\+\(bookworm[^ \t]*\)[ \t]\+\(.*\)$/deb \2 \3 \4/p' "$f"
  done
}
apt_sources="$(sources | sort -u)"
if [ -z "$apt_sources" ]; then
  echo "container/build.sh: found no bookworm apt source in /etc/apt/sources.list{,.d/}" >&2
  exit 2
fi

# 1. The root file system, cached by the sources, the packages and this script's rootfs recipe.
recipe="mmdebstrap minbase bookworm $packages merged-usr-hook nodoc-v1"
rootfs_key="$(printf '%s\n%s\n' "$recipe" "$apt_sources" | sha256sum | cut -c1-16)"
rootfs="$cache/rootfs-$rootfs_key.tar"
if [ -z "$use_cache" ] || [ ! -s "$rootfs" ]; then
  echo "container/build.sh: making the root file system ($packages) with mmdebstrap" >&2
  tmp="$cache/rootfs-$rootfs_key.partial.tar"  # mmdebstrap picks the format from the name
  rm -f "$tmp"
  # path-exclude keeps documentation, man pages and translations out (copyright files stay);
  # the customize hook removes apt's package lists and caches, which mmdebstrap leaves empty
  # anyway, and checks that no compiler slipped in.
  # The merged-usr hook sets up merged /usr itself and installs usr-is-merged; without it apt
  # satisfies init-system-helpers' dependency with usrmerge, which pulls in all of perl (40 MiB).
  printf '%s\n' "$apt_sources" | mmdebstrap --variant=minbase --include="$packages" \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/apt/* "$1"/var/log/dpkg.log' \
    --customize-hook='for c in gcc cc c++ g++ clang; do if [ -e "$1/usr/bin/$c" ]; then echo "compiler $c in the rootfs" >&2; exit 1; fi; done' \
    --quiet bookworm "$tmp" - >&2
  mv "$tmp" "$rootfs"
  # Old root file systems of other inputs are of no use.
  find "$cache" -maxdepth 1 -name 'rootfs-*.tar' ! -name "rootfs-$rootfs_key.tar" -delete
fi

# 2. The dist.
if [ -z "$dist" ]; then
  "$packaging/runtime/build.sh" >&2
  dist="$packaging/target/dist"
fi
dist="$(cd "$dist" && pwd)"
version="$("$dist/bin/weightfs" --version | sed -n 's/^weightfs \([^ ,]*\).*/\1/p')"
[ -n "$version" ] || { echo "container/build.sh: cannot read the version from $dist" >&2; exit 1; }

# 3. The image, cached by everything that goes into it.
inputs="$( { echo "$rootfs_key"; sha256sum "$here/Containerfile"; (cd "$dist" && find . -type f -print0 | sort -z | xargs -0 sha256sum); } | sha256sum | cut -c1-16)"
image="localhost/weightfs:$version"
if [ -n "$use_cache" ] && podman image exists "$image" \
   && [ "$(podman image inspect --format '{{index .Labels "io.weightfs.inputs"}}' "$image" 2>/dev/null)" = "$inputs" ]; then
  echo "container/build.sh: $image is up to date (inputs $inputs)" >&2
else
  ctx="$(mktemp -d /tmp/weightfs-image.XXXXXX)"
  trap 'rm -rf "$ctx"' EXIT
  ln "$rootfs" "$ctx/rootfs.tar" 2>/dev/null || cp "$rootfs" "$ctx/rootfs.tar"
  cp -a "$dist" "$ctx/dist"
  cp "$here/Containerfile" "$ctx/Containerfile"
  echo "container/build.sh: building $image" >&2
  buildah bud --quiet --layers=false --label "io.weightfs.inputs=$inputs" \
    --label "org.opencontainers.image.version=$version" --label "org.opencontainers.image.title=weightfs" \
    -t "$image" -t localhost/weightfs:latest -f "$ctx/Containerfile" "$ctx" >&2
  rm -rf "$ctx"
  trap - EXIT
fi
size="$(podman image inspect --format '{{.Size}}' "$image")"
echo "container/build.sh: $image, $((size / 1024 / 1024)) MiB (inputs $inputs)" >&2
echo "$image"
