#!/usr/bin/env bash
# Makes (once) a Python virtual environment with exactly the given requirements, for the native
# tests that drive real Hugging Face clients:
#
#   ensure-venv.sh DIR REQUIREMENT...      e.g. ensure-venv.sh target/venvs/hub-1.33.0 huggingface_hub==1.33.0
#
# A venv whose marker file lists the same requirements is reused as it is (a second run installs
# nothing), so DIR should be keyed by the versions. Packages come from pip's configured index, with
# its first extra index as the index (this machine image's local wheelhouse) so that pip never waits
# on an unreachable default index. Prints the venv's python on the last line.
set -euo pipefail
dir="$1"; shift
marker="$dir/.weightfs-requirements"
want="$(printf '%s\n' "$@")"
if [ -x "$dir/bin/python" ] && [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ]; then
  echo "$dir/bin/python"
  exit 0
fi
rm -rf "$dir"
mkdir -p "$(dirname "$dir")"
if ! python3 -m venv "$dir" 2>/dev/null; then
  echo "ensure-venv: python3 -m venv failed; install python3-venv (apt-get install -y python3-venv)" >&2
  exit 2
fi
index=()
extra="$(pip3 config get global.extra-index-url 2>/dev/null | awk '{print $1}' || true)"
[ -n "$extra" ] && index=(--index-url "$extra")
"$dir/bin/python" -m pip install -q --disable-pip-version-check --no-input "${index[@]}" "$@" >&2
printf '%s\n' "$want" >"$marker"
echo "$dir/bin/python"
