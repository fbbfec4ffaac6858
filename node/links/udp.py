"""The UDP bearer (SPEC.md §12.1): one frame per datagram, one socket per link.

Neighbours are found two ways: hellos to a link-local multicast group (TTL 1, so they
never leave the link) where the link passes multicast, and configured unicast peers where
it does not (LTE, a satellite modem's IP). A frame for one neighbour goes to the endpoint
that neighbour's authenticated frames last came from; until one has, it goes wherever a
broadcast would, and the others drop it unopened (SPEC.md §8.1.3).

The socket is read by the event loop's reader callback, which drains every datagram
waiting (up to a bound) before the daemon runs the engine's outputs once: under load one
store commit and one timer re-arm serve many frames.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import struct
from collections import Counter
from dataclasses import replace

from tacmesh.node.config import Endpoint, LinkSettings
from tacmesh.node.links.base import OnFrames
from tacmesh.protocol.addresses import ALL_HANDS

log = logging.getLogger(__name__)

Address = tuple[str, int]

DRAIN_MAX = 256
"""Datagrams read per readiness callback: enough to batch, bounded so one busy link
cannot starve the others or the timers."""
RECV_BUFFER = 1 << 21
MAX_DATAGRAM = 65535


class UdpLink:
    def __init__(self, settings: LinkSettings, on_frames: OnFrames) -> None:
        self.settings = settings
        self.name = settings.name
        self.on_frames = on_frames
        self.sock: socket.socket | None = None
        self.learned: dict[int, Address] = {}
        """Neighbour address -> where its authenticated frames come from."""
        self.counters: Counter[str] = Counter()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broadcast: tuple[Address, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.sock is not None

    def open(self, loop: asyncio.AbstractEventLoop, ifindex: int | None = None) -> None:
        """Bind, join the group on the device, and start reading."""
        s = self.settings
        family = socket.AF_INET6 if ":" in s.bind.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECV_BUFFER)
            if s.device is not None:
                # Several links may use the same port on different devices.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, s.device.encode())
            sock.bind((s.bind.host, s.bind.port))
            if s.group is not None and ifindex is not None:
                _join(sock, s.group.host, ifindex)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.sock, self._loop = sock, loop
        self._broadcast = self._broadcast_targets()
        loop.add_reader(sock.fileno(), self._readable)
        log.info("link open", extra={"link": self.name, "bind": str(s.bind)})

    def close(self) -> None:
        if self.sock is None:
            return
        if self._loop is not None:
            self._loop.remove_reader(self.sock.fileno())
        self.sock.close()
        self.sock = None
        self.learned.clear()  # addresses may change while the interface is away

    def set_peers(self, peers: tuple[Endpoint, ...]) -> None:
        """Apply a reloaded peer list (SIGHUP)."""
        self.settings = replace(self.settings, peers=peers)
        self._broadcast = self._broadcast_targets()

    @property
    def local_port(self) -> int | None:
        return None if self.sock is None else int(self.sock.getsockname()[1])

    def describe(self) -> dict[str, object]:
        s = self.settings
        peers = [str(p) for p in s.peers]
        return {"open": self.is_open, "port": self.local_port, "device": s.device,
                "peers": peers, "neighbours_learned": len(self.learned)}  # fmt: skip

    # -- receive -----------------------------------------------------------------------

    def _readable(self) -> None:
        sock = self.sock
        if sock is None:
            return
        batch: list[tuple[bytes, Address]] = []
        for _ in range(DRAIN_MAX):
            try:
                data, addr = sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:  # e.g. ICMP port unreachable from a peer that is down
                self.counters[f"recv_error_{errno.errorcode.get(exc.errno or 0, 'other')}"] += 1
                continue
            batch.append((data, (addr[0], addr[1])))
        if batch:
            self.counters["received"] += len(batch)
            self.on_frames(self, batch)

    def learn(self, neighbour: int, addr: Address) -> None:
        self.learned[neighbour] = addr

    # -- send --------------------------------------------------------------------------

    def send(self, next_hop: int, data: bytes) -> None:
        if self.sock is None:
            self.counters["sent_while_down"] += 1
            return
        if next_hop != ALL_HANDS and (addr := self.learned.get(next_hop)) is not None:
            self._sendto(data, addr)
            return
        for target in self._broadcast:
            self._sendto(data, target)
        if self.settings.group is None:  # no multicast: reach neighbours that found us
            for addr in self.learned.values():
                if addr not in self._broadcast:
                    self._sendto(data, addr)

    def _sendto(self, data: bytes, addr: Address) -> None:
        assert self.sock is not None
        try:
            self.sock.sendto(data, addr)
            self.counters["sent"] += 1
        except BlockingIOError:
            # The socket buffer is full: the datagram is lost like on the air; custody
            # resends what matters.
            self.counters["send_dropped_buffer_full"] += 1
        except OSError as exc:
            self.counters[f"send_error_{errno.errorcode.get(exc.errno or 0, 'other')}"] += 1

    def _broadcast_targets(self) -> tuple[Address, ...]:
        s = self.settings
        out = [(p.host, p.port) for p in s.peers]
        if s.group is not None:
            out.insert(0, (s.group.host, s.group.port))
        return tuple(out)


def _join(sock: socket.socket, group: str, ifindex: int) -> None:
    """Join ``group`` on one interface and send multicast there, TTL 1, without loopback."""
    mreqn = socket.inet_aton(group) + socket.inet_aton("0.0.0.0") + struct.pack("@i", ifindex)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, mreqn)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
