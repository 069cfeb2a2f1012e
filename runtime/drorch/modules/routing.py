"""Strategy routing (TRS App. T.4): a resource's ``dr:recovery-strategy`` tag decides
which module acts on it.

Each module declares the strategy values it recovers (:attr:`Module.strategies`:
``drs`` for DRS, ``sql-ag`` for sqlserver-ag, ...); the registry is the only list.

* A module leaves alone a resource whose strategy it does not take: the DRS module
  excludes and reports a source server tagged ``sql-ag``, ``rds`` or ``aurora``
  (naming the module that recovers it, or saying that none does) and never launches
  it (:func:`not_mine`).
* The TRS technology categories (:data:`CATEGORIES`: ``database``, ``application``,
  ``infrastructure``; TRS §5.2's manifest ``technologies[].type``) are accepted in a
  manifest. Such a group selects by the application's tags, like every TRS group
  (``dr:wave`` + ``Customer`` + ``Environment``), and hands every resource to the
  module its strategy names: the manifest model makes one group per module that
  declares strategies (:func:`category_members`) — except the modules the wave names
  itself, which keep their own groups, so no resource is recovered twice — and
  discovery keeps in each such group only the resources of that module's strategies
  (:func:`split_by_strategy`; the others are excluded and reported). ``manifest plan``
  shows each routed group under its module, ``routedFrom`` naming the category.

The category names only say what a wave holds; the strategy tag decides the module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from drorch.names import TAG_STRATEGY

# TRS §5.2: technologies[].type values that are not modules but categories of them
CATEGORIES: dict[str, str] = {
    "database": "the data tier (TRS §5.2 wave 1)",
    "application": "the application tier (TRS §5.2 wave 2)",
    "infrastructure": "the web and infrastructure tier (TRS §5.2 wave 3)",
}


def default_modules() -> Mapping[str, Any]:
    from drorch.modules.base import REGISTRY

    return REGISTRY


def strategy_of(tags: Mapping[str, str] | None) -> str | None:
    """The resource's ``dr:recovery-strategy`` (None when it has none)."""
    value = (tags or {}).get(TAG_STRATEGY)
    return str(value) if value else None


def _routable(module: Any) -> bool:
    return getattr(module, "kind", "resource") == "resource" and bool(
        getattr(module, "strategies", ())
    )


def owners(strategy: str, modules: Mapping[str, Any] | None = None) -> list[str]:
    """The module types that recover resources of ``strategy``."""
    modules = default_modules() if modules is None else modules
    return sorted(
        name
        for name, module in modules.items()
        if _routable(module) and strategy in getattr(module, "strategies", ())
    )


def declared_strategies(modules: Mapping[str, Any] | None = None) -> set[str]:
    """Every strategy value some registered module takes."""
    modules = default_modules() if modules is None else modules
    return {s for m in modules.values() if _routable(m) for s in m.strategies}


def not_mine(
    module: Any, tags: Mapping[str, str] | None, modules: Mapping[str, Any] | None = None
) -> str | None:
    """Why ``module`` must leave a resource with these tags alone (None: it is its own,
    or the module does not route by strategy). Only a strategy tag the module does not
    take sends a resource away; one without the tag is the tag validator's business."""
    strategy = strategy_of(tags)
    mine = tuple(getattr(module, "strategies", ()))
    if strategy is None or not mine or strategy in mine:
        return None
    others = [name for name in owners(strategy, modules) if name != module.type]
    if others:
        return (
            f"{TAG_STRATEGY}={strategy}: recovered by the {', '.join(others)} module, "
            f"not by {module.type}"
        )
    return (
        f"{TAG_STRATEGY}={strategy}: no registered module recovers it "
        f"({module.type} takes {', '.join(mine)})"
    )


def is_category(kind: Any) -> bool:
    return isinstance(kind, str) and kind in CATEGORIES


def category_members(modules: Mapping[str, Any] | None, taken: Iterable[str] = ()) -> list[str]:
    """The modules a category group hands resources to: every resource module that
    declares strategies, in name order, except ``taken`` (the modules the wave names
    itself, or that an earlier category group of the wave already routes to)."""
    modules = default_modules() if modules is None else modules
    skip = set(taken)
    return [name for name, m in sorted(modules.items()) if _routable(m) and name not in skip]


def wave_routes(types: Sequence[Any], modules: Mapping[str, Any] | None) -> list[list[str] | None]:
    """For each ``technologies[].type`` of one wave: None for a module (or anything that
    is not a category), else the modules its category group hands resources to. Without
    modules (validation without a registry) nothing is routed."""
    if not modules:
        return [None] * len(types)
    taken = {t for t in types if isinstance(t, str) and not is_category(t)}
    routes: list[list[str] | None] = []
    for kind in types:
        if not is_category(kind) or kind in modules:  # a module named like a category wins
            routes.append(None)
            continue
        members = category_members(modules, taken)
        taken |= set(members)
        routes.append(members)
    return routes


def split_by_strategy(
    entries: list[dict[str, Any]], module: Any, modules: Mapping[str, Any] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A routed group's discovered resources (discovery's dict entries) as (kept,
    excluded): a resource whose strategy the module does not take is excluded, with the
    reason naming the module that recovers it."""
    kept: list[dict[str, Any]] = []
    excluded: list[dict[str, Any]] = []
    for entry in entries:
        reason = not_mine(module, entry.get("tags"), modules)
        if reason is None:
            kept.append(entry)
            continue
        excluded.append(
            {
                "id": entry.get("id", ""),
                "arn": entry.get("arn", ""),
                "name": entry.get("name", ""),
                "accountId": entry.get("accountId", ""),
                "region": entry.get("region", ""),
                "reasons": [reason],
            }
        )
    return kept, excluded
