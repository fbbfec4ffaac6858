"""Simulator speed: the kernel against a bare heapq loop, then the 1,000-node operation.

    python bench/sim_speed.py [--wall-budget S]

Prints ``kernel_events_per_s``, ``baseline_events_per_s``, ``kernel_to_baseline_ratio``
(goal >= 0.8; both loops run the same no-op workload in this process, alternately after
a round of each to warm up, and the medians are compared because this machine is noisy),
then ``nodes``, ``simulated_s``, ``wall_s`` and, last, ``realtime_factor`` for
examples/operation-1000.toml (every responder reporting position every 30 s and vitals
every 60 s, real crypto on every frame; goal >= 20). The operation runs for its hour or
until the wall budget is spent, whichever comes first; the factor is over what was simulated.

It first prints ``core``: ``pure Python``, or ``compiled (mypyc)`` where the compiled core
(the engines, codecs and the simulator's per-frame path) was installed (README, "The
compiled core"),
and ``python``: the interpreter's version, where it lives and whether it runs off a shared
libpython. Compare figures of the same core and interpreter: this machine's pyenv CPython
(built without profile-guided and link-time optimisation, against a shared libpython) ran
the compiled operation about 15 % slower than Debian's own python3.11, which Debian builds
with both and links statically.
"""

from __future__ import annotations

import argparse
import heapq
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from tacmesh.protocol.engine import COMPILED
from tacmesh.sim.collector import tuned_for_a_run
from tacmesh.sim.kernel import Kernel
from tacmesh.sim.scenario import load_scenario
from tacmesh.sim.world import START_EPOCH, World

EVENTS = 300_000
ACTORS = 1_000
TRIALS = 5
OPERATION = Path(__file__).resolve().parents[1] / "examples" / "operation-1000.toml"


def baseline() -> float:
    """Events per second of the bare loop: each actor reschedules itself."""
    heap: list[tuple[float, int, object, int]] = []
    state = {"seq": 0, "now": 0.0, "count": 0}

    def tick(i: int) -> None:
        state["count"] += 1
        if state["count"] < EVENTS:
            state["seq"] += 1
            heapq.heappush(heap, (state["now"] + 0.5 + (i % 7) * 0.01, state["seq"], tick, i))

    for i in range(ACTORS):
        state["seq"] += 1
        heapq.heappush(heap, (i * 0.001, state["seq"], tick, i))
    start = time.perf_counter()
    while heap:
        when, _, action, arg = heapq.heappop(heap)
        state["now"] = when
        action(arg)  # type: ignore[operator]
    return EVENTS / (time.perf_counter() - start)


def kernel() -> float:
    k = Kernel()
    count = [0]

    def tick(i: int) -> None:
        count[0] += 1
        if count[0] < EVENTS:
            k.at(k.now + 0.5 + (i % 7) * 0.01, tick, i)

    for i in range(ACTORS):
        k.at(i * 0.001, tick, i)
    start = time.perf_counter()
    k.run_until(float("inf"))
    return EVENTS / (time.perf_counter() - start)


def operation(budget_s: float) -> tuple[int, float, float]:
    scenario = load_scenario(OPERATION)
    world = World(scenario)
    start = time.perf_counter()
    end = START_EPOCH + scenario.duration_s
    with tuned_for_a_run():  # as World.run does for every simulation
        while world.kernel.now < end and time.perf_counter() - start < budget_s:
            world.kernel.run_until(min(end, world.kernel.now + 1.0))
    return len(world.nodes), world.t, time.perf_counter() - start


def linkage() -> str:
    """Say so when the interpreter runs off a shared libpython (seen on Linux): a telltale
    of a build slower than a distribution's statically linked one."""
    try:
        with open("/proc/self/maps", encoding="ascii", errors="replace") as maps:
            shared = any("libpython" in line for line in maps)
    except OSError:
        return ""
    return ", shared libpython" if shared else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wall-budget", type=float, default=120.0, metavar="S")
    args = parser.parse_args()
    print(f"core: {'compiled (mypyc)' if COMPILED else 'pure Python'}")
    print(f"python: {platform.python_version()} ({os.path.realpath(sys.executable)}{linkage()})")
    # A round of each first, not counted: the first round of either always ran slower.
    baseline()
    kernel()
    base, kern = [], []
    for _ in range(TRIALS):
        base.append(baseline())
        kern.append(kernel())
    b, k = statistics.median(base), statistics.median(kern)
    print(f"kernel_events_per_s: {k:.0f}")
    print(f"baseline_events_per_s: {b:.0f}")
    print(f"kernel_to_baseline_ratio: {k / b:.2f}")
    nodes, simulated, wall = operation(args.wall_budget)
    print(f"nodes: {nodes}")
    print(f"simulated_s: {simulated:.1f}")
    print(f"wall_s: {wall:.1f}")
    print(f"realtime_factor: {simulated / wall:.2f}")


if __name__ == "__main__":
    main()
