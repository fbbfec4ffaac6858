"""Parse rtnetlink datagrams: bytes in, records out.

This file opens no socket and keeps no state, so it can be fed garbage by a fuzzer. It
reads only what the interface watch needs to act at once: link flags, name and MTU from
RTM_NEWLINK/RTM_DELLINK, and which interface an RTM_NEWADDR/RTM_DELADDR is about.
Everything else (addresses, statistics) the watch gets from a rescan.

The rule it keeps: any input either parses into records or raises ``NetlinkParseError``;
nothing else escapes. Layouts are the kernel's (``linux/netlink.h``, ``linux/rtnetlink.h``,
``linux/if_link.h``), in host byte order, every message and attribute padded to 4 bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum, IntFlag

# Multicast groups (bit masks for bind()): link changes, IPv4 and IPv6 address changes.
RTMGRP_LINK = 0x1
RTMGRP_IPV4_IFADDR = 0x10
RTMGRP_IPV6_IFADDR = 0x100
WATCH_GROUPS = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR

NLMSG_HEADER = struct.Struct("=IHHII")
"""struct nlmsghdr: length (header included), type, flags, sequence, port id."""
IFINFOMSG = struct.Struct("=BxHiII")
"""struct ifinfomsg: family, pad, device type, index, flags, change mask."""
IFADDRMSG = struct.Struct("=BBBBI")
"""struct ifaddrmsg: family, prefix length, flags, scope, index."""
RTATTR = struct.Struct("=HH")
"""struct rtattr: length (header included), type."""

NLA_TYPE_MASK = 0x3FFF
"""Attribute type bits; the top two are the NLA_F_NESTED and NLA_F_NET_BYTEORDER flags."""

IFLA_IFNAME = 3
IFLA_MTU = 4


class MessageType(IntEnum):
    NOOP = 1
    ERROR = 2
    DONE = 3
    OVERRUN = 4
    NEWLINK = 16
    DELLINK = 17
    NEWADDR = 20
    DELADDR = 21


class LinkFlag(IntFlag):
    """The ``ifi_flags`` bits the watch uses (``linux/if.h``)."""

    UP = 0x1
    RUNNING = 0x40
    MULTICAST = 0x1000
    LOWER_UP = 0x10000


class NetlinkParseError(ValueError):
    """A datagram that is not well-formed rtnetlink: truncated or inconsistent lengths."""


@dataclass(frozen=True, slots=True)
class LinkMessage:
    """An RTM_NEWLINK or RTM_DELLINK: a link appeared, changed or went away."""

    deleted: bool
    """True for RTM_DELLINK."""
    index: int
    """The kernel's interface index (stable for the interface's life, unlike its name)."""
    flags: int
    """``ifi_flags``: see ``LinkFlag``."""
    name: str | None
    """IFLA_IFNAME, or None when the message carried none."""
    mtu: int | None
    """IFLA_MTU, or None when the message carried none."""

    @property
    def up(self) -> bool:
        """Administratively up and operational (carrier): the same test as psutil's isup."""
        return link_is_up(self.flags)

    @property
    def multicast(self) -> bool:
        return bool(self.flags & LinkFlag.MULTICAST)


@dataclass(frozen=True, slots=True)
class AddressMessage:
    """An RTM_NEWADDR or RTM_DELADDR: some address on ``index`` was added or removed."""

    deleted: bool
    index: int
    family: int
    """AF_INET or AF_INET6."""


@dataclass(frozen=True, slots=True)
class OtherMessage:
    """Any other message type: reported so the caller can still rescan on it."""

    type: int


RtMessage = LinkMessage | AddressMessage | OtherMessage


def link_is_up(flags: int) -> bool:
    """IFF_UP and IFF_RUNNING: RUNNING is the kernel's "operationally up" (carrier present,
    and not dormant, e.g. Wi-Fi not yet associated), the state in which frames can flow."""
    wanted = LinkFlag.UP | LinkFlag.RUNNING
    return flags & wanted == wanted


