"""The namespace lab (tests/netns.py): names, address rules, cleanup, and multicast.

The multicast test is the one the daemon's neighbour discovery rests on: a UDP datagram
sent to a link-local group in one namespace arrives in two others over a shared bridge.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import netns
import pytest
from netns import (
    MAX_NAME,
    PREFIX,
    Lab,
    LineReader,
    Ns,
    RunRecord,
    check_test_address,
    clean_leftovers,
    ip,
    list_namespaces,
    unavailable_reason,
)

lab = netns.lab  # the fixture; pytest finds fixtures among a module's attributes

TIMEOUT_S = 20.0
"""Only a guard against hanging; nothing here measures speed."""
PORT = 47_000

RECEIVER = r"""
import json, socket, struct, sys
family, group, port, ifname = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
index = socket.if_nametoindex(ifname)
if family == "6":
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.bind(("::", port))
    mreq = socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", index)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
else:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", port))
    mreqn = socket.inet_aton(group) + bytes(4) + struct.pack("@i", index)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn)
print(json.dumps({"ready": True}), flush=True)
data, source = sock.recvfrom(2048)
print(json.dumps({"data": data.decode(), "source": source[0]}), flush=True)
"""

SENDER = r"""
import socket, struct, sys, time
family, group, port, ifname, count = sys.argv[1:6]
index = socket.if_nametoindex(ifname)
if family == "6":
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 1)
    destination = (group, int(port), 0, index)
else:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # No default route in the namespace: without this, sendto fails with ENETUNREACH.
    mreqn = bytes(8) + struct.pack("@i", index)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, mreqn)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    destination = (group, int(port))
# A few copies: the receivers are ready, but a copy costs nothing and rules out a race
# with the bridge port coming up.
for _ in range(int(count)):
    sock.sendto(b"hello from " + ifname.encode(), destination)
    time.sleep(0.05)
