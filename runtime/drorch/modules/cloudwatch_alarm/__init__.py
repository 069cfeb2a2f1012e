"""The ``cloudwatch-alarm`` check (see ``adapter``)."""

from drorch.modules.cloudwatch_alarm.adapter import CloudWatchAlarmCheck

MODULE = CloudWatchAlarmCheck()

__all__ = ["CloudWatchAlarmCheck", "MODULE"]
