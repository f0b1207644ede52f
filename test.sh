#!/usr/bin/env bash
# Runs every test: unit tests, then the native tests (real server processes, real mounts).
# Installs what the tests need (FUSE, Node.js, GlusterFS...) on a fresh Debian machine of this project's kind and says exactly
# what is missing otherwise. Extra arguments go to Maven (e.g. ./test.sh -pl daemon).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

need_apt=()
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
# The real-client tests make Python venvs (huggingface_hub, transformers, torch) under native-tests/target/venvs/.
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  need_apt+=(python3-venv)
fi
# The native tests mount real FUSE filesystems with both bindings: libfuse3 (jfuse) and libfuse2 (jnr-fuse).
command -v fusermount3 >/dev/null 2>&1 || need_apt+=(fuse3)
ldconfig -p 2>/dev/null | grep -q 'libfuse3\.so\.3 ' || need_apt+=(libfuse3-3)
ldconfig -p 2>/dev/null | grep -q 'libfuse\.so\.2 ' || need_apt+=(libfuse2)
# The metrics test checks each scrape with promtool, from Debian's prometheus package (installed below, apart).
need_promtool=""
command -v promtool >/dev/null 2>&1 || need_promtool=prometheus
# The shared tier's end-to-end scenarios also run on a real GlusterFS volume (two client mounts).
{ command -v glusterd && command -v gluster && [ -x /usr/sbin/mount.glusterfs ]; } >/dev/null 2>&1 || need_apt+=(glusterfs-server glusterfs-client)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing ${need_apt[*]}" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "test.sh: missing ${need_apt[*]}; install them (apt-get install -y ${need_apt[*]}) and run again" >&2
    exit 2
  fi
fi

if [ -n "$need_promtool" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing prometheus (for promtool)" >&2
    # Only promtool is wanted: the package's own Prometheus server (on :9090) must not start. A
    # policy-rc.d that answers 101 is Debian's way to say so; one made here is removed again.
    policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      policy=/usr/sbin/policy-rc.d
      trap 'rm -f "$policy"' EXIT
      printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
    fi
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
    if [ -n "$policy" ]; then rm -f "$policy"; trap - EXIT; fi
  else
    echo "test.sh: missing promtool; install it (apt-get install -y --no-install-recommends prometheus) and run again" >&2
    exit 2
  fi
fi

java_home=""
for home in "${WEIGHTFS_JAVA_HOME:-}" "${JAVA_HOME:-}" /usr/lib/jvm/temurin-2[5-9]* /usr/lib/jvm/java-2[5-9]*; do
  [ -n "$home" ] && [ -x "$home/bin/java" ] || continue
  v="$("$home/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  if [ -n "$v" ] && [ "${v%%.*}" -ge 25 ] 2>/dev/null; then java_home="$home"; break; fi
done
if [ -z "$java_home" ]; then
  echo "test.sh: needs a JDK 25 and found none (looked at \$JAVA_HOME and /usr/lib/jvm/temurin-25*);" >&2
  echo "  install Temurin 25 and set JAVA_HOME to it" >&2
  exit 2
fi
export JAVA_HOME="$java_home"
echo "test.sh: JAVA_HOME=$JAVA_HOME" >&2

mvn -B -ntp verify "$@"

# The container image, the Kubernetes sidecar manifest and the Debian package, for real (podman kube play, FUSE, mount
# propagation): after a full Maven run only (no arguments), as root. It installs and configures
# podman itself; the image's root file system and the image are cached by their inputs' hash
# (/var/cache/weightfs-build, podman's image store), so a run with an unchanged rootfs recipe only
# rebuilds the dist (~1 min) and re-adds it. WEIGHTFS_SKIP_CONTAINER_TESTS=1 skips it.
if [ $# -eq 0 ] && [ -z "${WEIGHTFS_SKIP_CONTAINER_TESTS:-}" ]; then
  if [ "$(id -u)" = 0 ] && [ -e /dev/fuse ] && command -v apt-get >/dev/null 2>&1; then
    packaging/container/test-container.sh
    # The Debian package, built from the dist the image was made of, installed and removed in a
    # fresh Debian 12 chroot (its base tarball cached by its inputs' hash in /var/cache/weightfs-test).
    deb="$(packaging/deb/build.sh --dist packaging/target/dist | tail -n 1)"
    packaging/deb/test-deb.sh --deb "$deb"
  else
    echo "test.sh: SKIPPED the container test: it needs root, /dev/fuse and apt-get" >&2
  fi
fi
