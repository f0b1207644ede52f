#!/usr/bin/env bash
# Installs and configures rootful podman + buildah for weightfs's image build and container tests on
# a Debian bookworm machine of this project's kind (a VM without systemd). Idempotent: run it as often
# as you like; it changes nothing once everything is in place. Needs root and apt-get.
#
# What it does, and why (measured on this kind of machine):
#  - installs podman, runc, buildah, mmdebstrap, catatonit (and uidmap, which podman wants for
#    --userns); crun, Debian's default runtime, fails here ("cgroups in hybrid mode not supported").
#  - /etc/containers/containers.conf: runtime = "runc" and cgroup_manager = "cgroupfs" (no systemd),
#    events_logger = "file" (no journald), and default_ulimits that the VM accepts: podman's
#    default nofile is more than this VM's hard limit, and every container start fails with it.
# A containers.conf not written by this script is left alone: the script says what it needs and fails.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "setup-podman.sh: needs root (rootful podman: FUSE mounts in a privileged container)" >&2
  exit 2
fi

need=()
for tool in podman runc buildah mmdebstrap catatonit newuidmap; do
  command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if [ ${#need[@]} -gt 0 ]; then
  pkgs=(podman runc buildah mmdebstrap catatonit uidmap)
  echo "setup-podman.sh: installing ${pkgs[*]}" >&2
  apt-get update -qq
  # No recommends: they would pull crun (which fails here), slirp4netns and fuse-overlayfs, none of
  # which rootful podman with host networking needs.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi

nofile="$(ulimit -Hn)"
[ "$nofile" = unlimited ] && nofile=1048576
marker="# written by weightfs packaging/container/setup-podman.sh"
conf=/etc/containers/containers.conf
want="$marker
[containers]
# The VM's hard limits are below podman's defaults, which makes every container start fail.
default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=32768:32768\"]

[engine]
# crun fails on this machine (\"cgroups in hybrid mode not supported\"); runc works.
runtime = \"runc\"
# No systemd here: cgroups are managed through cgroupfs, events go to a file, not journald.
cgroup_manager = \"cgroupfs\"
events_logger = \"file\""
mkdir -p /etc/containers
if [ -f "$conf" ] && ! head -1 "$conf" | grep -qF "$marker"; then
  for key in 'runtime *= *"runc"' 'cgroup_manager *= *"cgroupfs"' 'default_ulimits'; do
    if ! grep -qE "^ *$key" "$conf"; then
      echo "setup-podman.sh: $conf exists and was not written by this script; it needs:" >&2
      printf '%s\n' "$want" | sed 1d >&2
      exit 2
    fi
  done
elif [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then
  printf '%s\n' "$want" >"$conf"
  echo "setup-podman.sh: wrote $conf" >&2
fi

# A quick check that podman works at all with that configuration (no image needed).
if ! out="$(podman info --format '{{.Host.OCIRuntime.Name}} {{.Host.CgroupManager}}' 2>&1)"; then
  echo "setup-podman.sh: podman info failed: $out" >&2
  exit 1
fi
echo "setup-podman.sh: podman $(podman version --format '{{.Client.Version}}') ready ($out)" >&2
