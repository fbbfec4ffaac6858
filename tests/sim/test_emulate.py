"""Emulation with the real daemons (`tacmesh sim emulate`) against the simulator.

The headline: on examples/failover-square.toml (A reaches C through relay R1 on cheaper
radios, or through R2; R1 dies silently at 6 s, or is SIGKILLed) the real daemons fail
over no slower than the simulated engines plus a margin, and A's traffic reaches C after
the failure. Then the channel process's link model, socket by socket and draw by draw.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import socket
from pathlib import Path
from typing import Any

import psutil
import pytest

from tacmesh.sim.build import build
from tacmesh.sim.emulate import EmulationError, emulate
from tacmesh.sim.emulate.air import Air
from tacmesh.sim.emulate.channel import Channel, Plan
from tacmesh.sim.emulate.layout import free_udp_ports
from tacmesh.sim.emulate.netns import PREFIX, list_namespaces, unavailable_reason
from tacmesh.sim.run import run_scenario
from tacmesh.sim.scenario import load_scenario
from tacmesh.sim.scenario.model import Scenario
from tacmesh.sim.world import START_EPOCH

SQUARE = Path(__file__).resolve().parents[2] / "examples" / "failover-square.toml"
DURATION_S = 11.0
FAILURE_AT_S = 6.0
MARGIN_S = 1.5
"""Process scheduling, and the 0.1 s route polling that may see a recovery one probe late."""


def _square() -> Scenario:
    return dataclasses.replace(load_scenario(SQUARE), duration_s=DURATION_S)


@pytest.fixture(scope="module")
def simulated() -> dict[str, Any]:
    return run_scenario(_square())


def _our_namespaces() -> set[str]:
    return {n for n in list_namespaces() if n.startswith(PREFIX)} if _can_list() else set()


def _can_list() -> bool:
    try:
        list_namespaces()
    except (OSError, RuntimeError):
        return False
    return True


def _check_emulated_failover(results: dict[str, Any], simulated: dict[str, Any]) -> None:
    (sim,) = simulated["failures"]
    (emu,) = results["failures"]
    assert sim["affected_flows"] == emu["affected_flows"] == 1  # A -> C went through R1
    assert sim["failover_s"] is not None and emu["failover_s"] is not None
    assert emu["failover_s"] <= sim["failover_s"] + MARGIN_S, (emu, sim)
    # After the failure A's messages still reach C: only R2 is left to carry them.
    after = [b for b in results["series"] if b["t_s"] >= FAILURE_AT_S + 2]
    assert after and all(b["sent"] for b in after)
    assert sum(b["delivered"] for b in after) >= 0.9 * sum(b["sent"] for b in after)
    assert results["emulated"] is True and results["cleanup_problems"] == []
    assert results["differences"] == [] and results["skipped"] == []
    assert not psutil.Process().children(recursive=True), "a process outlived the run"


def _crashed(square: Scenario) -> Scenario:
    """The square with R1 ended by SIGKILL (a crash that restarts only after the run)."""
    (death,) = square.failures
    crash = dataclasses.replace(death, kind="node_restart", silent=False, duration_s=60.0)
    return dataclasses.replace(square, failures=(crash,))


@pytest.mark.slow
@pytest.mark.netns
@pytest.mark.parametrize("how", ["silent", "sigkill"])
def test_real_daemons_fail_over_in_namespaces(
    tmp_path: Path, simulated: dict[str, Any], how: str
) -> None:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    before = _our_namespaces()
    scenario = _square() if how == "silent" else _crashed(_square())
    results = emulate(scenario, tmp_path / "emu", duration_s=DURATION_S)
    assert results["mode"] == "netns"
    _check_emulated_failover(results, simulated if how == "silent" else run_scenario(scenario))
    assert _our_namespaces() <= before, "namespaces left behind"


@pytest.mark.slow
def test_real_daemons_fail_over_on_loopback(tmp_path: Path, simulated: dict[str, Any]) -> None:
    results = emulate(_square(), tmp_path / "emu", duration_s=DURATION_S, loopback=True)
    assert results["mode"] == "loopback"
    _check_emulated_failover(results, simulated)
    assert (tmp_path / "emu" / "results.json").is_file()


def test_large_or_serial_radio_scenarios_are_refused(tmp_path: Path) -> None:
    many = "\n".join(
        f'[[node]]\nname = "n{i}"\nrole = "handheld"\nradios = ["wifi-mesh"]\nposition = [{i}, 0]\n'
        for i in range(17)
    )
    with pytest.raises(EmulationError, match="at most 16"):
        emulate(_scenario(tmp_path, many), tmp_path / "out", loopback=True)
    lora = '[[node]]\nname = "h"\nrole = "handheld"\nradios = ["lora"]\n'
    with pytest.raises(EmulationError, match="only IP radios"):
        emulate(_scenario(tmp_path, lora), tmp_path / "out", loopback=True)


# -- the channel -------------------------------------------------------------------------

LINE = """
[[node]]
name = "a"
role = "handheld"
radios = ["wifi-mesh"]
position = [0, 0]
address = "0x0001"

[[node]]
name = "b"
role = "handheld"
radios = ["wifi-mesh"]
position = [100, 0]
address = "0x0002"

[[node]]
name = "far"
role = "handheld"
radios = ["wifi-mesh"]
position = [9000, 0]
address = "0x0003"

