"""The interface watch: netlink parsing, scan(), events from a scripted OS and a real one.

Layers, cheapest first: hand-built rtnetlink bytes into the parser (and a fuzz harness:
garbage parses or raises ``NetlinkParseError``, nothing else); ``scan()`` on this host's
loopback; the watch driven by a scripted scanner and a socketpair standing in for the
netlink socket; and, as root, a watch running inside a lab namespace while the test
takes a veth pair down, up, readdresses and deletes it.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import netns
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from netns import Lab, LineReader, Ns

from tacmesh.node.links import oswatch
from tacmesh.node.links.oswatch import InterfaceWatch, OsInterface, scan, split_addresses
from tacmesh.node.links.rtnetlink import (
    IFLA_IFNAME,
    IFLA_MTU,
    AddressMessage,
    LinkFlag,
    LinkMessage,
    MessageType,
    NetlinkParseError,
    OtherMessage,
    parse_datagram,
)

lab = netns.lab  # the fixture; pytest finds fixtures among a module's attributes

FUZZ_EXAMPLES = int(os.environ.get("TACMESH_FUZZ_EXAMPLES", "200"))
EVENT_TIMEOUT_S = 20.0
"""Only a guard against hanging: tests assert on events, never on how fast they came."""
UP = LinkFlag.UP | LinkFlag.RUNNING | LinkFlag.LOWER_UP | LinkFlag.MULTICAST
DOWN = LinkFlag.MULTICAST


# -- hand-built netlink messages, independent of the parser under test --


def rtattr(attr_type: int, value: bytes) -> bytes:
    raw = struct.pack("=HH", 4 + len(value), attr_type) + value
    return raw + bytes(-len(raw) % 4)


def nlmsg(msg_type: int, payload: bytes, *, pad: bool = True) -> bytes:
    raw = struct.pack("=IHHII", 16 + len(payload), msg_type, 0, 0, 0) + payload
    return raw + bytes(-len(raw) % 4) if pad else raw


def link_msg(
    index: int,
    flags: int,
    name: str | None = None,
    mtu: int | None = None,
    *,
    deleted: bool = False,
) -> bytes:
    attrs = b""
    if name is not None:
        attrs += rtattr(IFLA_IFNAME, name.encode() + b"\0")
    if mtu is not None:
        attrs += rtattr(IFLA_MTU, struct.pack("=I", mtu))
    ifinfo = struct.pack("=BxHiII", socket.AF_UNSPEC, 1, index, flags, 0xFFFFFFFF)
    msg_type = MessageType.DELLINK if deleted else MessageType.NEWLINK
    return nlmsg(msg_type, ifinfo + attrs)


def addr_msg(index: int, family: int = socket.AF_INET, *, deleted: bool = False) -> bytes:
    ifaddr = struct.pack("=BBBBI", family, 24, 0, 0, index)
    attrs = rtattr(1, socket.inet_aton("198.18.0.1"))
    return nlmsg(MessageType.DELADDR if deleted else MessageType.NEWADDR, ifaddr + attrs)


# -- parsing --


def test_newlink_gives_flags_name_and_mtu() -> None:
    (message,) = parse_datagram(link_msg(7, UP, "wlan0", 1500))
    assert message == LinkMessage(False, 7, UP, "wlan0", 1500)
    assert isinstance(message, LinkMessage)
    assert message.up and message.multicast


@pytest.mark.parametrize(
    ("flags", "up"),
    [
        (LinkFlag.UP | LinkFlag.RUNNING, True),
        (LinkFlag.UP, False),  # admin up, no carrier (ip link shows NO-CARRIER)
        (LinkFlag.RUNNING | LinkFlag.LOWER_UP, False),  # admin down
        (0, False),
    ],
)
def test_up_needs_admin_up_and_running(flags: int, up: bool) -> None:
    (message,) = parse_datagram(link_msg(3, flags, "eth1"))
    assert isinstance(message, LinkMessage)
    assert message.up is up


def test_dellink_and_missing_attributes() -> None:
    (message,) = parse_datagram(link_msg(9, DOWN, deleted=True))
    assert message == LinkMessage(True, 9, DOWN, None, None)


def test_address_messages_name_their_interface() -> None:
    datagram = addr_msg(4) + addr_msg(5, socket.AF_INET6, deleted=True)
    assert parse_datagram(datagram) == [
        AddressMessage(False, 4, socket.AF_INET),
        AddressMessage(True, 5, socket.AF_INET6),
    ]


def test_several_messages_and_an_unpadded_last_one() -> None:
    last = nlmsg(MessageType.DONE, b"\x01\x02\x03", pad=False)
    datagram = link_msg(1, UP, "lo") + addr_msg(1) + last
    assert [type(m) for m in parse_datagram(datagram)] == [
        LinkMessage,
        AddressMessage,
        OtherMessage,
    ]


def test_attribute_flag_bits_are_ignored() -> None:
    nested_name = rtattr(IFLA_IFNAME | 0x8000, b"mesh0\0")
    ifinfo = struct.pack("=BxHiII", 0, 1, 2, UP, 0)
    (message,) = parse_datagram(nlmsg(MessageType.NEWLINK, ifinfo + nested_name))
    assert isinstance(message, LinkMessage)
    assert message.name == "mesh0"


def test_empty_datagram_has_no_messages() -> None:
    assert parse_datagram(b"") == []


@pytest.mark.parametrize(
    "datagram",
    [
        pytest.param(link_msg(1, UP, "eth0")[:10], id="header cut"),
        pytest.param(link_msg(1, UP, "eth0")[:24], id="body cut"),
        pytest.param(struct.pack("=IHHII", 8, 16, 0, 0, 0), id="length below header"),
        pytest.param(struct.pack("=IHHII", 400, 16, 0, 0, 0), id="length past end"),
        pytest.param(nlmsg(MessageType.NEWLINK, b"\0" * 8), id="short ifinfomsg"),
        pytest.param(nlmsg(MessageType.NEWADDR, b"\0" * 4), id="short ifaddrmsg"),
        pytest.param(
            nlmsg(MessageType.NEWLINK, bytes(16) + struct.pack("=HH", 2, 3)),
            id="attribute below header",
        ),
        pytest.param(
            nlmsg(MessageType.NEWLINK, bytes(16) + struct.pack("=HH", 64, 3)),
            id="attribute past end",
        ),
        pytest.param(nlmsg(MessageType.NEWLINK, bytes(16) + b"\x01\x02"), id="attribute cut"),
        pytest.param(
            nlmsg(MessageType.NEWLINK, bytes(16) + rtattr(IFLA_MTU, b"\x01\x02")),
            id="short MTU",
        ),
        pytest.param(link_msg(1, UP) + b"\0" * 7, id="trailing bytes"),
    ],
)
def test_malformed_datagrams_raise_our_error(datagram: bytes) -> None:
    with pytest.raises(NetlinkParseError):
        parse_datagram(datagram)


VALID_DATAGRAMS = [
    link_msg(2, UP, "wlan0", 1500),
    link_msg(3, DOWN, deleted=True) + addr_msg(3, socket.AF_INET6),
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid datagram with a few bytes overwritten, cut short or extended."""
    data = bytearray(draw(st.sampled_from(VALID_DATAGRAMS)))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    return bytes(data[:cut]) + draw(st.binary(max_size=8))


