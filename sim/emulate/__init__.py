"""tacmesh.sim.emulate: run a small scenario with the real daemons instead of the engines.

``emulate(scenario, out_dir)`` gives every node a key bundle and a ``node.toml``, starts a
``tacmesh node run`` process per node (each in its own network namespace when root, else
on 127.0.0.1), and joins their UDP links through one channel process that applies the
scenario's link model: who hears whom, loss, delay, cuts, partitions, jamming. Traffic
goes in and out through the daemons' local API; failures hit the processes; the results
use the simulator's field names, so a figure from ``tacmesh sim run`` and one from
``tacmesh sim emulate`` on the same file can be put side by side.

Modules: ``layout`` (keys, configs, the channel's plan), ``air`` (the link model asked
per datagram), ``channel`` (the medium, a process of its own), ``netns`` (namespaces and
veths), ``processes`` (starting and ending them by PID), ``drive`` (traffic and receipts
through the API), ``watch`` (failover from polled routes), ``run`` (the whole run) and
``results`` (results.json).
"""

from __future__ import annotations

from tacmesh.sim.emulate.layout import MAX_NODES, EmulationError
from tacmesh.sim.emulate.run import emulate

__all__ = ["MAX_NODES", "EmulationError", "emulate"]
