"""The control files of a weightfs mount, read from Python (the format is weightfs's, not ours)."""

import json
import os
import time
from typing import Dict, Optional, Union

DEFAULT_MOUNT = "/app/model_cache"
CONTROL_DIR = ".weightfs"
WAIT_FILE = "wait"
STATUS_FILE = "status.json"
_COMPLETE = "complete:"
_FAILED = "failed:"
# How often a wait with a timeout looks at status.json: a small file, rendered in memory by the
# daemon, so four looks a second cost nothing and add at most a quarter second to the wait.
POLL_SECONDS = 0.25

PathLike = Union[str, "os.PathLike[str]"]


class WeightfsError(Exception):
    """Base class of everything this package raises (besides ``TimeoutError``)."""


class MountNotFoundError(WeightfsError, FileNotFoundError):
    """The folder is not a weightfs mount (it has no ``.weightfs/`` control folder)."""


class DownloadFailedError(WeightfsError):
    """Some files could not be fetched and verified.

    ``failures`` maps each failed file (its path in the mount) to why it failed.
    """

    def __init__(self, mount: str, failures: Dict[str, str]):
        self.mount = mount
        self.failures = dict(failures)
        lines = "".join("\n  {}: {}".format(path, why) for path, why in sorted(self.failures.items()))
        super().__init__("{} of the files in the weightfs mount {} failed:{}".format(len(self.failures), mount, lines))


def mount_point(mount: Optional[PathLike] = None) -> str:
    """The mount to use: ``mount``, else ``$WEIGHTFS_MOUNT``, else ``/app/model_cache``."""
    if mount is not None:
        return os.fspath(mount)
    return os.environ.get("WEIGHTFS_MOUNT") or DEFAULT_MOUNT


def _control(mount: str, name: str) -> str:
    control = os.path.join(mount, CONTROL_DIR)
    if not os.path.isdir(control):
        raise MountNotFoundError(
            "{} is not a weightfs mount (no {} folder): start `weightfs mount` there, or pass mount= or set"
            " WEIGHTFS_MOUNT to the mount point".format(mount, CONTROL_DIR)
        )
    return os.path.join(control, name)


def status(mount: Optional[PathLike] = None) -> dict:
    """The mount's progress, parsed from ``.weightfs/status.json``.

    Keys include ``complete``, ``done``, ``files``, ``filesVerified``, ``bytes``, ``bytesPresent``,
    ``bytesVerified``, ``failed`` (paths) and ``fileStatus`` (per file: ``path``, ``size``,
    ``present``, ``verified``, and ``error`` for a file that failed).
    """
    where = mount_point(mount)
    with open(_control(where, STATUS_FILE), "rb") as f:
        return json.loads(f.read().decode("utf-8"))


def block_until_download_complete(
    timeout: Optional[float] = None,
    mount: Optional[PathLike] = None,
    *,
    timeout_seconds: Optional[float] = None,
) -> dict:
    """Blocks until every file of the mount is local and verified; returns the final status.

    Raises ``DownloadFailedError`` naming each failed file and why, ``TimeoutError`` when
    ``timeout`` seconds (or ``timeout_seconds``, the truss spelling) pass first, and
    ``MountNotFoundError`` when the folder is not a weightfs mount. ``None`` waits for as long as it
    takes.
    """
    if timeout is None:
        timeout = timeout_seconds
    if timeout is not None and timeout < 0:
        raise ValueError("timeout must be >= 0 seconds, got {}".format(timeout))
    where = mount_point(mount)
    wait_file = _control(where, WAIT_FILE)
    if timeout is not None:
        # A read of the wait file cannot be given up on: a thread left blocked in it would hold up
        # the interpreter's exit until the fill ends. So, with a timeout, poll status.json's "done"
        # and read the wait file (then answered at once) only when it is.
        deadline = time.monotonic() + timeout
        while not status(where).get("done", False):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(
                    "the weightfs mount {} was not complete after {} s (see {} for progress)".format(
                        where, timeout, os.path.join(where, CONTROL_DIR, STATUS_FILE)
                    )
                )
            time.sleep(min(POLL_SECONDS, left))
    try:
        with open(wait_file, "rb") as f:
            outcome = f.read().decode("utf-8", "replace")
    except OSError as e:
        raise WeightfsError("reading {} failed: {}".format(wait_file, e)) from e
    text = outcome.strip()
    if text.startswith(_COMPLETE):
        return status(where)
    if text.startswith(_FAILED):
        # status.json names each failed file with its reason; the wait line ("failed: PATH (why), ...")
        # cannot be split safely, since a reason may hold commas itself.
        failures = {}
        try:
            for f in status(where).get("fileStatus", []):
                if "error" in f:
                    failures[f["path"]] = f["error"]
        except (OSError, ValueError):
            pass
        if not failures:
            failures = {text[len(_FAILED):].strip(): "failed"}  # no file named: the mount as a whole (a full store)
        raise DownloadFailedError(where, failures)
    raise WeightfsError("unexpected answer from {}: {!r}".format(wait_file, text))


class LazyDataResolver:
    """The same functions bound to one mount, for code that is handed a resolver object."""

    def __init__(self, mount: Optional[PathLike] = None):
        self.mount = mount_point(mount)

    def block_until_download_complete(self, timeout: Optional[float] = None, *, timeout_seconds: Optional[float] = None) -> dict:
        return block_until_download_complete(timeout, self.mount, timeout_seconds=timeout_seconds)

    def status(self) -> dict:
        return status(self.mount)

    def __repr__(self) -> str:
        return "LazyDataResolver({!r})".format(self.mount)
