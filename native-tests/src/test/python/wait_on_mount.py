"""Calls the weightfs Python package the way model code does, and prints what happened as JSON.

    python3 wait_on_mount.py block TIMEOUT     # lazy_data_resolver.block_until_download_complete(timeout=TIMEOUT)
    python3 wait_on_mount.py status            # lazy_data_resolver.status()

The mount comes from WEIGHTFS_MOUNT, as in a truss container. Driven by PythonApiEndToEndTest.
"""

import json
import sys

import weightfs
from weightfs import lazy_data_resolver


def main():
    mode = sys.argv[1]
    try:
        if mode == "block":
            result = lazy_data_resolver.block_until_download_complete(timeout=float(sys.argv[2]))
            out = {"ok": {k: result[k] for k in ("complete", "files", "filesVerified", "bytesVerified")}}
        else:
            out = {"ok": lazy_data_resolver.status()}
    except weightfs.DownloadFailedError as e:
        out = {"raised": "DownloadFailedError", "failures": e.failures, "message": str(e)}
    except Exception as e:
        out = {"raised": type(e).__name__, "message": str(e)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
