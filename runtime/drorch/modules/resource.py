"""What every resource module's adapter shares: :class:`ResourceModule`.

A resource module keeps one state per phase: ``{"v", "phase", "drill", "params", ...,
"items"}``, where ``items`` maps each resource id to what the module knows of it, and an
item's ``result`` (once it has one) says how that resource ended. The scaffolding around
that state is the same in every adapter, so it lives here: starting a phase
(:meth:`ResourceModule.begin`), the drill-guarded client (:meth:`ResourceModule.client`),
an AWS error as a :class:`ModuleError` (:meth:`ResourceModule.fail`) and the items as a
:class:`StatusResult` (:meth:`ResourceModule.result`). What differs between modules is
what they do with each item, and the few hooks below.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn

from botocore.exceptions import ClientError

from drorch.modules.base import (
    RUNNING,
    AccountContext,
    Module,
    ModuleError,
    Resource,
    ResourceResult,
    StatusResult,
    aggregate_status,
    error_code,
    error_message,
    raise_if_fatal,
)


def fail(
    error: ClientError, ctx: AccountContext, doing: str, module: str, regional: bool = True
) -> NoReturn:
    """Re-raise throttling, 5xx and access denied (:func:`raise_if_fatal`); anything else
    as a :class:`ModuleError` naming the module, the account and (``regional``) region."""
    raise_if_fatal(error, ctx, doing)
    where = f"account {ctx.account_id}" + (f" ({ctx.region})" if regional else "")
    raise ModuleError(
        f"{module}: {doing} failed in {where}: {error_code(error)}: {error_message(error)}"
    ) from error


class ResourceModule(Module):
    """A :class:`Module` whose state is one item per resource (see the module docstring).

    Subclasses set ``service`` (the boto3 client name :meth:`client` makes) and
    ``state_version``; ``resource_types[0]`` is the type given to resources that
    arrive as mappings.
    """

    service: str = ""
    state_version: int = 1
    # the item key that holds a resource's name in its result (empty: the resource id)
    name_key: str = ""
    # false for a global service (Route 53, ARC): errors name the account, not a region
    regional: bool = True

    # --- starting a phase -------------------------------------------------------------
    def as_resource(self, item: Resource | Mapping[str, Any], ctx: AccountContext) -> Resource:
        """A resource as given to ``start`` (a :class:`Resource` or its dict shape)."""
        if isinstance(item, Resource):
            return item
        kind = self.resource_types[0] if self.resource_types else ""
        return Resource.from_dict(item, account_id=ctx.account_id, type=kind)

    def prepare(
        self,
        ctx: AccountContext,
        phase: str,
        resources: Iterable[Resource | Mapping[str, Any]],
        params: Mapping[str, Any] | None,
        drill: bool,
        idempotency_key: str,
    ) -> tuple[dict[str, Any], list[Resource], bool]:
        """The checks every ``start`` makes: ``(parameters, resources sorted by id, drill)``.

        ``drill`` is true when the caller or the account context says so; the phase is
        checked (drill-safe in a drill), the parameters validated with their defaults, and
        an idempotency key required.
        """
        drill = bool(drill or ctx.drill)
        self.check_phase(phase, drill)
        params = self.validate_parameters(params, "$.parameters")
        if not idempotency_key:
            raise ModuleError(f"{self.type}: an idempotency key is required to start a phase")
        items = sorted((self.as_resource(r, ctx) for r in resources), key=lambda r: r.id)
        return params, items, drill

    def begin(
        self,
        ctx: AccountContext,
        phase: str,
        resources: Iterable[Resource | Mapping[str, Any]],
        params: Mapping[str, Any] | None,
        drill: bool,
        idempotency_key: str,
        item: Callable[[Resource], dict[str, Any]] = lambda _: {},
        **extra: Any,
    ) -> tuple[dict[str, Any], list[Resource], bool]:
        """The checks every ``start`` makes (:meth:`prepare`), and the new state.

        Returns ``(state, resources sorted by id, drill)``. ``state`` is ``{"v", "phase",
        "drill", "params", **extra, "items"}`` with ``items[resource.id] = item(resource)``.
        """
        params, items, drill = self.prepare(ctx, phase, resources, params, drill, idempotency_key)
        state: dict[str, Any] = {
            "v": self.state_version,
            "phase": phase,
            "drill": drill,
            "params": params,
            **extra,
            "items": {r.id: item(r) for r in items},
        }
        return state, items, drill

    def start(
        self,
        ctx: AccountContext,
        phase: str,
        resources: list[Resource],
        params: dict[str, Any],
        drill: bool,
        idempotency_key: str,
    ) -> dict[str, Any]:
        """:meth:`begin` the phase (items from :meth:`new_item`, with :meth:`state_extra`),
        then :meth:`act` on its resources; returns the state."""
        state, items, _ = self.begin(
            ctx,
            phase,
            resources,
            params,
            drill,
            idempotency_key,
            item=self.new_item,
            **self.state_extra(ctx, idempotency_key),
        )
        return self.act(ctx, state, items, idempotency_key)

    def new_item(self, resource: Resource) -> dict[str, Any]:
        """A resource's item in a new state (default: empty)."""
        return {}

    def state_extra(self, ctx: AccountContext, key: str) -> dict[str, Any]:
        """What a new state holds besides v, phase, drill, params and items (``key``: the
        start's idempotency key)."""
        return {}

    def act(self, ctx: AccountContext, state: dict, items: list[Resource], key: str) -> dict:
        """The start of the phase ``state`` was begun for (``state["phase"]``, its
        ``drill`` and validated ``params``), on ``items`` sorted by id; ``key`` is the
        idempotency key. Returns the state. A module that overrides :meth:`start`
        instead needs none."""
        raise NotImplementedError(f"{self.type}: act")

    def check_state(self, phase: str, state: Mapping[str, Any]) -> None:
        """``status`` was given the state of the phase it is asked about."""
        if state.get("phase") != phase:
            raise ModuleError(f"{self.type}: state is for phase {state.get('phase')}, not {phase}")

    # --- talking to AWS --------------------------------------------------------------------
    def client(self, ctx: AccountContext, drill: bool, region: str | None = None) -> Any:
        """The module's ``service`` client, refusing disruptive calls in a drill."""
        return ctx.client(self.service, region=region, guard=self.drill_guard(drill))

    def fail(self, error: ClientError, ctx: AccountContext, doing: str) -> NoReturn:
        """Raise an AWS error: throttling, 5xx and access denied as :func:`raise_if_fatal`
        does, anything else as a :class:`ModuleError` naming the account (and region)."""
        fail(error, ctx, doing, self.type, self.regional)

    # --- the result ------------------------------------------------------------------------
    def resource_name(self, rid: str, item: Mapping[str, Any]) -> str:
        """The name a resource's result carries: its item's ``name_key``, else its id."""
        return (item.get(self.name_key) if self.name_key else None) or rid

    def running(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """The result of an item that has none yet: RUNNING, with what it saw last."""
        return {"status": RUNNING, **item.get("live", {})}

    def detail(self, item: Mapping[str, Any], detail: dict[str, Any]) -> dict[str, Any]:
        """A resource result's ``detail`` (default: its result's, less status and error)."""
        return detail

    def result(self, state: dict[str, Any]) -> StatusResult:
        """The items of ``state`` as a :class:`StatusResult`, in id order."""
        resources = []
        for rid, item in sorted(state["items"].items()):
            result = item.get("result") or self.running(item)
            detail = {k: v for k, v in result.items() if k not in ("status", "error")}
            resources.append(
                ResourceResult(
                    rid,
                    self.resource_name(rid, item),
                    result["status"],
                    self.detail(item, detail),
                    result.get("error"),
                )
            )
        return StatusResult(aggregate_status(r.status for r in resources), resources, state)
