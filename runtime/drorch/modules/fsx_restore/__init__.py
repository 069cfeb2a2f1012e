"""The fsx module: FSx file systems restored from backups (see ``adapter``)."""

from drorch.modules.fsx_restore.adapter import DISRUPTIVE_CALLS, RESOURCE_TYPE, FsxModule

MODULE = FsxModule()

__all__ = ["DISRUPTIVE_CALLS", "MODULE", "FsxModule", "RESOURCE_TYPE"]
