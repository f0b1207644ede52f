"""``lazy_data_resolver``, as truss model code calls it:

    from weightfs import lazy_data_resolver
    lazy_data_resolver.block_until_download_complete(timeout=600)
    lazy_data_resolver.status()

The functions act on the mount named by ``$WEIGHTFS_MOUNT`` (default ``/app/model_cache``) unless
given ``mount=``; ``weightfs.LazyDataResolver(mount)`` is the same as an object, for code that is
handed a resolver.
"""

from ._mount import block_until_download_complete, status

__all__ = ["block_until_download_complete", "status"]
