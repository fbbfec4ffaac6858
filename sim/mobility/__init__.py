"""How simulated nodes move: one ``Track`` per node, asked for its position at any time.

The world builds a track per node with ``make_track`` from the scenario's ``Mobility``
spec and samples ``position(t)`` every topology interval. Every track is pure: random
choices are drawn once at construction from the caller's seeded ``random.Random``, so
the same seed gives the same motion and calls may come in any order of ``t``.

Files: ``path.py`` (the Track protocol and timed polylines), ``ground.py`` (random
waypoint, group), ``air.py`` (orbit, sortie), ``build.py`` (``make_track``, validation).
"""

from __future__ import annotations

from tacmesh.sim.mobility.air import Orbit, Sortie
from tacmesh.sim.mobility.build import make_track
from tacmesh.sim.mobility.ground import Group
from tacmesh.sim.mobility.path import Path, Track

__all__ = ["Group", "Orbit", "Path", "Sortie", "Track", "make_track"]
