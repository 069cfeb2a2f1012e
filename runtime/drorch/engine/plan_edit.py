"""Plan edits: change the waves of a running execution that have not started yet.

An execution pins its manifest's S3 version when it starts (the history's ``manifest``:
bucket, key, versionId) and runs the plan made from it. While it runs, an operator may
hand in an edited manifest (``drorch plan edit ID FILE``). The edit is validated like
any manifest and compared with the one the execution runs:

* only ``waves`` may differ, and only waves that have not started in the phase running
  now (a wave starts when its level does; a paused execution has not started its next
  level). A wave that already ran in an earlier phase (a drill's INSTANTIATE) keeps that
  run, and the edit applies to its runs from this phase on (the edit records it);
* no wave may be added, removed or moved to another level (the master iterates the
  levels it was given; their number and members are fixed for the run).

The changed waves' groups are discovered again (their selectors may have changed) under
new group ids (``<groupId>.r<N>``: nothing the running plan reads is overwritten) and a
new plan, revision N, is written next to the old one (``plan.r<N>.json``). Then one
DynamoDB transaction commits it: each changed wave still not started (conditional
writes on its wave items), the execution still running at revision N-1, and the edit
recorded as ``EDIT#<N>`` (who, when, which waves, the JSON paths that changed, a diff).
Before each level the master marks the level's waves started, then reads the plan at the
revision the history names (the ``current-level`` checkpoint), so an edit either lands
before its waves start or is refused, never half-applied.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from drorch import names
from drorch.engine import discovery
from drorch.engine import plan as planning
from drorch.errors import InputError
from drorch.manifest import Manifest, load_manifest, wave_levels
from drorch.manifest.validate import parse_text

DIFF_MAX = 20_000
MAX_WAVE_ITEMS = 90  # a DynamoDB transaction takes 100 items; the rest is for the record


def revision_group_id(group_id: str, revision: int) -> str:
    """The id an edited group runs under in plan revision ``revision``."""
    return f"{group_id.split('.r')[0]}.r{revision}"


def changed_paths(old: Any, new: Any, path: str) -> list[str]:
    """The JSON paths at which two documents differ (added, removed or changed)."""
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in sorted(set(old) | set(new)):
            found += changed_paths(old.get(key), new.get(key), f"{path}.{key}")
        return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            p
            for i, (a, b) in enumerate(zip(old, new, strict=True))
            for p in changed_paths(a, b, f"{path}[{i}]")
        ]
    return [] if old == new else [path]


def compare(
    old_doc: Mapping[str, Any], new_doc: Mapping[str, Any], old: Manifest, new: Manifest
) -> dict[str, list[str]]:
    """wave name -> the paths changed in it; InputError for a change no edit may make."""
    others = sorted(
        k for k in set(old_doc) | set(new_doc) if k != "waves" and old_doc.get(k) != new_doc.get(k)
    )
    if others:
        raise InputError(
            "only waves can change during a run; these differ from the manifest the "
            f"execution runs: {', '.join('$.' + k for k in others)}",
            hint="start from `drorch plan show ID` and change only waves not yet started",
        )
    before = {w["waveName"]: (i, w) for i, w in enumerate(old_doc["waves"])}
    after = {w["waveName"]: (i, w) for i, w in enumerate(new_doc["waves"])}
    added, removed = sorted(set(after) - set(before)), sorted(set(before) - set(after))
    if added or removed:
        raise InputError(
            "waves cannot be added or removed during a run"
            + (f"; added: {', '.join(added)}" if added else "")
            + (f"; removed: {', '.join(removed)}" if removed else ""),
            hint="edit the waves the plan has; a new wave needs a new execution",
        )
    old_levels = [[w.name for w in level] for level in wave_levels(old)]
    new_levels = [[w.name for w in level] for level in wave_levels(new)]
    if old_levels != new_levels:
        raise InputError(
            "the wave levels cannot change during a run (waveNumber, dependsOn): "
            f"running {old_levels}, edited {new_levels}",
            hint="keep each wave's waveNumber and dependsOn",
        )
    changes = {
        name: changed_paths(before[name][1], wave, f"$.waves[{index}]")
        for name, (index, wave) in after.items()
        if wave != before[name][1]
    }
    if not changes:
        raise InputError(
            "nothing to edit: the waves are the same as in the plan the execution runs",
            hint="change a wave that has not started yet",
        )
    return changes


def wave_diff(old_doc: Mapping[str, Any], new_doc: Mapping[str, Any], waves: list[str]) -> str:
    """A unified diff of the changed waves (YAML), for people."""
    lines: list[str] = []
    for name in waves:
        before = next(w for w in old_doc["waves"] if w["waveName"] == name)
        after = next(w for w in new_doc["waves"] if w["waveName"] == name)
        lines += difflib.unified_diff(
            yaml.safe_dump(before, sort_keys=True).splitlines(),
            yaml.safe_dump(after, sort_keys=True).splitlines(),
            f"wave {name} (running)",
            f"wave {name} (edited)",
            lineterm="",
        )
    text = "\n".join(lines)
    return text if len(text) <= DIFF_MAX else text[:DIFF_MAX] + "\n... (diff cut)"


def _renamed(
    manifest: Manifest, waves: list[str], revision: int, running: Mapping[str, Any]
) -> Manifest:
    """The manifest with its groups under the ids they run as: the changed waves' under
    this revision's, the others' as the running plan has them (an earlier edit's)."""
    in_use = {
        g.split(".r")[0]: g for info in running.get("waves", {}).values() for g in info["groups"]
    }

    def rename(groups: tuple[Any, ...], changed: bool) -> tuple[Any, ...]:
        return tuple(
            dataclasses.replace(
                g,
                id=revision_group_id(g.id, revision) if changed else in_use.get(g.id, g.id),
            )
            for g in groups
        )

    edited = []
    for wave in manifest.waves:
        changed = wave.name in waves
        edited.append(
            dataclasses.replace(
                wave,
                groups=rename(wave.groups, changed),
                pre_actions=rename(wave.pre_actions, changed),
                post_actions=rename(wave.post_actions, changed),
                health_checks=rename(wave.health_checks, changed),
            )
        )
    return dataclasses.replace(manifest, waves=tuple(edited))


@dataclasses.dataclass
class EditContext:
    """What an edit reads and writes: the hub's history and artifacts, the staging
    accounts and how to reach them (discovery runs from the operator's session)."""

    history: Any
    s3: Any
    bucket: str
    accounts: Mapping[str, Any]
    modules: Mapping[str, Any]
    session_for: Callable[[Any], Any]


def running_document(s3: Any, execution: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest document the execution runs now: its last edit's, else the pinned version."""
    ref = execution.get("editedManifest") or execution.get("manifest") or {}
    kwargs = {"Bucket": ref.get("bucket"), "Key": ref.get("key")}
    if ref.get("versionId") and ref["versionId"] != "null":
        kwargs["VersionId"] = ref["versionId"]
    return json.loads(s3.get_object(**kwargs)["Body"].read())


def edit_plan(
    ctx: EditContext,
    execution: Mapping[str, Any],
    text: str | bytes,
    source: str,
    operator: str,
    comment: str = "",
) -> dict[str, Any]:
    """Validate, compare, re-discover and commit an edit of a running execution's plan;
    returns the edit as recorded. Raises InputError (or ManifestError) with nothing
    changed that the execution reads."""
    execution_id = execution["executionId"]
    revision = int(execution.get("planRevision") or 0) + 1
    try:
        full = planning.read_plan(ctx.s3, ctx.bucket, execution_id, revision - 1 or None)
    except ctx.s3.exceptions.NoSuchKey as exc:
        raise InputError(
            f"execution {execution_id} has no plan yet", hint="run the edit again in a few seconds"
        ) from exc
    old_doc = running_document(ctx.s3, execution)
    old = load_manifest(old_doc, "the running manifest", ctx.modules)
    new_doc = json.loads(json.dumps(parse_text(text, source)))
    new = load_manifest(new_doc, source, ctx.modules)
    changes = compare(old_doc, new_doc, old, new)
    waves = [w.name for w in new.waves if w.name in changes]
    phases = [p["phase"] for p in full["phases"]]
    runs = [w for w in ctx.history.waves(execution_id) if w.get("phase") in phases]
    # the phase running now: the latest one a wave has started in
    now = max((phases.index(w["phase"]) for w in runs if w.get("startedAt")), default=0)
    started = [
        f"{w['wave']} (in {w['phase']}, at {w['startedAt']})"
        for w in runs
        if w["wave"] in changes
        and w.get("startedAt")
        and (phases.index(w["phase"]) >= now or not w.get("finishedAt"))
    ]
    if started:
        raise InputError(
            f"only waves not yet started can be edited; started: {', '.join(started)}",
            hint="edit later waves only (`drorch pause ID` stops the run before its next level)",
        )
    # a wave that ran in an earlier phase (INSTANTIATE) keeps that run; the edit applies
    # to its runs in this phase and the later ones
    already = sorted(
        f"{w['wave']} ran {w['phase']} as planned before"
        for w in runs
        if w["wave"] in changes and w.get("startedAt")
    )
    wave_items = [
        (p["phase"], level["level"], wave)
        for index, p in enumerate(full["phases"])
        if index >= now
        for level in p["levels"]
        for wave in level["waves"]
        if wave in changes
    ]
    if len(wave_items) > MAX_WAVE_ITEMS:
        raise InputError(
            f"the edit changes {len(wave_items)} wave runs (waves x phases); at most "
            f"{MAX_WAVE_ITEMS} at once",
            hint="edit fewer waves at a time",
        )
    renamed = _renamed(new, waves, revision, full)
    # the changed waves' groups, discovered again, under new ids (nothing running is touched)
    found = discovery.discover(
        execution_id,
        dataclasses.replace(
            renamed, waves=tuple(w for w in renamed.waves if w.name in changes), health_checks=()
        ),
        ctx.accounts,
        ctx.modules,
        ctx.s3,
        ctx.bucket,
        session_for=ctx.session_for,
    )
    files = {
        group.id: found.groups[group.id].to_dict()
        if group.id in found.groups
        else discovery.load_group(ctx.s3, ctx.bucket, execution_id, group.id)
        for group in renamed.groups
    }
    edited = planning.build_plan(
        renamed,
        execution["operation"],
        modules=ctx.modules,
        execution_id=execution_id,
        **discovery.plan_inputs(files),
    )
    planning.check_payload(edited)  # the plan stays within its budget
    planning.check_plan(edited)  # a selector matching nothing is refused, as at the start
    edited["prediction"] = full.get("prediction")  # what was predicted before the run
    for wave in waves:  # the ids the wave ran under before stay its own (history, report)
        ids = edited["waves"][wave]["groups"]
        for group in full["waves"][wave]["groups"]:
            if group not in ids:
                ids.append(group)
                edited["groups"].setdefault(group, full["groups"].get(group, {}))
    edited["revision"] = revision
    manifest_key = names.edited_manifest_key(execution_id, revision)
    ctx.s3.put_object(
        Bucket=ctx.bucket,
        Key=manifest_key,
        Body=json.dumps(new_doc, indent=2, sort_keys=True).encode(),
        ContentType="application/json",
    )
    planning.write_plan(ctx.s3, ctx.bucket, execution_id, edited, revision)
    record = {
        "editedBy": operator,
        "comment": comment[:500],
        "source": str(source)[:200],
        "waves": waves,
        "alreadyRan": already,
        "changes": {w: paths[:50] for w, paths in changes.items()},
        "diff": wave_diff(old_doc, new_doc, waves),
        "manifest": {"bucket": ctx.bucket, "key": manifest_key},
        "groups": {
            g.id: revision_group_id(g.id, revision)
            for w in new.waves
            if w.name in changes
            for g in w.all_groups
        },
    }
    ctx.history.record_plan_edit(
        execution_id,
        revision,
        [
            (phase, level, wave, edited["waves"][wave]["rtoTargetMinutes"])
            for phase, level, wave in wave_items
        ],
        record,
    )
    # plan.json: the newest plan, for readers that do not follow revisions (best effort:
    # the engine reads plan.r<N>.json, as the history names it)
    planning.write_plan(ctx.s3, ctx.bucket, execution_id, edited)
    return {"executionId": execution_id, "revision": revision, **record}
