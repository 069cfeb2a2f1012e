"""The ``http-check`` health check (see ``adapter``)."""

from drorch.modules.http_check.adapter import HttpCheck

MODULE = HttpCheck()

__all__ = ["MODULE", "HttpCheck"]
