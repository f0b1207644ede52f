#!/usr/bin/env bash
# Builds the self-contained weightfs distribution that every package uses:
#
#   packaging/target/dist/
#     bin/weightfs        the launcher (packaging/bin/weightfs); prefers ../runtime/bin/java
#     lib/weightfs.jar    the runnable jar (mount-cli)
#     lib/jvm.options     every JVM option, read by the launcher as java's @argfile
#     runtime/            a jlink'ed Java 25 runtime with only the modules weightfs needs
#
#     lib/weightfs.aot    the JDK 25 AOT cache from a training mount (packaging/runtime/train-aot.sh)
#
# Usage: packaging/runtime/build.sh [--dest DIR] [--jar JAR] [--no-aot]
#   --dest DIR   where the dist goes (default packaging/target/dist); replaced if it exists
#   --jar JAR    use this jar instead of mount-cli/target/weightfs.jar (built with Maven when
#                missing or older than the sources; extra Maven arguments in $WEIGHTFS_MVN_ARGS)
#   --no-aot     no AOT cache (the launcher then starts from the runtime's default CDS archive)
# Needs a JDK 25 (jlink, jdeps): $WEIGHTFS_JAVA_HOME, $JAVA_HOME or /usr/lib/jvm/temurin-25*.
set -euo pipefail

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
packaging="$(cd "$here/.." && pwd)"
root="$(cd "$packaging/.." && pwd)"
dest="$packaging/target/dist"
jar=""
aot=1
while [ $# -gt 0 ]; do
  case "$1" in
    --dest) dest="$2"; shift 2 ;;
    --jar) jar="$2"; shift 2 ;;
    --no-aot) aot=""; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

jdk=""
for home in "${WEIGHTFS_JAVA_HOME:-}" "${JAVA_HOME:-}" /usr/lib/jvm/temurin-2[5-9]* /usr/lib/jvm/java-2[5-9]* /usr/lib/jvm/jdk-2[5-9]*; do
  [ -n "$home" ] && [ -x "$home/bin/jlink" ] && [ -x "$home/bin/jdeps" ] || continue
  v="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release" 2>/dev/null)"
  if [ -n "$v" ] && [ "$v" -ge 25 ] 2>/dev/null; then jdk="$home"; break; fi
done
if [ -z "$jdk" ]; then
  echo "build.sh: needs a JDK 25 with jlink and jdeps (looked at \$WEIGHTFS_JAVA_HOME, \$JAVA_HOME, /usr/lib/jvm/temurin-25*)" >&2
  exit 2
fi

if [ -z "$jar" ]; then
  jar="$root/mount-cli/target/weightfs.jar"
  if [ ! -f "$jar" ] || [ -n "$(find "$root/daemon/src/main" "$root/mount-cli/src/main" "$root/pom.xml" "$root/daemon/pom.xml" "$root/mount-cli/pom.xml" -newer "$jar" -print -quit 2>/dev/null)" ]; then
    echo "build.sh: building the jar with Maven" >&2
    # shellcheck disable=SC2086
    (cd "$root" && JAVA_HOME="$jdk" mvn -q -B -DskipTests ${WEIGHTFS_MVN_ARGS:-} -pl mount-cli -am install) >&2
  fi
fi
[ -f "$jar" ] || { echo "build.sh: no jar at $jar" >&2; exit 2; }

# The modules: what jdeps finds, less the ones only annotations reach. Error Prone's annotations
# (@RequiredModifiers, @IncompatibleModifiers, shipped inside Guava-style dependencies) name
# javax.lang.model.element.Modifier, which puts java.compiler on jdeps' list; annotations are never
# resolved unless something reads them reflectively, and nothing in weightfs does, so that module
# is left out when annotation classes are its only users. Any other user keeps it in.
deps="$("$jdk/bin/jdeps" --multi-release 25 --ignore-missing-deps -verbose:class "$jar" 2>/dev/null)"
all="$("$jdk/bin/jdeps" --multi-release 25 --ignore-missing-deps --print-module-deps "$jar")"
modules=""
for m in ${all//,/ }; do
  users="$(awk -v m="$m" '$NF == m && $1 != "weightfs.jar" {print $1}' <<<"$deps" | sort -u)"
  others="$(grep -v '^com\.google\.errorprone\.annotations\.' <<<"$users" || true)"
  if [ "$m" != java.base ] && [ -n "$users" ] && [ -z "$others" ]; then
    echo "build.sh: leaving out $m (only annotations use it: $(tr '\n' ' ' <<<"$users"))" >&2
    continue
  fi
  modules="${modules:+$modules,}$m"
done
echo "build.sh: modules $modules" >&2

rm -rf "$dest"
mkdir -p "$dest/bin" "$dest/lib"
# --generate-cds-archive gives the runtime its default CDS archive (lib/server/classes.jsa), which a
# jlink'ed image otherwise lacks: without it every start loads and verifies the JDK's classes anew.
"$jdk/bin/jlink" --add-modules "$modules" --output "$dest/runtime" \
  --strip-debug --no-man-pages --no-header-files --compress=zip-6 --generate-cds-archive >/dev/null
# The archive for uncompressed oops only serves heaps of 32 GiB and more; jvm.options caps the heap
# at 384 MiB, so it would never be used (14 MiB).
rm -f "$dest/runtime/lib/server/classes_nocoops.jsa"
install -m 0755 "$packaging/bin/weightfs" "$dest/bin/weightfs"
install -m 0644 "$jar" "$dest/lib/weightfs.jar"
install -m 0644 "$packaging/jvm.options" "$dest/lib/jvm.options"

[ -z "$aot" ] || "$here/train-aot.sh" "$dest"

# The dist must run: the runtime, the options, the jar (and the AOT cache) together.
version="$("$dest/bin/weightfs" --version)"
echo "build.sh: $version in $dest (runtime $(du -sh "$dest/runtime" | cut -f1), total $(du -sh "$dest" | cut -f1))" >&2
