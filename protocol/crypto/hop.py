"""Hop-by-hop protection (SPEC.md §7.4): AES-128-CCM under the epoch's hop key.

Each transmission is protected by its transmitter: the whole header is authenticated
(associated data), the payload is encrypted, and the tag is 4, 8 or 16 bytes by bearer.
The nonce is the transmitter's address and frame counter, unique under one key because a
node never reuses a counter within an epoch.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace

from cryptography.exceptions import InvalidTag

from tacmesh.protocol.crypto.keys import NetworkKeyring
from tacmesh.protocol.crypto.replay import ReplayGuard
from tacmesh.protocol.crypto.suite import TAG_LENGTHS
from tacmesh.protocol.errors import FrameError, Reject
from tacmesh.protocol.header import Header, decode_header, encode_header

_NONCE = struct.Struct(">HIx")


def nonce(transmitter: int, counter: int) -> bytes:
    """7-byte CCM nonce: transmitter (2), counter (4), zero (1)."""
    return _NONCE.pack(transmitter, counter)


@dataclass(slots=True)
class Frame:
    """An authenticated frame: its header and its decrypted payload."""

    header: Header
    payload: bytes

    def __init__(self, header: Header, payload: bytes) -> None:  # as engine.events.Transmit's
        self.header = header
        self.payload = payload


def seal(header: Header, payload: bytes, keyring: NetworkKeyring, tag_len: int) -> bytes:
    """Protect ``payload`` under the current epoch; sets the header's key phase."""
    if tag_len not in TAG_LENGTHS:
        raise ValueError(f"tag length {tag_len} is not one of {TAG_LENGTHS}")
    epoch = keyring.current
    if header.key_phase != epoch & 1:
        header = replace(header, key_phase=epoch & 1)
    aad = encode_header(header)
    aead = keyring.cipher(epoch, tag_len)
    return aad + aead.encrypt(nonce(header.transmitter, header.counter), payload, aad)


def open_frame(
    data: bytes,
    keyring: NetworkKeyring,
    tag_len: int,
    guard: ReplayGuard | None = None,
    max_len: int = 65535,
) -> Frame:
    """Parse, check the replay window, verify and decrypt one frame."""
    if len(data) > max_len:
        raise FrameError(Reject.OVERSIZED, f"{len(data)} bytes on a bearer of {max_len}")
    header, hlen = decode_header(data)
    if len(data) - hlen < tag_len:
        raise FrameError(Reject.TRUNCATED, f"no room for the {tag_len}-byte tag")
    transmitter, counter = header.transmitter, header.counter
    epoch = keyring.epoch_for_phase(header.key_phase)
    # Look the window up without creating one: a window is created (and may evict the
    # least recently heard) only once the tag verifies, so forged frames cannot flush them.
    window = guard.find(transmitter, epoch) if guard is not None else None
    if window is not None:
        window.check(counter)
    aead = keyring.cipher(epoch, tag_len)
    try:
        payload = aead.decrypt(_NONCE.pack(transmitter, counter), data[hlen:], data[:hlen])
    except InvalidTag:
        raise FrameError(Reject.BAD_TAG, f"from 0x{transmitter:04x}") from None
    if guard is not None:
        guard.window(transmitter, epoch, window).accept(counter)
    return Frame(header, payload)
