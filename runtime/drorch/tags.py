"""The DR tag taxonomy (SPEC §3, TRS appendix T) and its validator.

A resource opts in with ``dr:enabled=true`` and then must say which wave it is
in, how important it is and how it recovers. Resources whose tags break these
rules are excluded from a plan and reported — never silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from drorch import names

PRIORITIES = ("critical", "high", "medium", "low")
STRATEGIES = ("drs", "eks-dns", "sql-ag", "managed-service")
WAVES = tuple(str(n) for n in range(1, 6))
# dr:impact: a critical resource's failure fails its module group; an optional one's is a
# warning (the group and its wave succeed when every critical resource did)
CRITICAL, OPTIONAL = "critical", "optional"
IMPACTS = (CRITICAL, OPTIONAL)
# Default RTO (minutes) and wave for each priority.
PRIORITY_DEFAULTS = {"critical": (15, 1), "high": (30, 2), "medium": (60, 3), "low": (240, 4)}


def known_strategies() -> tuple[str, ...]:
    """TRS App. T's strategy values, then those the registered modules declare beyond
    them (``rds``, ``aurora``, ...: strategy routing, :mod:`drorch.modules.routing`)."""
    try:
        from drorch.modules.routing import declared_strategies
    except ImportError:  # pragma: no cover - the tag rules without the modules package
        return STRATEGIES
    return STRATEGIES + tuple(sorted(declared_strategies() - set(STRATEGIES)))


@dataclass(frozen=True)
class TagCheck:
    dr_enabled: bool
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors


def _positive_minutes(tags: Mapping[str, str], key: str, errors: list[str]) -> None:
    if key in tags and not (tags[key].isdigit() and int(tags[key]) > 0):
        errors.append(f"{key}={tags[key]!r} must be a positive number of minutes")


def check_tags(tags: Mapping[str, str]) -> TagCheck:
    """Validate one resource's tags (a key -> value mapping)."""
    errors: list[str] = []
    warnings: list[str] = []
    enabled = tags.get(names.TAG_ENABLED)
    if enabled is None:
        return TagCheck(False, (f"{names.TAG_ENABLED} is missing",), (), dict(tags))
    if enabled not in ("true", "false"):
        return TagCheck(
            False, (f"{names.TAG_ENABLED}={enabled!r} must be 'true' or 'false'",), (), dict(tags)
        )
    if enabled == "false":
        return TagCheck(False, (), (), dict(tags))
    for key, allowed in (
        (names.TAG_WAVE, WAVES),
        (names.TAG_PRIORITY, PRIORITIES),
        (names.TAG_STRATEGY, known_strategies()),
    ):
        if key not in tags:
            errors.append(f"{key} is missing")
        elif tags[key] not in allowed:
            errors.append(f"{key}={tags[key]!r} must be one of {', '.join(allowed)}")
    impact = tags.get(names.TAG_IMPACT)  # optional: critical when missing
    if impact is not None and impact not in IMPACTS:
        errors.append(f"{names.TAG_IMPACT}={impact!r} must be one of {', '.join(IMPACTS)}")
    _positive_minutes(tags, names.TAG_RTO, errors)
    _positive_minutes(tags, names.TAG_RPO, errors)
    for key in (names.TAG_CUSTOMER, names.TAG_ENVIRONMENT):
        if key not in tags:
            warnings.append(f"{key} is missing")
    return TagCheck(True, tuple(errors), tuple(warnings), dict(tags))


def impact_of(tags: Mapping[str, str]) -> str:
    """A resource's ``dr:impact`` (critical when the tag is missing or invalid: an invalid
    one excludes the resource, :func:`check_tags`)."""
    value = tags.get(names.TAG_IMPACT, CRITICAL)
    return value if value in IMPACTS else CRITICAL
