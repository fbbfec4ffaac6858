"""Daemons in network namespaces on one shared segment (a bridge, like a Wi-Fi mesh):
neighbours found by link-local multicast alone, and a link that goes away and comes back.

Each node runs `tacmesh node run` inside its own namespace with one device-bound link and
no configured peers. Hellos every 4 s make the difference between the OS's link-down
(passed to the engine at once) and a hello time-out (10 s) plain.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import netns
import pytest
from daemons import Daemon, Fleet, Mission, route_to, wait_for, write_config
from netns import Lab, Ns

from tacmesh.protocol.addresses import Role

lab = netns.lab
A, B, C = 0x0401, 0x0402, 0x0403
HELLO_S = 4.0


@pytest.fixture
def segment(lab: Lab, tmp_path: Path) -> Iterator[tuple[Lab, dict[str, Daemon], dict[str, str]]]:
    mission = Mission.create(tmp_path, {"a": (A, Role.HANDHELD), "b": (B, Role.TEAM_RELAY),
                                        "c": (C, Role.COMMAND_POST)})  # fmt: skip
    spaces = {name: lab.namespace(name) for name in "abc"}
    ports = lab.bridge(list(spaces.values()), "198.18.4.0/24")
    fleet = Fleet()
    try:
        daemons = {}
        for name, ns in spaces.items():
            link = {"name": ports[ns], "hello_interval_s": HELLO_S}
            cfg = write_config(tmp_path, name, mission.bundles[name], [link])
            daemons[name] = fleet.add(Daemon(name, cfg, tmp_path / f"{name}.sock",
                                             tmp_path / f"{name}.log",
                                             prefix=["ip", "netns", "exec", ns.name]))  # fmt: skip
            daemons[name].start()
        yield lab, daemons, {name: ports[ns] for name, ns in spaces.items()}
    finally:
        fleet.close()


def _neighbours(d: Daemon) -> set[str]:
    return {row["address"] for row in d.ask("neighbors")["neighbors"] if row["cost"] is not None}


@pytest.mark.netns
@pytest.mark.slow
def test_nodes_find_each_other_by_multicast_and_a_lost_link_is_acted_on_at_once(
    segment: tuple[Lab, dict[str, Daemon], dict[str, str]],
) -> None:
    lab, d, ports = segment
    wait_for(lambda: _neighbours(d["b"]) == {f"0x{A:04x}", f"0x{C:04x}"}, 3 * HELLO_S,
             "b to hear a and c over multicast")  # fmt: skip
    wait_for(lambda: route_to(d["a"], C) is not None, 3 * HELLO_S, "a route from a to c")
    b_ns = next(ns for ns in lab.namespaces if ns.name.endswith("b"))

    # The radio loses the segment (carrier gone, interface still up): the OS tells the
    # daemon, which drops its neighbours now, not after 2.5 hellos (10 s).
    lab.set_carrier(b_ns, ports["b"], up=False)
    wait_for(lambda: not _neighbours(d["b"]), HELLO_S, "b to drop its neighbours on link-down")
    assert "link down" in d["b"].log.read_text()

    lab.set_carrier(b_ns, ports["b"], up=True)
    wait_for(lambda: len(_neighbours(d["b"])) == 2, 3 * HELLO_S, "b's neighbours to return")

    # Administratively down and up again (a Wi-Fi link dropped by the operator).
    lab.set_link(b_ns, ports["b"], up=False)
    wait_for(lambda: not _neighbours(d["b"]), HELLO_S, "b to drop its neighbours again")
    lab.set_link(b_ns, ports["b"], up=True)
    wait_for(lambda: len(_neighbours(d["b"])) == 2, 3 * HELLO_S, "b's neighbours to return")
    with d["c"].client() as c_app, d["b"].client() as b_app:
        c_app.subscribe(["text"])
        b_app.send("text", f"0x{C:04x}", {"body": "link is back"})
        event = c_app.next_event(3 * HELLO_S)
    assert event is not None and event["body"] == {"body": "link is back"}


def _plug(lab: Lab, d: Ns, e: Ns) -> None:
    """A cable (a USB modem's link) named usb0 at both ends, appearing at run time."""
    lab.ip(d, "link", "add", "usb0", "type", "veth", "peer", "name", "usb0", "netns", e.name)
    for ns, cidr in ((d, "198.18.9.1/24"), (e, "198.18.9.2/24")):
        lab.add_address(ns, "usb0", cidr)
        lab.set_link(ns, "usb0", up=True)


@pytest.mark.netns
@pytest.mark.slow
def test_an_interface_plugged_in_at_run_time_is_used_and_its_removal_noticed(
    lab: Lab, tmp_path: Path
) -> None:
    mission = Mission.create(tmp_path, {"d": (A, Role.GATEWAY), "e": (B, Role.TEAM_RELAY)})
    spaces = {name: lab.namespace(name) for name in "de"}
    fleet = Fleet()
    try:
        for name, ns in spaces.items():
            link = {"name": "usb0", "hello_interval_s": 0.5}  # not there yet
            cfg = write_config(tmp_path, name, mission.bundles[name], [link])
            fleet.add(Daemon(name, cfg, tmp_path / f"{name}.sock", tmp_path / f"{name}.log",
                             prefix=["ip", "netns", "exec", ns.name])).start()  # fmt: skip
        d = fleet.daemons[0]
        assert d.ask("status")["status"]["links"]["usb0"]["open"] is False
        _plug(lab, spaces["d"], spaces["e"])
        wait_for(lambda: _neighbours(d) == {f"0x{B:04x}"}, 10, "d to meet e over usb0")
        lab.ip(spaces["d"], "link", "del", "usb0")  # unplugged: both ends go
        wait_for(lambda: not d.ask("status")["status"]["links"]["usb0"]["open"], 10,
                 "d to close the link of a device that is gone")  # fmt: skip
        assert not _neighbours(d)
        _plug(lab, spaces["d"], spaces["e"])
        wait_for(lambda: _neighbours(d) == {f"0x{B:04x}"}, 10, "d to meet e again")
    finally:
        fleet.close()