"""

# -- without root --


@pytest.mark.parametrize("cidr", ["198.18.0.1/24", "198.19.255.1/30", "fd00::1/64", "fdff::/16"])
def test_test_ranges_are_accepted(cidr: str) -> None:
    check_test_address(cidr)


@pytest.mark.parametrize(
    "cidr",
    ["10.0.0.1/24", "192.0.2.1/24", "198.17.255.1/24", "198.18.0.1/8", "fe80::1/64", "2001:db8::1"],
)
def test_other_addresses_are_refused(cidr: str) -> None:
    with pytest.raises(ValueError, match=r"198\.18\.0\.0/15 or fd00::/8"):
        check_test_address(cidr)


def test_without_root_the_skip_reason_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    reason = unavailable_reason.__wrapped__()  # past the cache: probe again
    assert reason is not None
    assert "need root" in reason


# -- with root --


def start_receiver(lab: Lab, ns: Ns, family: str, group: str, ifname: str) -> LineReader:
    argv = [sys.executable, "-c", RECEIVER, family, group, str(PORT), ifname]
    process = lab.run(ns, argv, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    lines = LineReader(process.stdout)
    lines.wait_for(lambda line: json.loads(line) == {"ready": True}, TIMEOUT_S)
    return lines


def eventually(condition: Callable[[], bool], what: str) -> None:
    """Wait for a kernel state that settles asynchronously (linkwatch, process reaping)."""
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not {what} after {TIMEOUT_S} s")
        time.sleep(0.05)


@pytest.mark.netns
def test_names_are_short_unique_and_cleaned_up_even_on_failure() -> None:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    names: set[str] = set()
    with pytest.raises(RuntimeError, match="test failed"), Lab() as first, Lab() as second:
        assert first.run_id != second.run_id
        a, b = first.namespace("alpha"), second.namespace("alpha")
        assert a.name != b.name
        a_if, b_if = first.link(a, first.namespace("b2"))
        ports = first.bridge([a, first.namespace("c3")], "198.18.4.0/24")
        for name in (a.name, b.name, a_if, b_if, *ports.values()):
            assert name.startswith(PREFIX)
            assert len(name) <= MAX_NAME
        names = {ns.name for ns in first.namespaces + second.namespaces}
        assert names <= list_namespaces()
        raise RuntimeError("test failed")
    assert len(names) == 5  # alpha, alpha, b2, c3 and the bridge's own
    assert not names & list_namespaces()


@pytest.mark.netns
def test_addresses_outside_the_test_ranges_never_reach_ip(lab: Lab) -> None:
    a, b = lab.namespace("a"), lab.namespace("b")
    with pytest.raises(ValueError, match="198"):
        lab.link(a, b, a_addr="192.0.2.1/24")
    assert "veth" not in lab.ip(a, "-d", "link")
    with pytest.raises(ValueError, match="198"):
        lab.bridge([a, b], "10.1.0.0/24")
    assert len(lab.namespaces) == 2  # refused before the bridge's namespace was made


@pytest.mark.netns
def test_link_carries_unicast_udp(lab: Lab) -> None:
    a, b = lab.namespace("a"), lab.namespace("b")
    _a_if, b_if = lab.link(a, b, a_addr="198.18.0.1/24", b_addr="198.18.0.2/24")
    assert lab.addresses_of(b, b_if) == ["198.18.0.2"]
    lines = start_receiver(lab, b, "4", "224.0.0.1", b_if)
    send = f"import socket; socket.socket(2, 2).sendto(b'unicast', ('198.18.0.2', {PORT}))"
    lab.exec(a, [sys.executable, "-c", send])
    assert json.loads(lines.next(TIMEOUT_S)) == {"data": "unicast", "source": "198.18.0.1"}


@pytest.mark.netns
@pytest.mark.parametrize(
    ("family", "group"),
    [
        pytest.param("6", "ff02::1", id="ipv6-all-nodes"),
        pytest.param("6", "ff02::7a6d", id="ipv6-link-local-group"),
        pytest.param("4", "224.0.0.123", id="ipv4-local-group"),
    ],
)
def test_multicast_crosses_the_bridge_to_every_member(lab: Lab, family: str, group: str) -> None:
    a, b, c = lab.namespace("a"), lab.namespace("b"), lab.namespace("c")
    ports = lab.bridge([a, b, c], "198.18.1.0/24")
    receivers = {ns: start_receiver(lab, ns, family, group, ports[ns]) for ns in (b, c)}
    lab.exec(a, [sys.executable, "-c", SENDER, family, group, str(PORT), ports[a], "3"])
    for lines in receivers.values():
        received = json.loads(lines.next(TIMEOUT_S))
        assert received["data"] == f"hello from {ports[a]}"
        if family == "4":
            assert received["source"] == "198.18.1.1"  # member 0 got host 1
        else:
            assert received["source"].startswith("fe80:")  # sent from a's link-local


@pytest.mark.netns
def test_set_carrier_drops_the_far_end_only(lab: Lab) -> None:
    a, b = lab.namespace("a"), lab.namespace("b")
    ports = lab.bridge([a, b], "198.18.1.0/24", subnet6="fd00:7a6d:0:1::/64")
    assert lab.addresses_of(b, ports[b]) == ["198.18.1.2", "fd00:7a6d:0:1::2"]

    def flags() -> list[str]:
        shown: list[str] = json.loads(lab.ip(b, "-j", "link", "show", "dev", ports[b]))[0]["flags"]
        return shown

    lab.set_carrier(b, ports[b], up=False)
    eventually(lambda: "NO-CARRIER" in flags(), "without carrier")
    assert "UP" in flags()  # still administratively up: the radio lost the segment
    lab.set_carrier(b, ports[b], up=True)
    eventually(lambda: "LOWER_UP" in flags(), "with carrier again")


@pytest.mark.netns
def test_close_ends_processes_and_strays(lab: Lab) -> None:
    a = lab.namespace("a")
    sleeper = lab.run(a, ["sleep", "600"])
    # A grandchild in a session of its own escapes the group that close() signals.
    spawn = "setsid sleep 600 >/dev/null 2>&1 & echo $!"
    stray = int(lab.exec(a, ["sh", "-c", spawn]).stdout)
    lab.close()
    assert sleeper.returncode is not None
    eventually(lambda: not alive(stray), "gone (the stray)")
    assert a.name not in list_namespaces()


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.netns
def test_clean_leftovers_removes_only_dead_runs_namespaces() -> None:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    dead, live = RunRecord(), RunRecord()
    dead_ns, live_ns = f"{PREFIX}{dead.run_id}old", f"{PREFIX}{live.run_id}old"
    try:
        for record, name in ((dead, dead_ns), (live, live_ns)):
            record.add(name)
            ip("netns", "add", name)
        dead.release(keep=True)  # as if its process had been killed mid-test
        removed = clean_leftovers()
        assert dead_ns in removed
        assert live_ns not in removed
        assert not dead.path.exists()
        assert live.path.exists()
        assert live_ns in list_namespaces()
    finally:
        for name in {dead_ns, live_ns} & list_namespaces():
            ip("netns", "del", name)
        live.release()
