"""Compute and check conformance vectors (SPEC.md §12).

Each vector holds its inputs and the expected bytes in hex. Checking a vector computes
the bytes from the inputs and compares them, then decodes the expected bytes with the
receiving side of the codec and compares the result with the inputs: both directions,
so an encoder and a decoder are each held to the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from tacmesh.protocol.crypto import keys as keymod
from tacmesh.protocol.crypto.certificates import decode_certificate, decode_revocation
from tacmesh.protocol.crypto.e2e import Binding, unwrap, wrap
from tacmesh.protocol.crypto.hop import seal
from tacmesh.protocol.crypto.suite import hop_key, u32
from tacmesh.protocol.errors import FrameError
from tacmesh.protocol.fragment import decode_fragment, join, split
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.header import decode_header, encode_header
from tacmesh.protocol.messages import decode_body, encode_body
from tacmesh.protocol.priority import Priority
from tacmesh.protocol.varint import decode_varint, encode_varint
from tacmesh.protocol.vectors.jsonform import (
    body_from_json,
    body_to_json,
    header_from_json,
    header_to_json,
)
from tacmesh.protocol.vectors.mission import VectorMission

Vector = dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    name: str
    ok: bool
    detail: str = ""


def load(path: str | None = None) -> dict[str, Any]:
    if path is not None:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)  # type: ignore[no-any-return]
    text = resources.files("tacmesh.protocol.vectors").joinpath("vectors.json").read_text()
    return json.loads(text)  # type: ignore[no-any-return]


def _ephemeral(v: Vector) -> X25519PrivateKey | None:
    seed = v.get("ephemeral_seed")
    return None if seed is None else X25519PrivateKey.from_private_bytes(bytes.fromhex(seed))


def _binding(m: VectorMission, v: Vector) -> Binding:
    return Binding(
        m.authority.mission_id,
        FrameType[v["type"]],
        int(v["origin"], 0),
        int(v["destination"], 0),
        v["msg_id"],
    )


def _frame_bytes(m: VectorMission, v: Vector) -> bytes:
    header = header_from_json(v["header"])
    payload = encode_body(header.type, body_from_json(header.type, v["body"]))
    if header.e2e:
        sender = m.nodes[header.source]
        codec = m.codec(header.source)
        seal_to = v.get("seal_to")
        payload = wrap(
            payload,
            codec.binding(header),
            signer=sender.identity if v.get("sign") else None,
            seal_to=None if seal_to is None else m.nodes[int(seal_to, 0)].identity.dh_public,
            ephemeral=_ephemeral(v),
        )
    return seal(header, payload, m.keyring(v.get("epoch", 0)), v["tag_len"])


def _check_frame(m: VectorMission, v: Vector, data: bytes) -> None:
    receiver = m.codec(int(v["receiver"], 0), v.get("epoch", 0))
    got = receiver.receive(data, tag_len=v["tag_len"], now=m.now)
    _same("header", header_to_json(got.header), v["header"])
    _same("body", body_to_json(got.body), _canonical(got.header.type, v["body"]))
    if v.get("sign") and (got.signed_by is None or got.signed_by.address != got.header.source):
        raise AssertionError("signature not attributed to the origin")


def _forward_bytes(m: VectorMission, v: Vector) -> bytes:
    relay = m.codec(int(v["relay"], 0))
    frame = relay.open(bytes.fromhex(v["input"]), tag_len=v["tag_in"])
    return relay.forward(
        frame, counter=v["counter"], next_hop=int(v["next_hop"], 0), tag_len=v["tag_out"]
    )


def _check_forward(m: VectorMission, v: Vector, data: bytes) -> None:
    receiver = m.codec(int(v["receiver"], 0))
    got = receiver.receive(data, tag_len=v["tag_out"], now=m.now)
    _same("header", header_to_json(got.header), v["header"])


def _e2e_bytes(m: VectorMission, v: Vector) -> bytes:
    return wrap(
        bytes.fromhex(v["body_hex"]),
        _binding(m, v),
        signer=m.nodes[int(v["origin"], 0)].identity if v["sign"] else None,
        seal_to=m.nodes[int(v["destination"], 0)].identity.dh_public if v["seal"] else None,
        ephemeral=_ephemeral(v),
    )


def _check_e2e(m: VectorMission, v: Vector, data: bytes) -> None:
    origin = m.nodes[int(v["origin"], 0)]
    opened = unwrap(
        data,
        _binding(m, v),
        sender_key=origin.identity.sign_public,
        recipient=m.nodes[int(v["destination"], 0)].identity,
    )
    _same("body", opened.body.hex(), v["body_hex"])


def _key_update_bytes(m: VectorMission, v: Vector) -> bytes:
    certs = [
        decode_certificate(
            m.nodes[int(a, 0)].certificate, m.authority.key.public_key(), m.authority.mission_id
        )
        for a in v["recipients"]
    ]
    return keymod.issue_key_update(
        m.authority,
        epoch=v["epoch"],
        activate_at=v["activate_at"],
        retire_previous_at=v["retire_previous_at"],
        network_key=m.network_keys[v["epoch"]],
        recipients=certs,
        ephemeral=_ephemeral(v),
    )


def _check_key_update(m: VectorMission, v: Vector, data: bytes) -> None:
    for addr, node in m.nodes.items():
        update = keymod.open_key_update(
            data,
            authority_key=m.authority.key.public_key(),
            mission_id=m.authority.mission_id,
            address=addr,
            identity=node.identity,
        )
        expected = m.network_keys[v["epoch"]] if f"0x{addr:04x}" in v["recipients"] else None
        _same(f"key for 0x{addr:04x}", update.network_key, expected)


def _fragments(m: VectorMission, v: Vector) -> bytes:
    parts = split(
        bytes.fromhex(v["input"]),
        v["mtu"],
        priority=Priority[v["priority"]],
        transmitter=int(v["transmitter"], 0),
        datagram_tag=v["datagram_tag"],
    )
    return b"".join(len(p).to_bytes(2, "big") + p for p in parts)


def _check_fragments(m: VectorMission, v: Vector, data: bytes) -> None:
    parts, pos = [], 0
    while pos < len(data):
        size = int.from_bytes(data[pos : pos + 2], "big")
        parts.append(decode_fragment(data[pos + 2 : pos + 2 + size]))
        pos += 2 + size
    _same("reassembled", join(parts[::-1]).hex(), v["input"])


def _nothing(m: VectorMission, v: Vector, data: bytes) -> None:
    return None


Kind = tuple[
    Callable[[VectorMission, Vector], bytes], Callable[[VectorMission, Vector, bytes], None]
]

KINDS: dict[str, Kind] = {
    "mission_id": (lambda m, v: u32(m.authority.mission_id), _nothing),
    "hop_key": (
        lambda m, v: hop_key(m.network_keys[v["epoch"]], m.authority.mission_id, v["epoch"]),
        _nothing,
    ),
    "varint": (
        lambda m, v: encode_varint(v["value"]),
        lambda m, v, d: _same("value", decode_varint(d, 0, "vector")[0], v["value"]),
    ),
    "header": (
        lambda m, v: encode_header(header_from_json(v["header"])),
        lambda m, v, d: _same("header", header_to_json(decode_header(d)[0]), v["header"]),
    ),
    "body": (
        lambda m, v: encode_body(
            FrameType[v["type"]], body_from_json(FrameType[v["type"]], v["body"])
        ),
        lambda m, v, d: _same(
            "body",
            body_to_json(decode_body(FrameType[v["type"]], d)),
            _canonical(FrameType[v["type"]], v["body"]),
        ),
    ),
    "certificate": (
        lambda m, v: m.nodes[int(v["address"], 0)].certificate,
        lambda m, v, d: _same(
            "address",
            decode_certificate(d, m.authority.key.public_key(), m.authority.mission_id).address,
            int(v["address"], 0),
        ),
    ),
    "revocation": (
        lambda m, v: m.authority.revoke(
            number=v["number"], issued_at=v["issued_at"], serials=v["serials"]
        ),
        lambda m, v, d: _same(
            "serials",
            sorted(
                decode_revocation(d, m.authority.key.public_key(), m.authority.mission_id).serials
            ),
            sorted(v["serials"]),
        ),
    ),
    "key_update": (_key_update_bytes, _check_key_update),
    "e2e": (_e2e_bytes, _check_e2e),
    "frame": (_frame_bytes, _check_frame),
    "forward": (_forward_bytes, _check_forward),
    "fragments": (_fragments, _check_fragments),
}


def _canonical(ftype: FrameType, body: dict[str, Any]) -> dict[str, Any]:
    """The body's JSON as the encoder would write it (defaults dropped or filled in)."""
    return body_to_json(body_from_json(ftype, body))


def _same(what: str, got: object, want: object) -> None:
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")


def compute(mission: VectorMission, vector: Vector) -> bytes:
    return KINDS[vector["kind"]][0](mission, vector)


def check(doc: dict[str, Any]) -> list[Outcome]:
    """Check every vector of ``doc``; never raises for a failing vector."""
    mission = VectorMission(doc["keys"])
    results = []
    for v in doc["vectors"]:
        try:
            make, verify = KINDS[v["kind"]]
            got = make(mission, v)
            if got.hex() != v["hex"]:
                raise AssertionError(f"computed {got.hex()}, file has {v['hex']}")
            verify(mission, v, bytes.fromhex(v["hex"]))
            results.append(Outcome(v["name"], True))
        except (AssertionError, FrameError, KeyError, ValueError) as exc:
            results.append(Outcome(v["name"], False, f"{type(exc).__name__}: {exc}"))
    return results
