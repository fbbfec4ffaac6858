"""Failure injection: when each failure of a scenario strikes, and what it does.

Fixed failures strike at ``at_s``; random ones (``rate_per_h``) at Poisson times drawn
from the scenario's seed, each on a node picked among ``target``'s selection. A UAV on a
sortie announces its departure ``DEPARTURE_NOTICE_S`` before it turns for home and is
gone when it lands (a planned departure the scenario need not spell out).

What each kind does: ``node_death`` (silent: the node just stops; ``silent = false``: it
announces a departure 5 s ahead, as a node with a dying battery would), ``node_restart``
(down for ``duration_s``, then back with its persisted counter, keys and custody store,
as the daemon restarts from its database), ``link_cut`` and ``partition`` (frames between
the sides are lost), ``jamming`` (receivers in the area on ``profile`` hear nothing),
``uav_departure`` (announced ``notice_s`` ahead, gone after), ``uav_crash`` and
``gateway_loss`` (silent deaths).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from tacmesh.sim.build import Built, SimNode
from tacmesh.sim.mobility import Sortie
from tacmesh.sim.scenario.model import FailureSpec
from tacmesh.sim.traffic import sources

DEPARTURE_NOTICE_S = 60.0
DYING_NOTICE_S = 5.0


@dataclass(frozen=True, slots=True)
class Strike:
    """One failure at one time on its targets."""

    at_s: float
    spec: FailureSpec
    nodes: tuple[SimNode, ...]
    label: str


def strikes(built: Built, failures: tuple[FailureSpec, ...], duration_s: float,
            rng: random.Random) -> list[Strike]:  # fmt: skip
    out: list[Strike] = []
    for spec in failures:
        if spec.at_s is not None:
            out.append(_fixed(built, spec, spec.at_s))
        elif spec.rate_per_h:
            out += _random(built, spec, duration_s, rng)
    for n in built.nodes:  # sorties run out of endurance
        if isinstance(n.track, Sortie) and n.track.leaves_at < duration_s:
            spec = FailureSpec("uav_departure", target=n.name, notice_s=DEPARTURE_NOTICE_S,
                               duration_s=None)  # fmt: skip
            at = max(0.0, n.track.leaves_at - DEPARTURE_NOTICE_S)
            out.append(Strike(at, spec, (n,), f"{n.name} (endurance)"))
    return sorted(out, key=lambda s: s.at_s)


def _fixed(built: Built, spec: FailureSpec, at: float) -> Strike:
    if spec.kind == "link_cut" and spec.between:
        a, b = (built.by_name[x] for x in spec.between)
        return Strike(at, spec, (a, b), f"{a.name}-{b.name}")
    if spec.kind == "partition":
        team = (spec.target or "").removeprefix("team:")
        return Strike(at, spec, tuple(n for n in built.nodes if n.team == team),
                      team)  # fmt: skip
    if spec.kind == "jamming":
        return Strike(at, spec, (), spec.profile or "all radios")
    targets = tuple(sources(built, spec.target or ""))
    return Strike(at, spec, targets, spec.target or "")


def _random(built: Built, spec: FailureSpec, duration_s: float,
            rng: random.Random) -> list[Strike]:  # fmt: skip
    assert spec.rate_per_h is not None
    pool = sources(built, spec.target or "all")
    out, t = [], 0.0
    while pool:
        t += rng.expovariate(spec.rate_per_h / 3600)
        if t >= duration_s:
            break
        node = pool[rng.randrange(len(pool))]
        out.append(Strike(t, spec, (node,), node.name))
    return out