[[node]]
name = "other"
role = "handheld"
radios = [{ profile = "wifi-mesh", channel = "elsewhere" }]
position = [50, 0]
address = "0x0004"
"""


def _scenario(tmp_path: Path, nodes: str, seed: int = 1) -> Scenario:
    path = tmp_path / "line.toml"
    path.write_text(f'schema = 1\nname = "t"\nseed = {seed}\nduration_s = 60\n'
                    f"[site]\nlat = 31.0\nlon = 103.0\n{nodes}")  # fmt: skip
    return load_scenario(path)


def _air(scenario: Scenario) -> Air:
    return Air.of(build(scenario, START_EPOCH), scenario.seed, scenario.topology_interval_s)


def _frame(next_hop: int) -> bytes:
    """Enough of a header for the channel: version bits, then next hop at bytes 10-11."""
    return bytes([0x40]) + bytes(9) + next_hop.to_bytes(2, "big") + b"payload"


def test_a_transmission_reaches_only_neighbours_in_range_and_unicasts_one(
    tmp_path: Path,
) -> None:
    asyncio.run(_exchange(_scenario(tmp_path, LINE)))


async def _exchange(scenario: Scenario) -> None:
    ports = free_udp_ports(8)
    keys = [(i, "wifi-mesh") for i in range(4)]
    plan_ports = {k: (("127.0.0.1", ports[2 * i]), ("127.0.0.1", ports[2 * i + 1]))
                  for i, k in enumerate(keys)}  # fmt: skip
    plan = Plan(scenario.source, 60.0, None, plan_ports, [])
    channel = Channel(plan, _air(scenario))
    await channel.open()
    daemons = [_bound(plan_ports[k][0]) for k in keys]
    a, b, far, other = daemons
    try:
        a.sendto(_frame(0xFFFF), plan_ports[keys[0]][1])  # a transmits
        await asyncio.sleep(0.1)
        assert _drain(b) == [(_frame(0xFFFF), plan_ports[keys[0]][1])]  # from a's socket
        assert _drain(far) == [] and _drain(other) == [] and _drain(a) == []
        b.sendto(_frame(0x0001), plan_ports[keys[0]][1])  # b unicasts to a
        b.sendto(_frame(0xFFFF), plan_ports[keys[0]][1])  # a broadcast's learned copy
        await asyncio.sleep(0.1)
        assert _drain(a) == [(_frame(0x0001), plan_ports[keys[1]][1])]  # from b's socket
        assert _drain(b) == [] and _drain(far) == []
        assert channel.counters["echo"] == 1
    finally:
        channel.close()
        for s in daemons:
            s.close()


def _bound(addr: tuple[str, int]) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(addr)
    s.setblocking(False)
    return s


def _drain(s: socket.socket) -> list[tuple[bytes, tuple[str, int]]]:
    out: list[tuple[bytes, tuple[str, int]]] = []
    while True:
        try:
            data, addr = s.recvfrom(2048)
        except BlockingIOError:
            return out
        out.append((data, (addr[0], addr[1])))


def test_loss_follows_the_link_model(tmp_path: Path) -> None:
    edge = LINE.replace("position = [100, 0]", "position = [360, 0]")  # q about 0.5 here
    air = _air(_scenario(tmp_path, edge))
    air.move(0.0)
    (q,) = [q for rx, q, _, _ in air.medium.ports[(0, "wifi-mesh")].links if rx.node.name == "b"]
    assert 0.1 < q < 0.9, f"the test wants a lossy link, got delivery probability {q}"
    n = 2000
    got = sum(1 for _ in range(n) for _, rx in air.transmit(0.0, (0, "wifi-mesh"), _frame(0xFFFF))
              if rx == (1, "wifi-mesh"))  # fmt: skip
    sigma = math.sqrt(n * q * (1 - q))
    assert abs(got - n * q) < 4 * sigma, (got, n * q)
    counts = air.counters[("a", "b")]
    assert counts["delivered"] == got and counts["lost"] == n - got


def test_a_cut_drops_and_healing_restores(tmp_path: Path) -> None:
    air = _air(_scenario(tmp_path, LINE))
    cut = {"kind": "link_cut", "pair": [0, 1]}
    air.strike(cut, +1)
    assert air.transmit(0.0, (0, "wifi-mesh"), _frame(0xFFFF)) == []
    assert air.unicast(0.0, (1, "wifi-mesh"), (0, "wifi-mesh"), _frame(0x0001)) is None
    assert air.counters[("a", "b")]["cut"] == 1 and air.counters[("b", "a")]["cut"] == 1
    air.strike(cut, -1)
    assert [rx for _, rx in air.transmit(1.0, (0, "wifi-mesh"), _frame(0xFFFF))] == [
        (1, "wifi-mesh")
    ]


@pytest.mark.slow
def test_an_announced_death_moves_routes_before_the_relay_goes(tmp_path: Path) -> None:
    """R1 announces through its API that it leaves in 5 s (as a UAV's bridge would): A's
    route moves to R2 while R1 still forwards, in the emulation as in the simulator."""
    square = _square()
    (death,) = square.failures
    announced = dataclasses.replace(death, silent=False)
    scenario = dataclasses.replace(square, duration_s=14.0, failures=(announced,))
    simulated = run_scenario(scenario)
    results = emulate(scenario, tmp_path / "emu", duration_s=14.0, loopback=True)
    (sim,), (emu,) = simulated["failures"], results["failures"]
    assert sim["affected_flows"] == emu["affected_flows"] == 1
    assert emu["failover_s"] is not None and emu["failover_s"] <= sim["failover_s"] + MARGIN_S
    assert emu["failover_s"] < 5.0  # before R1 is gone: make-before-break
    assert results["skipped"] == []
    delivered = sum(b["delivered"] for b in results["series"] if b["t_s"] >= FAILURE_AT_S)
    sent = sum(b["sent"] for b in results["series"] if b["t_s"] >= FAILURE_AT_S)
    assert sent and delivered >= 0.9 * sent
