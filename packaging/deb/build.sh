#!/usr/bin/env bash
# Builds the Debian package of weightfs with dpkg-deb:
#   /usr/lib/weightfs/{bin/weightfs, lib/weightfs.jar, lib/jvm.options, lib/weightfs.aot, runtime/}
#                                   the dist of packaging/runtime/build.sh (a jlink'ed Java 25 runtime)
#   /usr/bin/weightfs               -> ../lib/weightfs/bin/weightfs
#   /sbin/mount.fuse.weightfs       what mount(8) runs for -t fuse.weightfs (fstab)
#   /lib/systemd/system/weightfs@.service
#   /usr/share/man/man1/weightfs.1.gz, /usr/share/doc/weightfs/{copyright,changelog.gz,examples/}
# gzip, not xz: a third faster to build and to install, 15% larger. Depends: fuse3, libfuse3-3.
# Nothing under /etc: configs are the operator's (/etc/weightfs/NAME.yaml).
#
# Usage: packaging/deb/build.sh [--out DIR] [--dist DIR] [--no-aot]
#   --out DIR    where weightfs_<version>_amd64.deb goes (default packaging/target/deb); its path is
#                the last line printed
#   --dist DIR   package this dist instead of building one (packaging/runtime/build.sh's output)
#   --no-aot     build the dist without the AOT cache (faster; the daemon starts a little slower)
set -euo pipefail

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
packaging="$(cd "$here/.." && pwd)"
out="$packaging/target/deb"
dist=""
aot_flag=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --dist) dist="$2"; shift 2 ;;
    --no-aot) aot_flag=(--no-aot); shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "deb/build.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
command -v dpkg-deb >/dev/null || { echo "deb/build.sh: needs dpkg-deb (the dpkg package)" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/root"
if [ -z "$dist" ]; then
  dist="$work/dist"
  "$packaging/runtime/build.sh" --dest "$dist" "${aot_flag[@]}" >&2
fi
[ -x "$dist/bin/weightfs" ] && [ -f "$dist/lib/weightfs.jar" ] && [ -x "$dist/runtime/bin/java" ] \
  || { echo "deb/build.sh: $dist is not a weightfs dist (bin/weightfs, lib/weightfs.jar, runtime/)" >&2; exit 2; }

# "weightfs 0.1.0-SNAPSHOT, Java 25..." -> 0.1.0~SNAPSHOT (a snapshot sorts before its release).
upstream="$("$dist/bin/weightfs" --version | sed -n 's/^weightfs \([^ ,]*\).*/\1/p')"
[ -n "$upstream" ] || { echo "deb/build.sh: cannot read the version from $dist/bin/weightfs --version" >&2; exit 2; }
version="$(tr -- '-' '~' <<<"$upstream")-1"

mkdir -p "$root/usr/lib" "$root/usr/bin" "$root/sbin" "$root/lib/systemd/system" "$root/usr/share/man/man1" \
  "$root/usr/share/doc/weightfs/examples" "$root/DEBIAN"
cp -a "$dist" "$root/usr/lib/weightfs"
ln -s ../lib/weightfs/bin/weightfs "$root/usr/bin/weightfs"
install -m 0755 "$packaging/bin/mount.fuse.weightfs" "$root/sbin/mount.fuse.weightfs"
install -m 0644 "$packaging/systemd/weightfs@.service" "$root/lib/systemd/system/weightfs@.service"
install -m 0644 "$here/debian/example.yaml" "$root/usr/share/doc/weightfs/examples/example.yaml"
install -m 0644 "$here/debian/example.env" "$root/usr/share/doc/weightfs/examples/example.env"
install -m 0644 "$here/debian/copyright" "$root/usr/share/doc/weightfs/copyright"
printf 'weightfs (%s) unstable; urgency=medium\n\n  * Built from the weightfs sources; see CHANGELOG.md upstream.\n\n -- weightfs maintainers <weightfs@localhost>  %s\n' \
  "$version" "$(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}")" | gzip -9n >"$root/usr/share/doc/weightfs/changelog.Debian.gz"
"$here/manpage.sh" "$dist/bin/weightfs" "$upstream" | gzip -9n >"$root/usr/share/man/man1/weightfs.1.gz"
chmod -R u=rwX,go=rX "$root"
chmod 0755 "$root/usr/lib/weightfs/bin/weightfs" "$root/sbin/mount.fuse.weightfs"

for s in postinst prerm postrm; do
  install -m 0755 "$here/debian/$s" "$root/DEBIAN/$s"
done
installed_kb="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
sed -e "s/@VERSION@/$version/" -e "s/@INSTALLED_SIZE@/$installed_kb/" "$here/debian/control" >"$root/DEBIAN/control"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print0 | sort -z | xargs -0 md5sum | sed 's| \./| |') >"$root/DEBIAN/md5sums"

mkdir -p "$out"
deb="$out/weightfs_${version}_amd64.deb"
dpkg-deb --root-owner-group -Zgzip --build "$root" "$deb" >&2
echo "deb/build.sh: $deb ($(du -h "$deb" | cut -f1), installed $((installed_kb / 1024)) MiB)" >&2
echo "$deb"
