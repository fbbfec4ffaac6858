"""Run a scenario and write what it measured: ``run_scenario`` is the simulator's one entry.

It builds the world, runs it in virtual time, gathers the results (schema in
``sim/report/RESULTS.md``) and, given a directory, writes ``results.json``,
``series.csv``, ``topology.json`` and the pcap of chosen nodes. Plots and the HTML report
are made from those files by ``tacmesh.sim.report`` (the CLI calls both).
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tacmesh.protocol.engine import COMPILED
from tacmesh.sim.build import SimNode
from tacmesh.sim.medium import Port
from tacmesh.sim.mobility import Sortie
from tacmesh.sim.mobility.build import check as check_mobility
from tacmesh.sim.pcap import PcapWriter
from tacmesh.sim.scenario.fields import MOBILITY_APPLIES
from tacmesh.sim.scenario.model import Scenario
from tacmesh.sim.world import START_EPOCH, World

SERIES_FIELDS = [
    "t_s", "sent", "delivered", "delivery_ratio", "latency_p50_s", "latency_p90_s",
    "queue_depth_total", "queue_depth_max", "links_up", "nodes_alive",
]  # fmt: skip
NARROWBAND_KINDS = {"lora", "satellite"}


def run_scenario(
    scenario: Scenario,
    *,
    out_dir: Path | None = None,
    pcap_nodes: tuple[str, ...] = (),
    progress: Callable[[float], None] | None = None,
    wall_limit_s: float | None = None,
) -> dict[str, Any]:
    pcap = _pcap(out_dir, pcap_nodes)
    world = World(scenario, tap=pcap[1] if pcap else None)
    wall = time.perf_counter()
    world.run(progress, wall_limit_s=wall_limit_s)
    wall = time.perf_counter() - wall
    results = collect(world, wall)
    if out_dir is not None:
        files = write_run(world, results, out_dir)
        if pcap:
            files["pcap"] = [p.name for p in pcap[0].close()]
        results["files"] = files
        (out_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    return results


def _pcap(
    out_dir: Path | None, names: tuple[str, ...]
) -> tuple[PcapWriter, Callable[[float, SimNode, Port, bytes, str], None]] | None:
    if out_dir is None or not names:
        return None
    out_dir.mkdir(parents=True, exist_ok=True)
    writer = PcapWriter(out_dir, START_EPOCH)
    wanted = set(names)

    def tap(t: float, node: SimNode, port: Port, data: bytes, direction: str) -> None:
        if node.name in wanted:
            kind = "narrowband" if port.radio.profile.kind in NARROWBAND_KINDS else "ip"
            writer.frame(t, node.address, kind, data, direction, None)

    return writer, tap


def collect(world: World, wall_s: float) -> dict[str, Any]:
    s, ledger, medium = world.scenario, world.ledger, world.medium
    shed: dict[str, int] = {}
    counters: dict[str, int] = {}
    for n in world.nodes:
        for reason, count in n.engine.shed().items():
            shed[reason] = shed.get(reason, 0) + count
        for key in ("no_route", "hop_limit_reached", "rejected"):
            counters[key] = counters.get(key, 0) + n.engine.counters[key]
    drops = {**shed, "no_route": counters["no_route"], "hop_limit": counters["hop_limit_reached"],
             "rejected": counters["rejected"], **dict(medium.lost)}  # fmt: skip
    by_class = ledger.by("kind")
    return {
        "schema": 1,
        "scenario": {
            "name": s.name, "source": s.source, "seed": s.seed, "duration_s": s.duration_s,
            "nodes": len(world.nodes), "teams": [t.name for t in s.teams],
        },
        "run": {
            "events": world.kernel.events, "frames_sent": medium.frames_sent,
            "frames_received": medium.frames_received,
            "collisions": medium.lost["collision"], "wall_s": round(wall_s, 3),
            "realtime_factor": round(s.duration_s / wall_s, 2) if wall_s > 0 else None,
            "core": "compiled" if COMPILED else "pure",
        },
        "delivery": {
            "overall": ledger.summary(), "by_class": by_class, "by_team": ledger.by("team"),
        },
        "sos": by_class.get("sos", ledger.summary("kind", "sos")),
        "overhead": _overhead(world),
        "drops": {k: v for k, v in sorted(drops.items()) if v},
        "failures": world.watch.results(),
        "events": _events(world),
        "unserved_radios": world.medium.unserved(),
    }  # fmt: skip


def _events(world: World) -> list[dict[str, Any]]:
    """Planned happenings that change the network and are no failure: a relief UAV that
    takes off after the start (its routes arrive with it)."""
    out = [
        {"at_s": round(n.track.takeoff_s, 3), "kind": "takeoff", "target": n.name}
        for n in world.nodes
        if isinstance(n.track, Sortie) and 0 < n.track.takeoff_s < world.scenario.duration_s
    ]
    return sorted(out, key=lambda e: (e["at_s"], e["target"]))


def _overhead(world: World) -> dict[str, dict[str, float]]:
    out = {}
    profiles = sorted({p for p, _ in world.medium.bytes})
    for p in profiles:
        b, a = world.medium.bytes, world.medium.airtime
        total = b[(p, "control")] + b[(p, "data")]
        out[p] = {
            "control_bytes": b[(p, "control")], "data_bytes": b[(p, "data")],
            "control_airtime_s": round(a.get((p, "control"), 0.0), 3),
            "data_airtime_s": round(a.get((p, "data"), 0.0), 3),
            "control_share": round(b[(p, "control")] / total, 4) if total else 0.0,
        }  # fmt: skip
    return out


def write_run(world: World, results: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    s = world.scenario
    rows = world.ledger.series(s.metrics_bin_s, s.duration_s)
    samples = {round(x["t_s"]): x for x in world.samples}
    with (out_dir / "series.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, SERIES_FIELDS)
        w.writeheader()
        for row in rows:
            sample = samples.get(round(float(row["t_s"] or 0.0) + s.metrics_bin_s)) or samples.get(
                round(float(row["t_s"] or 0.0)), {}
            )
            merged = {**row, **{k: v for k, v in sample.items() if k != "t_s"}}
            w.writerow({k: _cell(merged.get(k)) for k in SERIES_FIELDS})
    topology = {"snapshots": world.snapshots, "events": world.events}
    (out_dir / "topology.json").write_text(json.dumps(topology) + "\n")
    return {"series": "series.csv", "topology": "topology.json", "pcap": []}


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def apply_overrides(scenario: Scenario, overrides: dict[str, object]) -> Scenario:
    """Change a scenario by dotted paths: ``seed``, ``duration_s``, ``topology_interval_s``,
    ``radio.<profile>.<field>`` (adds or changes a [[radio]] table),
    ``traffic.<kind>.<field>`` (every entry of that kind), ``failure.<n>.<field>``,
    ``node.<name>.<field>`` and ``node.<name>.mobility.<field>`` (a [[node]] table by its
    name: a ``count`` table's changes apply to all its members).
    A path that names nothing, or a value the scenario cannot run with, raises ValueError."""
    for path, value in overrides.items():
        parts = path.split(".")
        if len(parts) == 1:
            scenario = _replace(scenario, parts[0], value, path)
        elif parts[0] == "radio" and len(parts) == 3:
            scenario = _radio(scenario, parts[1], parts[2], value)
        elif parts[0] == "traffic" and len(parts) == 3:
            kinds = [t.kind for t in scenario.traffic]
            if parts[1] not in kinds:
                raise ValueError(
                    f"cannot override {path!r}: the scenario has no {parts[1]} "
                    f"traffic (it has: {', '.join(sorted(set(kinds))) or 'none'})"
                )
            traffic = tuple(
                _replace(t, parts[2], value, path) if t.kind == parts[1] else t
                for t in scenario.traffic
            )
            scenario = dataclasses.replace(scenario, traffic=traffic)
        elif parts[0] == "failure" and len(parts) == 3:
            failures = list(scenario.failures)
            if not parts[1].isdigit() or int(parts[1]) >= len(failures):
                raise ValueError(
                    f"cannot override {path!r}: failures are numbered 0.."
                    f"{len(failures) - 1} in file order"
                )
            i = int(parts[1])
            failures[i] = _replace(failures[i], parts[2], value, path)
            scenario = dataclasses.replace(scenario, failures=tuple(failures))
        elif parts[0] == "node" and len(parts) in (3, 4):
            scenario = _node(scenario, parts[1], parts[2:], value, path)
        else:
            raise ValueError(
                f"cannot override {path!r}: use seed, duration_s, "
                "radio.<profile>.<field>, traffic.<kind>.<field>, "
                "failure.<n>.<field>, node.<name>.<field> or node.<name>.mobility.<field>"
            )
    check_runnable(scenario)
    return scenario


def _replace(obj: Any, name: str, value: object, path: str) -> Any:
    names = [f.name for f in dataclasses.fields(obj)]
    if name not in names or name in ("line", "source"):
        raise ValueError(
            f"cannot override {path!r}: no field {name!r} (fields: "
            f"{', '.join(n for n in names if n not in ('line', 'source'))})"
        )
    return dataclasses.replace(obj, **{name: value})


def _node(scenario: Scenario, name: str, fields: list[str], value: object,
          path: str) -> Scenario:  # fmt: skip
    """A [[node]] table's field, or its mobility's (checked as the loader would)."""
    names = [n.name for n in scenario.nodes]
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1)
        hint = f'; did you mean "{close[0]}"?' if close else ""
        raise ValueError(f'cannot override {path!r}: no [[node]] is named "{name}"{hint}')
    nodes = list(scenario.nodes)
    i = names.index(name)
    node = nodes[i]
    if len(fields) == 1:
        if fields[0] in ("mobility", "radios"):
            raise ValueError(f"cannot override {path!r}: name one of its fields")
        node = _replace(node, fields[0], value, path)
    elif fields[0] == "mobility":
        mobility = _replace(node.mobility, fields[1], value, path)
        models = MOBILITY_APPLIES.get(fields[1], (mobility.model,))
        if mobility.model not in models:
            raise ValueError(
                f"cannot override {path!r}: {name} moves by {mobility.model!r}, which does "
                f"not read {fields[1]} (only {' and '.join(models)} "
                f"{'reads' if len(models) == 1 else 'read'} it)"
            )
        start = node.position if node.position is not None else (0.0, 0.0)
        try:
            check_mobility(mobility, start=start, duration_s=scenario.duration_s)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"cannot override {path!r}: {exc}") from None
        node = dataclasses.replace(node, mobility=mobility)
    else:
        raise ValueError(f"cannot override {path!r}: use node.<name>.mobility.<field>")
    nodes[i] = node
    return dataclasses.replace(scenario, nodes=tuple(nodes))


def check_runnable(scenario: Scenario) -> None:
    """What a changed scenario must still satisfy (the loader checks files; this checks
    what overrides can break)."""
    problems = []
    if not isinstance(scenario.duration_s, int | float) or scenario.duration_s <= 0:
        problems.append("duration_s must be a positive number of seconds")
    if scenario.topology_interval_s <= 0 or scenario.metrics_bin_s <= 0:
        problems.append("topology_interval_s and metrics_bin_s must be positive")
    for t in scenario.traffic:
        if t.every_s is not None and (not isinstance(t.every_s, int | float) or t.every_s <= 0):
            problems.append(f"{t.kind} traffic: every_s must be a positive number")
        if t.every_s is not None and t.at_s is not None:
            problems.append(f"{t.kind} traffic: give every_s or at_s, not both")
    if problems:
        raise ValueError("; ".join(problems))


def _radio(scenario: Scenario, name: str, key: str, value: object) -> Scenario:
    radios = [dict(r) for r in scenario.radios]
    for r in radios:
        if r.get("name") == name:
            r[key] = value
            break
    else:  # change a built-in: a table of the same name based on it
        radios.append({"name": name, "base": name, key: value})
    return dataclasses.replace(scenario, radios=tuple(radios))


__all__ = ["apply_overrides", "check_runnable", "collect", "run_scenario"]
