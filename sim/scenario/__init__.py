"""Scenario files of the network simulator: the model, the loader and the generator.

``load_scenario`` reads a TOML file (schema 1, SCHEMA.md) into :class:`Scenario` or raises
:class:`ScenarioError` naming every problem's line and fix; ``generate_operation`` writes
the TOML text of a large operation for engineers to save, edit and load.
"""

from __future__ import annotations

from tacmesh.sim.scenario.directory import member_names
from tacmesh.sim.scenario.generate import generate_operation
from tacmesh.sim.scenario.load import load_scenario, parse_scenario
from tacmesh.sim.scenario.model import (
    SCHEMA_VERSION,
    FailureKind,
    FailureSpec,
    Mobility,
    NodeRole,
    NodeSpec,
    RadioUse,
    Scenario,
    Site,
    TeamSpec,
    TrafficKind,
    TrafficSpec,
)
from tacmesh.sim.scenario.problems import ScenarioError

__all__ = [
    "SCHEMA_VERSION",
    "FailureKind",
    "FailureSpec",
    "Mobility",
    "NodeRole",
    "NodeSpec",
    "RadioUse",
    "Scenario",
    "ScenarioError",
    "Site",
    "TeamSpec",
    "TrafficKind",
    "TrafficSpec",
    "generate_operation",
    "load_scenario",
    "member_names",
    "parse_scenario",
]