def align(length: int) -> int:
    """NLMSG_ALIGN / RTA_ALIGN: messages and attributes start on 4-byte boundaries."""
    return (length + 3) & ~3


def parse_datagram(data: bytes) -> list[RtMessage]:
    """Every message in one datagram read from a netlink socket, in order."""
    return [parse_message(msg_type, payload) for msg_type, payload in split_messages(data)]


def split_messages(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(type, payload) for each nlmsghdr-framed message in ``data``."""
    offset = 0
    while offset < len(data):
        if len(data) - offset < NLMSG_HEADER.size:
            raise NetlinkParseError(f"{len(data) - offset} trailing bytes, shorter than a header")
        length, msg_type, _flags, _seq, _port = NLMSG_HEADER.unpack_from(data, offset)
        if length < NLMSG_HEADER.size:
            raise NetlinkParseError(f"message length {length} is shorter than its header")
        if length > len(data) - offset:
            raise NetlinkParseError(f"message length {length} runs past the datagram")
        yield msg_type, data[offset + NLMSG_HEADER.size : offset + length]
        # The last message need not be padded out to the boundary.
        offset += align(length)


def parse_message(msg_type: int, payload: bytes) -> RtMessage:
    if msg_type in (MessageType.NEWLINK, MessageType.DELLINK):
        return parse_link(payload, deleted=msg_type == MessageType.DELLINK)
    if msg_type in (MessageType.NEWADDR, MessageType.DELADDR):
        return parse_address(payload, deleted=msg_type == MessageType.DELADDR)
    return OtherMessage(msg_type)


def parse_link(payload: bytes, *, deleted: bool) -> LinkMessage:
    if len(payload) < IFINFOMSG.size:
        raise NetlinkParseError(f"ifinfomsg needs {IFINFOMSG.size} bytes, got {len(payload)}")
    _family, _dev_type, index, flags, _change = IFINFOMSG.unpack_from(payload)
    name: str | None = None
    mtu: int | None = None
    for attr_type, value in iter_attributes(payload[IFINFOMSG.size :]):
        if attr_type == IFLA_IFNAME:
            name = decode_name(value)
        elif attr_type == IFLA_MTU:
            mtu = decode_u32(value, "IFLA_MTU")
    return LinkMessage(deleted, index, flags, name, mtu)


def parse_address(payload: bytes, *, deleted: bool) -> AddressMessage:
    if len(payload) < IFADDRMSG.size:
        raise NetlinkParseError(f"ifaddrmsg needs {IFADDRMSG.size} bytes, got {len(payload)}")
    family, _prefix_len, _flags, _scope, index = IFADDRMSG.unpack_from(payload)
    # Addresses themselves come from the rescan; checking the attributes' framing keeps
    # "well-formed" meaning the same for every message type we read.
    for _attr in iter_attributes(payload[IFADDRMSG.size :]):
        pass
    return AddressMessage(deleted, index, family)


def iter_attributes(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(type, value) for each rtattr; the type without its flag bits."""
    offset = 0
    while offset < len(data):
        if len(data) - offset < RTATTR.size:
            raise NetlinkParseError(f"{len(data) - offset} trailing bytes in the attributes")
        length, attr_type = RTATTR.unpack_from(data, offset)
        if length < RTATTR.size or length > len(data) - offset:
            raise NetlinkParseError(f"attribute length {length} does not fit")
        yield attr_type & NLA_TYPE_MASK, data[offset + RTATTR.size : offset + length]
        offset += align(length)


def decode_name(value: bytes) -> str | None:
    """A NUL-terminated interface name, decoded as the OS does (undecodable bytes kept as
    surrogates, so the name matches what ``socket.if_nameindex`` and psutil report)."""
    raw = value.split(b"\0", 1)[0]
    return raw.decode("utf-8", "surrogateescape") if raw else None


def decode_u32(value: bytes, what: str) -> int:
    if len(value) != 4:
        raise NetlinkParseError(f"{what} needs 4 bytes, got {len(value)}")
    number: int = struct.unpack("=I", value)[0]
    return number