@pytest.mark.fuzz
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=256), mutated()))
def test_garbage_parses_or_raises_our_error(datagram: bytes) -> None:
    try:
        messages = parse_datagram(datagram)
    except NetlinkParseError:
        return
    assert all(isinstance(m, LinkMessage | AddressMessage | OtherMessage) for m in messages)


# -- scan --


class FakeAddress(NamedTuple):
    family: int
    address: str


def test_scan_sees_loopback_up_with_its_address() -> None:
    lo = scan()["lo"]
    assert lo.up
    assert "127.0.0.1" in lo.ipv4
    assert lo.index == socket.if_nametoindex("lo")


def test_addresses_are_split_sorted_and_lose_their_scope() -> None:
    entries = [
        FakeAddress(socket.AF_INET6, "fe80::2%mesh0"),
        FakeAddress(socket.AF_INET, "198.18.0.9"),
        FakeAddress(socket.AF_INET6, "fd00::1"),
        FakeAddress(socket.AF_INET, "198.18.0.10"),
        FakeAddress(socket.AF_PACKET, "02:00:00:00:00:01"),
        FakeAddress(socket.AF_INET6, "fe80::1%mesh0"),
    ]
    assert split_addresses(entries) == (
        ("198.18.0.9", "198.18.0.10"),
        ("fe80::1", "fe80::2"),
        ("fd00::1",),
    )


def test_multicast_flag_falls_back_to_sysfs() -> None:
    class OldStats(NamedTuple):  # psutil before 5.9.3 had no flags
        isup: bool
        mtu: int

    # Loopback never has IFF_MULTICAST; what matters is that sysfs was read without error.
    assert oswatch.has_multicast("lo", OldStats(True, 65536)) is False
    assert oswatch.has_multicast("no-such-if", OldStats(True, 1500)) is False


