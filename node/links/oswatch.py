"""Which OS network interfaces exist, and notice the moment one goes down or comes up.

The daemon runs one UDP link per configured interface. Radios and modems come and go in
the field (a USB LTE modem is plugged in, a Wi-Fi mesh link drops), so it must learn of a
change at once, not seconds later when hellos time out.

Why two sources:

- psutil gives the whole picture in one call per kind: addresses, MTU, up/down and flags
  for every interface. It is maintained, ships wheels for the ARM boards relays run on,
  and saves us from parsing address dumps ourselves. It cannot tell us *when* to look.
- rtnetlink (a stdlib ``AF_NETLINK`` socket, no extra dependency) pushes an event the
  instant a link or address changes. We subscribe to link, IPv4 and IPv6 address groups;
  any message triggers a rescan (coalesced: all datagrams waiting in one loop iteration
  cost one scan) and the rescan is diffed against the last view. RTM_NEWLINK/RTM_DELLINK
  are also read directly (``rtnetlink.py``) so that a link going down is reported from the
  message itself, before the rescan: a down-up flap shorter than the scan still shows as
  two events.

Where netlink cannot be opened (not Linux, or a sandbox forbids it) the watch says so once
in the log and polls every ``poll_s`` seconds. With netlink it still rescans every
``poll_s`` as a safety net, and rescans at once when the kernel reports ENOBUFS (events
were dropped because we read too slowly).

``up`` means IFF_UP and IFF_RUNNING, the same test psutil's ``isup`` makes: administratively
up and operational (carrier present, not dormant). Run this module to watch by hand:
``python -m tacmesh.node.links.oswatch`` prints one JSON line per change.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import errno
import ipaddress
import json
import logging
import signal
import socket
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from tacmesh.node.links.rtnetlink import (
    WATCH_GROUPS,
    LinkFlag,
    LinkMessage,
    NetlinkParseError,
    parse_datagram,
)

logger = logging.getLogger(__name__)

RECV_BUFFER = 1 << 20
"""SO_RCVBUF for the netlink socket: room for a burst (a modem re-enumerating several
interfaces) so the kernel rarely has to drop events and answer ENOBUFS."""
MAX_DATAGRAM = 65536
MAX_READS_PER_WAKEUP = 256
"""Bound the work done in one reader callback so a storm cannot starve the event loop."""


@dataclass(frozen=True, slots=True)
class OsInterface:
    """One OS network interface as last seen."""

    name: str
    index: int
    """The kernel's interface index (what IPV6_MULTICAST_IF and scope ids want)."""
    up: bool
    """Administratively up AND carrier: IFF_UP and IFF_RUNNING."""
    mtu: int
    ipv4: tuple[str, ...]
    """IPv4 addresses without prefix length, sorted."""
    ipv6_link_local: tuple[str, ...]
    """fe80::/10 addresses without ``%scope``, sorted."""
    ipv6: tuple[str, ...]
    """Every other IPv6 address, sorted."""
    multicast: bool
    """IFF_MULTICAST: neighbour discovery by multicast can work here."""


OnChange = Callable[[str, OsInterface | None, OsInterface | None], None]
"""on_change(name, old, new): old is None when it appeared, new is None when it went."""
Scanner = Callable[[], dict[str, OsInterface]]


def scan() -> dict[str, OsInterface]:
    """Every interface the OS has now, by name."""
    indices = {name: index for index, name in socket.if_nameindex()}
    stats = psutil.net_if_stats()
    addresses = psutil.net_if_addrs()
    found: dict[str, OsInterface] = {}
    for name, stat in stats.items():
        index = indices.get(name)
        if index is None:
            continue  # appeared or vanished between the calls; the next scan settles it
        ipv4, link_local, ipv6 = split_addresses(addresses.get(name, []))
        found[name] = OsInterface(
            name=name,
            index=index,
            up=stat.isup,
            mtu=stat.mtu,
            ipv4=ipv4,
            ipv6_link_local=link_local,
            ipv6=ipv6,
            multicast=has_multicast(name, stat),
        )
    return found


