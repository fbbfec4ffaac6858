"""The three-node line A - B - C on point-to-point IP links, converged."""

from __future__ import annotations

from typing import Any

from tacmesh.protocol.engine.config import InterfaceConfig
from tacmesh.sim.mini import MiniNet

A, B, C = 0x0101, 0x0102, 0x0103


def line(seed: int = 11, **b_config: Any) -> MiniNet:
    net = MiniNet(seed=seed)
    net.add_node(A, [InterfaceConfig("b")])
    net.add_node(B, [InterfaceConfig("a"), InterfaceConfig("c")], **b_config)
    net.add_node(C, [InterfaceConfig("b")])
    net.connect(A, "b", B, "a")
    net.connect(B, "c", C, "b")
    net.run_for(10)
    assert net.engines[A].control.routing.lookup(C) is not None
    return net
