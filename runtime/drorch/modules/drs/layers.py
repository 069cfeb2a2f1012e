"""DRS in the layers format: one ``DRS`` / ``enhanced_drs`` resource as manifest entries.

The parameters are read as seed 000 writes them (the Enhanced DRS ``StatePayload``,
L547–L594, and the layer examples, L1287–L1345):

* ``HostNames`` → ``selector.ids`` (a source server is named by id, ARN or hostname).
* ``ProtectionGroupTags`` → ``selector.tags`` (all must match). ``ServerTags`` or
  ``Tags`` are used the same way when it is absent, as seed 000's ``activate`` does
  (``protection_group_tags or tags``); beside it they are named as unmapped. With
  hostnames *and* tags the selector is their AND (noted).
* ``LaunchSettings`` → ``parameters.launchSettings``, checked against the launch
  settings schema (the fields of DRS ``UpdateLaunchConfiguration``). Seed 000 writes
  them in PascalCase; they are mapped as its own ``build_launch_configuration`` does
  where DRS has the field: ``CopyPrivateIp``, ``CopyTags``, ``LaunchDisposition``,
  ``BYOL`` → ``licensing.osByol``, ``RightSizing`` true/false →
  ``targetInstanceTypeRightSizingMethod`` ``BASIC``/``NONE``. ``InstanceType``,
  ``SubnetId``, ``SecurityGroupIds`` and ``IamInstanceProfile`` are EC2 launch-template
  settings and ``Region`` is the staging account's: each is named as unmapped, as is a
  value the schema refuses.
* ``WaveConfiguration.waves`` → waves of the resource's own: ``name``, ``description``,
  ``pauseBeforeWave``, and ``dependsOn`` (1-based wave numbers, seed 000 L560–L585) or
  ``dependsOnWaves`` (0-based, L1319–L1339); without either, the previous wave. Seed
  000's waves name no servers, so a wave without ``HostNames``/``ProtectionGroupTags``/
  ``Tags`` of its own selects the resource's servers that also carry
  ``dr:wave=<its position>`` (noted) — else every wave would launch the same servers.
  ``delayBetweenServers`` has no equivalent: a wave's servers launch together, in
  quota-sized jobs.
* ``PauseBeforeActivation: true`` → ``pauseBeforeWave`` on the resource's first
  wave(s): the run waits for an operator (``drorch resume``) before these servers
  launch, and only these. Without ``WaveConfiguration`` the resource gets a wave of
  its own, so the pause does not hold the layer's other resources. (An approval before
  ACTIVATE would hold every layer, including those meant to run first.)
* drorch's own DRS parameters (``maxServersPerJob``, ``recoverySnapshot``, ...) are
  kept as given.

``AccountId`` and ``resourceName`` are read by ``manifest convert`` for every module.
Everything else is named as unmapped, with the reason.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from drorch.manifest.problems import json_path
from drorch.manifest.references import is_reference
from drorch.modules.base import LayerMapping, Module
from drorch.modules.drs.settings import launch_settings_schema, settings_validator
from drorch.names import TAG_WAVE

EC2_SETTING = (
    "not a DRS UpdateLaunchConfiguration field; EC2 launch-template settings (instance "
    "type, subnet, security groups, instance profile) are out of scope"
)
RECOVERY_REGION = "the recovery region is the staging account's recoveryRegion (accounts/)"

# Parameters of seed 000 that drorch has no place for, and why.
REASONS: dict[str, str] = {
    "TagSyncConfiguration": "drorch reads tags when it discovers; there is no tag sync",
    "ExecutionManagement": (
        "pause, resume and drill cleanup are drorch operations (drorch pause/resume, "
        "--operation cleanup), not resource settings"
    ),
    "ExecutionControl": "cancelling is `drorch cancel`, not a resource setting",
    "AccountConfiguration": "staging accounts are described in accounts/ (drorch accounts onboard)",
    "executionType": "drill or failover is chosen when the run starts (drorch execute --operation)",
    "ExecutionType": "drill or failover is chosen when the run starts (drorch execute --operation)",
    "ProtectionGroupName": "drorch has no protection groups: the selector picks the servers",
    "RecoveryPlanName": "drorch has no recovery plans: the manifest is the plan",
    "Region": RECOVERY_REGION,
}
TAG_KEYS = ("ProtectionGroupTags", "ServerTags", "Tags")  # first given wins (seed 000)
WAVE_KEYS = {"name", "description", "pauseBeforeWave", "dependsOn", "dependsOnWaves"}
WAVE_REASONS = {
    "delayBetweenServers": "a wave's servers launch together, in quota-sized DRS jobs",
}


def _path(where: str, *parts: Any) -> str:
    return json_path(list(parts), where)


class _Mapper:
    """Collects what one resource maps to and what it does not."""

    def __init__(self, module: Module, where: str) -> None:
        self.module = module
        self.where = where
        self.result = LayerMapping()

    def unmapped(self, path: str, reason: str | None = None) -> None:
        self.result.unmapped.append(path)
        if reason:
            self.result.reasons[path] = reason

    def note(self, text: str) -> None:
        self.result.notes.append(text)

    # --- selectors ----------------------------------------------------------------
    def hostnames(self, value: Any, path: str) -> list[str]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            self.unmapped(path, "must be a list of hostnames")
            return []
        names: list[str] = []
        for index, item in enumerate(items):
            if isinstance(item, str) and item.strip() and not is_reference(item):
                names.append(item.strip())
            else:
                self.unmapped(f"{path}[{index}]", "not a hostname (a reference cannot select)")
        return list(dict.fromkeys(names))

    def tags(self, value: Any, path: str) -> dict[str, str]:
        if isinstance(value, list):  # [{"Key": ..., "Value": ...}]
            pairs = []
            for index, item in enumerate(value):
                if isinstance(item, Mapping) and {"Key", "Value"} <= set(item):
                    pairs.append((item["Key"], item["Value"]))
                else:
                    self.unmapped(f"{path}[{index}]", "not a {Key, Value} tag")
        elif isinstance(value, Mapping):
            pairs = list(value.items())
        else:
            self.unmapped(path, "must be a mapping of tag key to value")
            return {}
        tags: dict[str, str] = {}
        for key, tag_value in pairs:
            scalar = isinstance(tag_value, (str, int, float)) and not isinstance(tag_value, bool)
            if str(key) and scalar and not is_reference(tag_value):
                tags[str(key)] = str(tag_value)
            else:
                self.unmapped(_path(path, str(key)), "a tag value must be text")
        return tags

    def selection(self, params: Mapping[str, Any], path: str) -> tuple[list[str], dict[str, str]]:
        """Hostnames and tags given in ``params`` (a resource's or a wave's)."""
        ids = (
            self.hostnames(params["HostNames"], _path(path, "HostNames"))
            if "HostNames" in params
            else []
        )
        tags: dict[str, str] = {}
        chosen = None
        for key in TAG_KEYS:
            if key not in params:
                continue
            if chosen is None:
                chosen = key
                tags = self.tags(params[key], _path(path, key))
            else:
                self.unmapped(_path(path, key), f"{chosen} is given and is used instead (seed 000)")
        return ids, tags

    # --- launch settings ----------------------------------------------------------------
    def launch_settings(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            self.unmapped(path, "must be a mapping of launch settings")
            return {}
        schema = launch_settings_schema()
        fields = schema["properties"]
        settings: dict[str, Any] = {}
        source: dict[str, str] = {}  # field -> input path
        for key, item in value.items():
            here = _path(path, str(key))
            name = str(key)
            if name == "BYOL":
                name, item = "licensing", {"osByol": item}
            elif name == "RightSizing":
                name = "targetInstanceTypeRightSizingMethod"
                if isinstance(item, bool):
                    item = "BASIC" if item else "NONE"
            elif name not in fields and name[:1].lower() + name[1:] in fields:
                name = name[:1].lower() + name[1:]
            if name not in fields:
                self.unmapped(here, RECOVERY_REGION if name == "Region" else EC2_SETTING)
                continue
            if name in settings:
                self.unmapped(here, f"{source[name]} sets {name} already")
                continue
            settings[name], source[name] = copy.deepcopy(item), here
        for error in settings_validator().iter_errors(settings):
            name = next(iter(error.absolute_path), None)
            if name in settings:
                self.unmapped(source[name], f"not a valid DRS {name}: {error.message}")
                del settings[name]
        return settings

    # --- waves ------------------------------------------------------------------------------
    def waves(
        self, config: Any, path: str, ids: list[str], tags: dict[str, str], parameters: dict
    ) -> list[dict[str, Any]]:
        listed = config.get("waves") if isinstance(config, Mapping) else None
        if not isinstance(listed, list) or not listed:
            self.unmapped(path, "needs a non-empty list of waves under `waves`")
            return []
        for key in config:
            if key != "waves":
                self.unmapped(_path(path, str(key)), "not a wave setting")
        fragments: list[dict[str, Any]] = []
        kept: list[int] = []  # position in ``listed`` of each fragment
        for position, spec in enumerate(listed):
            here = _path(path, "waves", position)
            if not isinstance(spec, Mapping):
                self.unmapped(here, "a wave must be a mapping")
                continue
            own_ids, own_tags = self.selection(spec, here)
            selector: dict[str, Any] = {}
            wave_ids = own_ids or ids
            wave_tags = {**tags, **own_tags}
            name = spec.get("name") if isinstance(spec.get("name"), str) else None
            if not (own_ids or own_tags):
                wave_tags[TAG_WAVE] = str(position + 1)
                self.note(
                    f"{here}: wave {name or position + 1!r} names no servers of its own; it "
                    f"selects the resource's servers tagged {TAG_WAVE}={position + 1} — tag "
                    "them so, or edit the selector"
                )
            if wave_tags:
                selector["tags"] = wave_tags
            if wave_ids:
                selector["ids"] = wave_ids
            technology: dict[str, Any] = {"type": self.module.type, "selector": selector}
            if parameters:
                technology["parameters"] = copy.deepcopy(parameters)
            fragment: dict[str, Any] = {"technologies": [technology]}
            if name:
                fragment["waveName"] = name.strip()
            elif "name" in spec:
                self.unmapped(_path(here, "name"), "a wave name must be text")
            if isinstance(spec.get("description"), str):
                fragment["description"] = spec["description"]
            if "pauseBeforeWave" in spec:
                if isinstance(spec["pauseBeforeWave"], bool):
                    fragment["pauseBeforeWave"] = spec["pauseBeforeWave"]
                else:
                    self.unmapped(_path(here, "pauseBeforeWave"), "must be true or false")
            for key in spec:
                if key not in WAVE_KEYS and key not in ("HostNames", *TAG_KEYS):
                    self.unmapped(
                        _path(here, str(key)), WAVE_REASONS.get(key, "not a wave setting")
                    )
            fragment["_deps"] = self.dependencies(spec, here, position, len(listed))
            fragments.append(fragment)
            kept.append(position)
        # positions in ``listed`` -> indexes in ``fragments``; a dependency on a wave that
        # was not mapped is dropped with its own entry
        index_of = {position: index for index, position in enumerate(kept)}
        for fragment in fragments:
            deps = fragment.pop("_deps")
            if deps is None:
                continue
            fragment["dependsOn"] = [index_of[d] for d, _ in deps if d in index_of]
            for d, where in deps:
                if d not in index_of:
                    self.unmapped(where, "that wave was not mapped")
        return fragments

    def dependencies(
        self, spec: Mapping[str, Any], here: str, position: int, count: int
    ) -> list[tuple[int, str]] | None:
        """The earlier waves (positions) a wave waits for, or None for the previous one."""
        if "dependsOn" in spec:
            key, base = "dependsOn", 1  # wave numbers, from 1 (seed 000 L560-L585)
        elif "dependsOnWaves" in spec:
            key, base = "dependsOnWaves", 0  # positions, from 0 (seed 000 L1319-L1339)
        else:
            return None
        if "dependsOn" in spec and "dependsOnWaves" in spec:
            self.unmapped(_path(here, "dependsOnWaves"), "dependsOn is given and is used instead")
        listed = spec[key]
        if not isinstance(listed, list):
            self.unmapped(_path(here, key), "must be a list of waves")
            return None
        deps: list[tuple[int, str]] = []
        for index, value in enumerate(listed):
            where = _path(here, key, index)
            target = (
                value - base if isinstance(value, int) and not isinstance(value, bool) else None
            )
            if target is None or not 0 <= target < count:
                first, last = base, count - 1 + base
                self.unmapped(where, f"not a wave of this WaveConfiguration ({first}..{last})")
            elif target >= position:
                self.unmapped(where, "a wave can wait only for a wave listed before it")
            elif target not in (d for d, _ in deps):
                deps.append((target, where))
        return deps


def from_layer(module: Module, resource: Mapping[str, Any], where: str) -> LayerMapping:
    """One layers-format DRS resource as a technology entry or waves (see the module doc)."""
    mapper = _Mapper(module, where)
    params = resource.get("parameters") or {}
    at = _path(where, "parameters")
    ids, tags = mapper.selection(params, at)
    own = set(module.parameters_schema.get("properties", {}))
    parameters: dict[str, Any] = {}
    for key, value in params.items():
        if key in own:
            parameters[key] = copy.deepcopy(value)
    if "LaunchSettings" in params:
        settings = mapper.launch_settings(params["LaunchSettings"], _path(at, "LaunchSettings"))
        if settings:
            given = parameters.get("launchSettings")
            parameters["launchSettings"] = (
                {**given, **settings} if isinstance(given, dict) else settings
            )
    pause = params.get("PauseBeforeActivation", False)
    if not isinstance(pause, bool):
        mapper.unmapped(_path(at, "PauseBeforeActivation"), "must be true or false")
        pause = False
    handled = {
        "HostNames",
        *TAG_KEYS,
        "LaunchSettings",
        "WaveConfiguration",
        "PauseBeforeActivation",
    }
    for key in params:
        if key not in handled and key not in own:
            mapper.unmapped(_path(at, str(key)), REASONS.get(key))
    if ids and tags:
        mapper.note(
            f"{at}: the servers are those named in HostNames that also carry "
            f"{', '.join(f'{k}={v}' for k, v in tags.items())}; check that every host has the tags"
        )

    result = mapper.result
    if "WaveConfiguration" in params:
        result.waves = mapper.waves(
            params["WaveConfiguration"], _path(at, "WaveConfiguration"), ids, tags, parameters
        )
    if not result.waves:
        selector: dict[str, Any] = {}
        if tags:
            selector["tags"] = tags
        if ids:
            selector["ids"] = ids
        technology: dict[str, Any] = {"type": module.type, "selector": selector}
        if parameters:
            technology["parameters"] = parameters
        if pause:
            result.waves = [{"technologies": [technology]}]
        else:
            result.technology = technology
    if pause:  # on the resource's first wave(s): those that wait for none of its waves
        for index, fragment in enumerate(result.waves):
            deps = fragment.get("dependsOn")
            if deps == [] or (deps is None and index == 0):
                fragment["pauseBeforeWave"] = True
    return result
