"""Watching an engine's calls from a test, without patching the engine.

Tests used to replace an engine's methods on the instance; an engine compiled with mypyc
(setup.py, TACMESH_COMPILE=1) has read-only methods, so they wrap the object instead: a
:class:`Watched` stands in for the engine in ``MiniNet.engines`` (which the harness looks
up for every input and output) and forwards everything it does not watch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from tacmesh.protocol.engine.events import Transmit
from tacmesh.protocol.engine.node import NodeEngine
from tacmesh.sim.mini import MiniNet

Wrap = Callable[[Callable[..., Any]], Callable[..., Any]]
"""Given the engine's own bound method, the callable to use in its place."""


class Watched:
    def __init__(self, engine: NodeEngine, wraps: dict[str, Wrap]) -> None:
        self.engine = engine
        self._own = {name: wrap(getattr(engine, name)) for name, wrap in wraps.items()}

    def __getattr__(self, name: str) -> Any:
        own = self._own.get(name)
        return own if own is not None else getattr(self.engine, name)


def watch(net: MiniNet, address: int, wraps: dict[str, Wrap]) -> None:
    """Put a :class:`Watched` in place of the engine at ``address``."""
    net.engines[address] = cast(NodeEngine, Watched(net.engines[address], wraps))


def on_transmits(net: MiniNet, address: int, seen: Callable[[list[Transmit]], object]) -> None:
    """Call ``seen`` with every batch of frames the engine at ``address`` hands over (at
    ``net.now``), then let them go on as usual."""

    def wrap(pop: Callable[[], list[Transmit]]) -> Callable[[], list[Transmit]]:
        def popped() -> list[Transmit]:
            out = pop()
            seen(out)
            return out

        return popped

    watch(net, address, {"pop_transmits": wrap})
