#!/usr/bin/env bash
# Writes weightfs(1) in roff to stdout, made from the command's own --help texts (so the page never
# drifts from the program) plus the deployment notes that --help has no room for.
# Usage: packaging/deb/manpage.sh WEIGHTFS_COMMAND VERSION
set -euo pipefail
weightfs="$1"
version="$2"
commands="mount umount wait status fetch bake serve gc demo"

# Roff-safe literal text: backslashes doubled, a leading dot or quote escaped.
lit() { sed -e 's/\\/\\\\/g' -e "s/^\([.']\)/\\\\\&\1/"; }

cat <<ROFF
.TH WEIGHTFS 1 "" "weightfs $version" "User Commands"
.SH NAME
weightfs \\- lazy, verified read-only filesystem of Hugging Face model repos
.SH SYNOPSIS
.B weightfs mount
.RI "--config " FILE " [" OPTIONS "] " MOUNTPOINT
.br
.B weightfs umount
.I MOUNTPOINT
.br
.B weightfs bake
.RI "--config " FILE " --dest " DIR
.br
.B mount -t fuse.weightfs
.I CONFIG MOUNTPOINT
.RI "[-o " OPTIONS ]
.br
.B systemctl enable --now weightfs@\\fINAME\\fP
.SH DESCRIPTION
.nf
ROFF
"$weightfs" --help | lit
echo ".fi"
for c in $commands; do
  echo ".SH \"WEIGHTFS $(tr a-z A-Z <<<"$c")\""
  echo ".nf"
  "$weightfs" "$c" --help | lit
  echo ".fi"
done
cat <<'ROFF'
.SH FSTAB
A line of type fuse.weightfs mounts at boot; the source is the config file, the options map onto
the flags of weightfs mount (store=, endpoint=, secrets_dir=, shared=, namespace=, connections=,
fuse=, verify=, read_timeout=, block_size=, store_max_size=, store_min_free=, read_ahead_kb=,
hf_cache=, metrics=, baked=, allow_other, no_prefetch); _netdev, nofail, noauto, defaults, ro and
the other generic options are accepted and ignored. Without store= the node store is
/var/cache/weightfs.
.PP
.nf
/etc/weightfs/llama.yaml  /app/model_cache  fuse.weightfs  store=/var/cache/weightfs,allow_other,_netdev,nofail  0 0
.fi
.SH SYSTEMD
weightfs@NAME.service mounts /etc/weightfs/NAME.yaml at /srv/weightfs/NAME (Type=notify: it is
active once the mount answers). /etc/weightfs/NAME.env may set MOUNTPOINT, WEIGHTFS_STORE and
WEIGHTFS_MOUNT_OPTS. Stopping the unit unmounts.
.SH FILES
.TP
.I /etc/weightfs/NAME.yaml
configs of weightfs@NAME.service (examples in /usr/share/doc/weightfs/examples/)
.TP
.I /var/cache/weightfs
the node store of the unit and of fstab mounts (removed by dpkg --purge)
.TP
.I /usr/lib/weightfs
the program, its JVM options (lib/jvm.options) and its own Java runtime
.SH EXIT STATUS
0 success; 1 the job failed; 2 bad usage or a bad config.
ROFF
