"""The fsx module's contract lives in tests/modules/fsx_restore/ (the module's folder is
drorch/modules/fsx_restore, its type ``fsx``). This names it where the registry test looks
for a module's contract (tests/modules/<type>/test_contract.py) without running it twice:
pytest collects only ``Test*`` names."""

from tests.modules.fsx_restore.test_contract import TestFsxContract as FsxContract

__all__ = ["FsxContract"]