def split_addresses(
    addresses: Iterable[Any],
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(IPv4, IPv6 link-local, other IPv6) from psutil's snicaddr list, each sorted so
    that a reordering alone is never reported as a change."""
    ipv4: list[ipaddress.IPv4Address] = []
    link_local: list[ipaddress.IPv6Address] = []
    ipv6: list[ipaddress.IPv6Address] = []
    for entry in addresses:
        if entry.family == socket.AF_INET:
            ipv4.append(ipaddress.IPv4Address(entry.address))
        elif entry.family == socket.AF_INET6:
            address = ipaddress.IPv6Address(entry.address.split("%", 1)[0])
            (link_local if address.is_link_local else ipv6).append(address)
    return (
        tuple(str(a) for a in sorted(ipv4)),
        tuple(str(a) for a in sorted(link_local)),
        tuple(str(a) for a in sorted(ipv6)),
    )


def has_multicast(name: str, stat: Any) -> bool:
    """IFF_MULTICAST from psutil's flag names (psutil >= 5.9.3), else from sysfs."""
    flag_names: str | None = getattr(stat, "flags", None)
    if flag_names is not None:
        return "multicast" in flag_names.split(",")
    try:
        flags = int(Path(f"/sys/class/net/{name}/flags").read_text(), 16)
    except (OSError, ValueError):
        return False
    return bool(flags & LinkFlag.MULTICAST)


def open_rtnetlink() -> socket.socket:
    """A non-blocking rtnetlink socket subscribed to link and address changes."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECV_BUFFER)
        sock.bind((0, WATCH_GROUPS))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class InterfaceWatch:
    """Calls on_change(name, old, new) (old/new: OsInterface | None) whenever an interface
    appears, disappears, goes up/down, or its addresses/MTU change.

    ``netlink=False`` forces polling; ``scanner`` replaces ``scan`` (tests drive the watch
    with scripted views). Runs on the asyncio loop that calls ``start``.
    """

    def __init__(
        self,
        on_change: OnChange,
        *,
        poll_s: float = 5.0,
        netlink: bool = True,
        scanner: Scanner = scan,
    ) -> None:
        if poll_s <= 0:
            raise ValueError(f"poll_s must be positive, got {poll_s}")
        self._on_change = on_change
        self._poll_s = poll_s
        self._want_netlink = netlink
        self._scanner = scanner
        self._current: dict[str, OsInterface] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sock: socket.socket | None = None
        self._poll_timer: asyncio.TimerHandle | None = None
        self._rescan_soon: asyncio.Handle | None = None
        self._closed = False

    @property
    def current(self) -> dict[str, OsInterface]:
        """A copy of the last view, by name."""
        return dict(self._current)

    @property
    def uses_netlink(self) -> bool:
        """True while events come from rtnetlink; False when polling."""
        return self._sock is not None

    async def start(self) -> None:
        """Report every existing interface as appearing, then watch for changes."""
        if self._loop is not None or self._closed:
            raise RuntimeError("an InterfaceWatch starts once, and not after close()")
        self._loop = asyncio.get_running_loop()
        # Subscribe before the first scan so that no change between the two is lost.
        if self._want_netlink:
            self._sock = self._open_netlink()
        else:
            logger.info("netlink not wanted; polling interfaces every %.1f s", self._poll_s)
        self._rescan()
        if self._sock is not None:
            self._loop.add_reader(self._sock.fileno(), self._on_readable)
        self._arm_poll()

    def close(self) -> None:
        """Stop watching; no callback is made afterwards. Safe to call twice."""
        self._closed = True
        for handle in (self._poll_timer, self._rescan_soon):
            if handle is not None:
                handle.cancel()
        self._poll_timer = self._rescan_soon = None
        self._drop_netlink()

    def _open_netlink(self) -> socket.socket | None:
        try:
            return open_rtnetlink()
        except (OSError, AttributeError) as err:  # AttributeError: no AF_NETLINK here
            logger.warning(
                "rtnetlink unavailable (%s); polling interfaces every %.1f s", err, self._poll_s
            )
            return None

    def _drop_netlink(self) -> None:
        if self._sock is None:
            return
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._sock.fileno())
        self._sock.close()
        self._sock = None

    def _arm_poll(self) -> None:
        assert self._loop is not None
        self._poll_timer = self._loop.call_later(self._poll_s, self._on_poll_timer)

    def _on_poll_timer(self) -> None:
        self._rescan()
        if not self._closed:
            self._arm_poll()

    def _on_readable(self) -> None:
        for datagram in self._read_datagrams():
            try:
                messages = parse_datagram(datagram)
            except NetlinkParseError as err:
                logger.warning("unparseable rtnetlink datagram (%s); rescanning", err)
                continue
            for message in messages:
                if isinstance(message, LinkMessage):
                    self._apply_link(message)
        # Whatever the messages said, the scan is the full truth: one per wake-up.
        self._schedule_rescan()

    def _read_datagrams(self) -> Iterator[bytes]:
        for _ in range(MAX_READS_PER_WAKEUP):
            if self._sock is None:
                return
            try:
                yield self._sock.recv(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:
                if err.errno == errno.ENOBUFS:
                    continue  # events were dropped: the rescan that follows recovers them
                logger.warning("rtnetlink read failed (%s); falling back to polling", err)
                self._drop_netlink()
                return

    def _apply_link(self, message: LinkMessage) -> None:
        """Report a link's new state from the message itself, ahead of the rescan."""
        name = self._name_of(message.index)
        if name is None:
            return  # a new interface: the rescan reports it, addresses and all
        if message.deleted:
            self._update(name, None)
            return
        if message.name is not None and message.name != name:
            return  # a rename: the rescan reports the old name gone and the new one
        old = self._current[name]
        new = dataclasses.replace(
            old,
            up=message.up,
            multicast=message.multicast,
            mtu=old.mtu if message.mtu is None else message.mtu,
        )
        self._update(name, new)

    def _name_of(self, index: int) -> str | None:
        for name, interface in self._current.items():
            if interface.index == index:
                return name
        return None

    def _schedule_rescan(self) -> None:
        if self._rescan_soon is None and self._loop is not None and not self._closed:
            self._rescan_soon = self._loop.call_soon(self._rescan)

    def _rescan(self) -> None:
        self._rescan_soon = None
        if self._closed:
            return
        try:
            fresh = self._scanner()
        except OSError as err:
            logger.warning("interface scan failed (%s); retrying in %.1f s", err, self._poll_s)
            return
        for name in sorted(self._current.keys() - fresh.keys()):
            self._update(name, None)
        for name in sorted(fresh):
            self._update(name, fresh[name])

    def _update(self, name: str, new: OsInterface | None) -> None:
        old = self._current.get(name)
        if old == new or self._closed:
            return
        if new is None:
            del self._current[name]
        else:
            self._current[name] = new
        try:
            self._on_change(name, old, new)
        except Exception:
            # One faulty subscriber must not leave the view half-applied for the others.
            logger.exception("interface change callback failed for %s", name)


def change_record(name: str, old: OsInterface | None, new: OsInterface | None) -> dict[str, Any]:
    """One change as a JSON-ready dict (what ``python -m`` prints)."""
    return {
        "name": name,
        "old": None if old is None else dataclasses.asdict(old),
        "new": None if new is None else dataclasses.asdict(new),
    }


async def watch_and_print(*, poll_s: float, netlink: bool) -> None:
    """Print each change as a JSON line, then ``{"ready": ...}`` once watching, until
    SIGINT or SIGTERM."""

    def emit(name: str, old: OsInterface | None, new: OsInterface | None) -> None:
        print(json.dumps(change_record(name, old, new)), flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    watch = InterfaceWatch(emit, poll_s=poll_s, netlink=netlink)
    await watch.start()
    try:
        print(json.dumps({"ready": True, "netlink": watch.uses_netlink}), flush=True)
        await stop.wait()
    finally:
        watch.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--poll-s", type=float, default=5.0, help="rescan period (seconds)")
    parser.add_argument("--no-netlink", action="store_true", help="poll only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(watch_and_print(poll_s=args.poll_s, netlink=not args.no_netlink))


if __name__ == "__main__":
    main()
