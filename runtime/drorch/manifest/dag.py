"""Wave dependencies: cycle detection and topological levels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from drorch.errors import InputError
from drorch.manifest.model import Manifest, Wave


def find_cycles(graph: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Distinct dependency cycles of ``graph`` (node -> nodes it depends on).

    Each cycle is returned as ``[a, b, ..., a]`` (a depends on b ... depends on a),
    starting at its first node in ``graph``'s order; deterministic.
    Dependencies on nodes missing from ``graph`` are ignored.
    """
    order = {node: index for index, node in enumerate(graph)}
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(graph, white)
    cycles: list[list[str]] = []
    seen: set[frozenset[str]] = set()

    for root in graph:
        if colour[root] != white:
            continue
        # iterative DFS: stack of (node, iterator over its dependencies)
        path: list[str] = [root]
        stack = [iter(graph[root])]
        colour[root] = grey
        while stack:
            dep = next(stack[-1], None)
            if dep is None:
                colour[path.pop()] = black
                stack.pop()
                continue
            if dep not in colour:
                continue
            if colour[dep] == grey:
                cycle = path[path.index(dep) :]
                key = frozenset(cycle)
                if key not in seen:
                    seen.add(key)
                    first = min(range(len(cycle)), key=lambda i: order[cycle[i]])
                    cycle = cycle[first:] + cycle[:first]
                    cycles.append([*cycle, cycle[0]])
            elif colour[dep] == white:
                colour[dep] = grey
                path.append(dep)
                stack.append(iter(graph[dep]))
    return cycles


def describe_cycle(cycle: Sequence[str]) -> str:
    if len(cycle) == 2:
        return f"wave {cycle[0]!r} depends on itself"
    return "dependency cycle " + " → ".join(cycle)


def wave_levels(manifest: Manifest) -> list[list[Wave]]:
    """Waves in topological levels: a wave's dependencies are all in earlier levels,
    and waves with no dependency path between them may share a level (each wave
    sits at the level of its longest dependency chain). Within a level, waves are
    ordered by waveNumber. A cycle or an unknown dependency is an InputError.
    """
    by_name = {wave.name: wave for wave in manifest.waves}
    unknown = [
        f"wave {wave.name!r} depends on unknown wave {dep!r}"
        for wave in manifest.waves
        for dep in wave.depends_on
        if dep not in by_name
    ]
    if unknown:
        raise InputError("; ".join(unknown))
    ordered = sorted(manifest.waves, key=lambda w: (w.number, w.name))
    graph = {wave.name: list(wave.depends_on) for wave in ordered}
    cycles = find_cycles(graph)
    if cycles:
        raise InputError(
            "; ".join(describe_cycle(c) for c in cycles),
            hint="remove one dependsOn entry of each cycle",
        )

    level: dict[str, int] = {}
    for wave in ordered:  # longest-chain depth, without recursion
        stack = [wave.name]
        while stack:
            name = stack[-1]
            if name in level:
                stack.pop()
                continue
            deps = by_name[name].depends_on
            pending = [dep for dep in deps if dep not in level]
            if pending:
                stack.extend(pending)
                continue
            level[name] = 1 + max(level[dep] for dep in deps) if deps else 0
            stack.pop()

    levels: list[list[Wave]] = []
    for wave in ordered:
        index = level[wave.name]
        while len(levels) <= index:
            levels.append([])
        levels[index].append(wave)
    return levels
