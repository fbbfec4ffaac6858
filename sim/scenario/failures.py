"""Reading one [[failure]] table into ``model.FailureSpec``.

Rules: each kind takes only the keys it reads (fields.FAILURE_APPLIES); a failure happens
at a fixed ``at_s`` or at random (``rate_per_h``), not both nor neither; each kind's needs
are checked here (link_cut: between; jamming: center and duration_s or profile; partition:
a team; restart: its downtime). Names are resolved later, against all nodes (checks.py).
"""

from __future__ import annotations

from dataclasses import replace
from typing import cast

from tacmesh.sim.scenario.fields import FAILURE_APPLIES, FAILURE_KEYS, FAILURE_KINDS, example
from tacmesh.sim.scenario.model import FailureKind, FailureSpec
from tacmesh.sim.scenario.problems import Problems
from tacmesh.sim.scenario.reader import Table, present
from tacmesh.sim.scenario.words import Raw, show, where_of


def read_failure(
    raw: Raw, index: int, duration: float | None, problems: Problems
) -> FailureSpec | None:
    t = Table(raw, ("failure", index), where_of("failure", index, raw), problems)
    t.check_keys(FAILURE_KEYS)
    kind = t.choice("kind", FAILURE_KINDS, required=True)
    values: dict[str, object | None] = {
        "at_s": t.number("at_s", low=0, high=duration, bound="duration_s"),
        "target": t.text("target"),
        "between": _between(t),
        "silent": t.flag("silent"),
        "duration_s": t.number("duration_s", above=0),
        "notice_s": t.number("notice_s", low=0),
        "center": t.point("center"),
        "radius_m": t.number("radius_m", above=0),
        "profile": t.text("profile"),
        "rate_per_h": t.number("rate_per_h", above=0),
    }
    if kind is None:
        return None
    _check_applies(t, kind)
    _check_timing(t)
    _check_needs(t, kind)
    if not t.ok:
        return None
    spec = FailureSpec(kind=cast(FailureKind, kind), line=t.line)
    return replace(spec, **present(values))


def _between(t: Table) -> tuple[str, str] | None:
    value = t.raw.get("between")
    if value is None:
        return None
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        t.mistyped("between", value, "two node names", f"write {example('between')}")
        return None
    first, second = str(value[0]), str(value[1])
    if first == second:
        t.problem("between", f"between names {show(first)} twice", "name the link's two ends")
        return None
    return (first, second)


def _check_applies(t: Table, kind: str) -> None:
    applies = FAILURE_APPLIES[kind]
    for key in t.raw:
        if key != "kind" and key in FAILURE_KEYS and key not in applies:
            t.problem(
                key,
                f'{key} does not apply to kind "{kind}"',
                f"remove it ({kind} reads: " + ", ".join(applies) + ")",
            )


def _check_timing(t: Table) -> None:
    if t.has("at_s") and t.has("rate_per_h"):
        t.problem(
            "rate_per_h",
            "both at_s and rate_per_h are given",
            "keep at_s for one failure at a fixed time or rate_per_h for random ones",
        )
    elif not t.has("at_s") and not t.has("rate_per_h"):
        t.problem(None, "no at_s or rate_per_h", "add at_s = 1800 or rate_per_h = 0.5")


def _check_needs(t: Table, kind: str) -> None:
    def need(what: str, fix: str) -> None:
        t.problem(None, f"{kind} needs {what}", fix)

    if kind == "link_cut" and not t.has("between"):
        need("between", f"add {example('between')}")
    if kind == "jamming":
        if not t.has("center"):
            need("a center", "add center = [x, y] (metres)")
        if not t.has("duration_s") and not t.has("profile"):
            need("duration_s or profile", 'add duration_s = 600 or profile = "lora"')
    if kind == "partition" and not t.has("target"):
        need("a target team", 'add target = "<team name>"')
    if kind == "node_restart" and not t.has("duration_s"):
        need("duration_s (the downtime)", "add duration_s = 300")
    needs_target = kind in ("node_death", "node_restart", "uav_departure", "uav_crash")
    if (needs_target or kind == "gateway_loss") and not t.has("target") and not t.has("rate_per_h"):
        need("a target or rate_per_h", f"add {example('target')} or rate_per_h = 0.5")
