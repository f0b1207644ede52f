"""``truss-transfer-cli [download_dir]``: the eager fetch a custom server (vLLM, TEI, sglang) runs
before it starts, as truss's own ``truss-transfer-cli`` does.

Reads the truss config (``$TRUSS_CONFIG``, default ``/app/config.yaml``), downloads every file of its
``model_cache``/``weights`` entries into ``download_dir`` (default ``/app/model_cache``) with
``weightfs fetch``, and returns once every file is verified. Runs ``$WEIGHTFS_BIN``, else ``weightfs``
on ``PATH``. Exit status: weightfs fetch's (0 verified, 1 a file failed, 2 a bad config), or 2 when
weightfs itself cannot be found.
"""

import os
import shutil
import subprocess
import sys
from typing import List, Optional

DEFAULT_CONFIG = "/app/config.yaml"
DEFAULT_DOWNLOAD_DIR = "/app/model_cache"

USAGE = """usage: truss-transfer-cli [download_dir]

Downloads every file of the truss config's model_cache/weights entries into download_dir
(default {dir}) and exits once each one is verified.
  TRUSS_CONFIG   the config (default {config})
  WEIGHTFS_BIN   the weightfs command (default: weightfs on PATH)
""".format(dir=DEFAULT_DOWNLOAD_DIR, config=DEFAULT_CONFIG)


def command(download_dir: str, config: str, weightfs: str) -> List[str]:
    """The weightfs command line that does the work."""
    return [weightfs, "fetch", "--config", config, "--dest", download_dir]


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0
    if len(args) > 1:
        print("truss-transfer-cli: takes at most one argument, the download folder\n" + USAGE, file=sys.stderr, end="")
        return 2
    download_dir = args[0] if args else DEFAULT_DOWNLOAD_DIR
    config = os.environ.get("TRUSS_CONFIG") or DEFAULT_CONFIG
    if not os.path.isfile(config):
        print(
            "truss-transfer-cli: the truss config {} does not exist; set TRUSS_CONFIG to your config.yaml".format(config),
            file=sys.stderr,
        )
        return 2
    weightfs = os.environ.get("WEIGHTFS_BIN") or shutil.which("weightfs")
    if not weightfs:
        print(
            "truss-transfer-cli: cannot find the weightfs command: put it on PATH or set WEIGHTFS_BIN",
            file=sys.stderr,
        )
        return 2
    try:
        return subprocess.call(command(download_dir, config, weightfs))
    except OSError as e:
        print("truss-transfer-cli: cannot run {}: {}".format(weightfs, e), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