# -- the watch, driven by a scripted OS --


def iface(name: str, index: int, *, up: bool = True, ipv4: tuple[str, ...] = ()) -> OsInterface:
    return OsInterface(name, index, up, 1500, ipv4, (), (), True)


Change = tuple[str, OsInterface | None, OsInterface | None]


class Recorder:
    """Collects on_change calls; lets a test await the next one."""

    def __init__(self) -> None:
        self.changes: asyncio.Queue[Change] = asyncio.Queue()

    def __call__(self, name: str, old: OsInterface | None, new: OsInterface | None) -> None:
        self.changes.put_nowait((name, old, new))

    async def next(self) -> Change:
        return await asyncio.wait_for(self.changes.get(), EVENT_TIMEOUT_S)

    def drain(self) -> list[Change]:
        drained = []
        while not self.changes.empty():
            drained.append(self.changes.get_nowait())
        return drained


class ScriptedOs:
    """A scanner whose answer the test sets."""

    def __init__(self, *interfaces: OsInterface) -> None:
        self.view = {i.name: i for i in interfaces}

    def __call__(self) -> dict[str, OsInterface]:
        return dict(self.view)


@pytest.fixture
def fake_netlink(monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """Replace the rtnetlink socket by a datagram socketpair; yields the kernel's end."""
    ours, kernels = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    ours.setblocking(False)
    monkeypatch.setattr(oswatch, "open_rtnetlink", lambda: ours)
    yield kernels
    ours.close()
    kernels.close()


@pytest.mark.asyncio
async def test_start_reports_every_interface_as_appearing() -> None:
    os_view = ScriptedOs(iface("lo", 1), iface("wlan0", 2))
    recorder = Recorder()
    watch = InterfaceWatch(recorder, netlink=False, scanner=os_view)
    await watch.start()
    try:
        assert recorder.drain() == [
            ("lo", None, iface("lo", 1)),
            ("wlan0", None, iface("wlan0", 2)),
        ]
        assert set(watch.current) == {"lo", "wlan0"}
    finally:
        watch.close()


@pytest.mark.asyncio
async def test_polling_reports_changes() -> None:
    os_view = ScriptedOs(iface("wlan0", 2))
    recorder = Recorder()
    watch = InterfaceWatch(recorder, poll_s=0.01, netlink=False, scanner=os_view)
    await watch.start()
    try:
        recorder.drain()
        os_view.view = {"wwan0": iface("wwan0", 3, ipv4=("198.18.9.1",))}
        assert await recorder.next() == ("wlan0", iface("wlan0", 2), None)
        assert await recorder.next() == ("wwan0", None, iface("wwan0", 3, ipv4=("198.18.9.1",)))
    finally:
        watch.close()


@pytest.mark.asyncio
async def test_netlink_unavailable_falls_back_to_polling(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def forbidden() -> socket.socket:
        raise PermissionError(errno.EPERM, "netlink forbidden by the sandbox")

    monkeypatch.setattr(oswatch, "open_rtnetlink", forbidden)
    os_view = ScriptedOs(iface("wlan0", 2))
    recorder = Recorder()
    watch = InterfaceWatch(recorder, poll_s=0.01, scanner=os_view)
    with caplog.at_level(logging.WARNING, logger=oswatch.__name__):
        await watch.start()
    try:
        assert not watch.uses_netlink
        assert [r.getMessage() for r in caplog.records if "polling" in r.getMessage()] != []
        recorder.drain()
        os_view.view = {"wlan0": iface("wlan0", 2, up=False)}
        assert await recorder.next() == ("wlan0", iface("wlan0", 2), iface("wlan0", 2, up=False))
        assert len([r for r in caplog.records if "polling" in r.getMessage()]) == 1
    finally:
        watch.close()


@pytest.mark.asyncio
async def test_link_down_is_reported_from_the_message_before_the_rescan(
    fake_netlink: socket.socket,
) -> None:
    # The scan still says "up" (the link flapped back before we looked), so only the message
    # can produce the down event; the rescan then reports the up.
    os_view = ScriptedOs(iface("wlan0", 2))
    recorder = Recorder()
    watch = InterfaceWatch(recorder, poll_s=3600, scanner=os_view)
    await watch.start()
    try:
        assert watch.uses_netlink
        recorder.drain()
        fake_netlink.send(link_msg(2, DOWN, "wlan0", 1500))
        name, old, new = await recorder.next()
        assert (name, old, new) == ("wlan0", iface("wlan0", 2), iface("wlan0", 2, up=False))
        assert await recorder.next() == ("wlan0", new, iface("wlan0", 2))
    finally:
        watch.close()


@pytest.mark.asyncio
async def test_dellink_and_address_messages(fake_netlink: socket.socket) -> None:
    os_view = ScriptedOs(iface("wlan0", 2), iface("wwan0", 3))
    recorder = Recorder()
    watch = InterfaceWatch(recorder, poll_s=3600, scanner=os_view)
    await watch.start()
    try:
        recorder.drain()
        del os_view.view["wwan0"]
        fake_netlink.send(link_msg(3, DOWN, "wwan0", deleted=True))
        assert await recorder.next() == ("wwan0", iface("wwan0", 3), None)
        os_view.view = {"wlan0": iface("wlan0", 2, ipv4=("198.18.0.5",))}
        fake_netlink.send(addr_msg(2))
        assert await recorder.next() == ("wlan0", iface("wlan0", 2), os_view.view["wlan0"])
    finally:
        watch.close()


@pytest.mark.asyncio
async def test_garbage_from_the_socket_still_triggers_a_rescan(
    fake_netlink: socket.socket, caplog: pytest.LogCaptureFixture
) -> None:
    os_view = ScriptedOs(iface("wlan0", 2))
    recorder = Recorder()
    watch = InterfaceWatch(recorder, poll_s=3600, scanner=os_view)
    await watch.start()
    try:
        recorder.drain()
        os_view.view = {}
        fake_netlink.send(b"\xff" * 5)
        assert await recorder.next() == ("wlan0", iface("wlan0", 2), None)
        assert any("unparseable" in r.getMessage() for r in caplog.records)
    finally:
        watch.close()


class NoBufsOnce:
    """A socket whose first read reports ENOBUFS (the kernel dropped events)."""

    def __init__(self, real: socket.socket) -> None:
        self.real = real
        self.failed = False

    def fileno(self) -> int:
        return self.real.fileno()

    def recv(self, size: int) -> bytes:
        if not self.failed:
            self.failed = True
            raise OSError(errno.ENOBUFS, "No buffer space available")
        return self.real.recv(size)

    def close(self) -> None:
        self.real.close()


@pytest.mark.asyncio
async def test_enobufs_means_rescan(monkeypatch: pytest.MonkeyPatch) -> None:
    ours, kernels = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    ours.setblocking(False)
    monkeypatch.setattr(oswatch, "open_rtnetlink", lambda: NoBufsOnce(ours))
    os_view = ScriptedOs(iface("wlan0", 2))
    recorder = Recorder()
    watch = InterfaceWatch(recorder, poll_s=3600, scanner=os_view)
    await watch.start()
    try:
        recorder.drain()
        # The one message that got through says nothing; the change is found by the rescan.
        os_view.view = {"wlan0": iface("wlan0", 2, ipv4=("198.18.0.7",))}
        kernels.send(nlmsg(MessageType.NOOP, b""))
        assert await recorder.next() == ("wlan0", iface("wlan0", 2), os_view.view["wlan0"])
        assert watch.uses_netlink
    finally:
        watch.close()
        kernels.close()


@pytest.mark.asyncio
async def test_a_failing_callback_does_not_stop_the_watch(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[str] = []

    def fragile(name: str, old: OsInterface | None, new: OsInterface | None) -> None:
        seen.append(name)
        if name == "lo":
            raise RuntimeError("subscriber bug")

    watch = InterfaceWatch(
        fragile, netlink=False, scanner=ScriptedOs(iface("lo", 1), iface("wlan0", 2))
    )
    await watch.start()
    watch.close()
    assert seen == ["lo", "wlan0"]
    assert set(watch.current) == {"lo", "wlan0"}
    assert any("callback failed" in r.getMessage() for r in caplog.records)


@pytest.mark.asyncio
async def test_close_stops_callbacks_and_start_runs_once() -> None:
    os_view = ScriptedOs(iface("wlan0", 2))
    recorder = Recorder()
    watch = InterfaceWatch(recorder, poll_s=0.01, netlink=False, scanner=os_view)
    await watch.start()
    with pytest.raises(RuntimeError):
        await watch.start()
    watch.close()
    watch.close()
    recorder.drain()
    os_view.view = {}
    await asyncio.sleep(0.05)
    assert recorder.drain() == []


@pytest.mark.asyncio
async def test_real_netlink_on_this_host_sees_loopback() -> None:
    recorder = Recorder()
    watch = InterfaceWatch(recorder)
    await watch.start()
    try:
        appeared = {name: new for name, _old, new in recorder.drain()}
        lo = appeared["lo"]
        assert lo is not None and lo.up
        if sys.platform == "linux":
            assert watch.uses_netlink
    finally:
        watch.close()


# -- the watch inside a lab namespace, against the real kernel --


class WatchProcess:
    """``python -m tacmesh.node.links.oswatch`` inside a namespace, read as JSON lines.

    Records not yet matched are kept, so an event that came early (another interface's,
    or the initial ones before ``ready``) is still found by a later query.
    """

    def __init__(self, the_lab: Lab, ns: Ns, log: Path, *args: str) -> None:
        argv = [sys.executable, "-m", "tacmesh.node.links.oswatch", *args]
        with log.open("w") as stderr:
            process = the_lab.run(ns, argv, stdout=subprocess.PIPE, stderr=stderr, text=True)
        assert process.stdout is not None
        self.lines = LineReader(process.stdout)
        self.unmatched: list[dict[str, Any]] = []
        self.ready = self.next_where(None, lambda r: "ready" in r)

    def next_where(self, name: str | None, wanted: Any) -> dict[str, Any]:
        """The first record about ``name`` that is ``wanted``; earlier records about
        ``name`` are dropped (their state is superseded), others are kept."""
        position = 0
        while True:
            while position < len(self.unmatched):
                record = self.unmatched[position]
                if record.get("name") == name and wanted(record):
                    others = [r for r in self.unmatched[:position] if r.get("name") != name]
                    self.unmatched = others + self.unmatched[position + 1 :]
                    return record
                position += 1
            self.unmatched.append(json.loads(self.lines.next(EVENT_TIMEOUT_S)))

    def change(self, name: str, **fields: Any) -> dict[str, Any] | None:
        """The next state of ``name`` with ``fields`` (no fields: the next time it went)."""

        def matches(record: dict[str, Any]) -> bool:
            new = record["new"]
            if not fields:
                return new is None
            return new is not None and all(check(new[k], v) for k, v in fields.items())

        new: dict[str, Any] | None = self.next_where(name, matches)["new"]
        return new


def check(actual: Any, expected: Any) -> bool:
    """Equality, or for lists ``expected`` ⊆ ``actual``."""
    if isinstance(actual, list):
        return set(expected) <= set(actual)
    return bool(actual == expected)


@pytest.mark.netns
def test_watch_reports_real_link_events(lab: Lab, tmp_path: Path) -> None:
    ns = lab.namespace("watch")
    a, b = lab.link(ns, ns, a_addr="198.18.2.1/24", b_addr="198.18.2.2/24")
    # A minute between safety rescans: every change below must come from netlink.
    watch = WatchProcess(lab, ns, tmp_path / "watch.log", "--poll-s", "60")
    assert watch.ready["netlink"] is True
    watch.change(a, up=True, ipv4=["198.18.2.1"])
    watch.change(b, up=True)

    lab.set_link(ns, a, up=False)
    watch.change(a, up=False)
    watch.change(b, up=False)  # its peer went down: no carrier
    lab.set_link(ns, a, up=True)
    watch.change(a, up=True)

    lab.add_address(ns, a, "198.18.2.11/24")
    watch.change(a, ipv4=["198.18.2.1", "198.18.2.11"])
    lab.add_address(ns, a, "fd00:7a6d::11/64")
    watch.change(a, ipv6=["fd00:7a6d::11"])
    lab.ip(ns, "link", "set", a, "mtu", "1400")
    watch.change(a, mtu=1400)

    lab.ip(ns, "link", "del", a)
    watch.change(a)
    watch.change(b)  # deleting one end of a veth deletes both
    c, _d = lab.link(ns, ns, a_addr=None, b_addr=None)
    watch.change(c, up=True)


@pytest.mark.netns
def test_polling_fallback_reports_real_link_events(lab: Lab, tmp_path: Path) -> None:
    ns = lab.namespace("poll")
    a, _b = lab.link(ns, ns, a_addr="198.18.3.1/24", b_addr=None)
    watch = WatchProcess(lab, ns, tmp_path / "watch.log", "--no-netlink", "--poll-s", "0.2")
    assert watch.ready["netlink"] is False
    watch.change(a, up=True)
    lab.set_link(ns, a, up=False)
    watch.change(a, up=False)
    lab.ip(ns, "link", "del", a)
    watch.change(a)
    assert "polling" in (tmp_path / "watch.log").read_text()
