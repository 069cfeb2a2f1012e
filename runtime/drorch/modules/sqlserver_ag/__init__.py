"""The sqlserver-ag module: SQL Server Always On availability groups (see ``adapter``)."""

from drorch.modules.sqlserver_ag.adapter import DISRUPTIVE_CALLS, RESOURCE_TYPE, SqlServerAgModule

MODULE = SqlServerAgModule()

__all__ = ["DISRUPTIVE_CALLS", "MODULE", "RESOURCE_TYPE", "SqlServerAgModule"]
