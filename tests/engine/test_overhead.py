"""Control overhead (SPEC.md §8.1 timers): hellos and updates for 100 prefixes fit in
100 B/s per interface in steady state."""

from __future__ import annotations

import pytest

from engine.topologies import silent_failover
from tacmesh.sim import backbone

BUDGET_B_PER_S = 100.0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_backbone_control_bytes_per_interface(seed: int) -> None:
    """Measured over 120 s of virtual time after a 30 s settle, on the busiest interface."""
    rate = silent_failover(seed).control_bytes_per_s_per_interface
    assert 0 < rate <= BUDGET_B_PER_S


def test_the_measured_network_carries_all_100_prefixes() -> None:
    """The budget is met with the whole table, not with routes that never spread."""
    net = backbone.build(seed=1)
    net.run_for(backbone.SETTLE_S)
    prefixes = backbone.team_prefixes(0x20, 50) + backbone.team_prefixes(0x60, 50)
    for address, engine in net.engines.items():
        for prefix in prefixes:
            sel = engine.control.routing.lookup(prefix.base | 0x01)
            assert sel is not None and sel.prefix == prefix, (address, prefix)
