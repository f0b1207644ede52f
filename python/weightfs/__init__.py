"""Wait for a weightfs mount from model code, with the shape truss users know.

    from weightfs import lazy_data_resolver
    lazy_data_resolver.block_until_download_complete(timeout=600)

Everything here reads the mount's control files, ``MOUNT/.weightfs/wait`` (a read blocks until every
file is local and verified, then says ``complete: N files verified`` or ``failed: a, b``) and
``MOUNT/.weightfs/status.json``; no daemon API and no dependency is needed.
"""

from ._mount import (
    DEFAULT_MOUNT,
    DownloadFailedError,
    LazyDataResolver,
    MountNotFoundError,
    WeightfsError,
    block_until_download_complete,
    mount_point,
    status,
)
from . import lazy_data_resolver

__all__ = [
    "DEFAULT_MOUNT",
    "DownloadFailedError",
    "LazyDataResolver",
    "MountNotFoundError",
    "WeightfsError",
    "block_until_download_complete",
    "lazy_data_resolver",
    "mount_point",
    "status",
]
__version__ = "0.1.0"
