"""Fuzz every wire decoder: whatever the input, it returns a value or raises FrameError.

That is the contract of ``tacmesh.protocol.errors``: nothing else (IndexError,
struct.error, protobuf DecodeError, a cryptography ValueError...) may escape a decoder,
because a node that crashes on one bad frame is a denial of service for the whole mesh.

Inputs are (a) arbitrary bytes and (b) mutations of valid encodings: bit flips, byte
overwrites, truncation, insertion, deletion and splicing with another valid encoding.
Structure-aware tests go further: they protect fuzzed payloads with the real hop key, sign
fuzzed bodies with the real authority or node keys, so the decoders *behind* the
authentication checks are reached too.

Examples per test: ``TACMESH_FUZZ_EXAMPLES`` (default 200). See README.md beside this file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import (
    COMMAND_POST,
    HANDHELD,
    NOW,
    TEAM_RELAY,
    Mission,
    build_mission,
    identity,
    sample_bodies,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tacmesh.protocol.codec import WireCodec
from tacmesh.protocol.compact import PositionReport, StatusReport, VitalSigns
from tacmesh.protocol.crypto.certificates import (
    Permission,
    decode_certificate,
    decode_revocation,
    sign_object,
)
from tacmesh.protocol.crypto.e2e import Binding, unwrap, wrap
from tacmesh.protocol.crypto.hop import seal
from tacmesh.protocol.crypto.keys import open_key_update
from tacmesh.protocol.crypto.replay import ReplayGuard
from tacmesh.protocol.crypto.suite import LABEL_CERT, LABEL_KEY_UPDATE, LABEL_REVOCATION
from tacmesh.protocol.crypto.trust import TrustStore
from tacmesh.protocol.errors import FrameError, Reject
from tacmesh.protocol.fragment import decode_fragment, join, split
from tacmesh.protocol.frame_types import DEFAULT_PRIORITY, FrameType
from tacmesh.protocol.header import Header, decode_header, encode_header, peek_type
from tacmesh.protocol.messages import Body, decode_body, encode_body
from tacmesh.protocol.pb import security_pb2 as pb
from tacmesh.protocol.priority import Priority
from tacmesh.protocol.varint import decode_varint, encode_varint

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("TACMESH_FUZZ_EXAMPLES", "200"))
fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
BODY_TYPES = [t for t in FrameType if t is not FrameType.FRAGMENT]
TAGS = (4, 8, 16)


def survive(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``call``; FrameError is an allowed outcome, any other exception fails the test."""
    try:
        return call(*args, **kwargs)
    except FrameError as err:
        assert isinstance(err.reason, Reject)
        return None


@st.composite
def mutated(draw: st.DrawFn, seeds: Sequence[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(("flip", "set", "truncate", "insert", "delete", "splice")))
        pos = draw(st.integers(0, len(data)))
        if op == "flip" and data:
            data[min(pos, len(data) - 1)] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            byte = draw(st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0xFF]) | st.integers(0, 255))
            data[min(pos, len(data) - 1)] = byte
        elif op == "truncate":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 8))]
        elif op == "splice":
            other = draw(st.sampled_from(seeds))
            data[pos:] = other[draw(st.integers(0, len(other))) :]
    return bytes(data)


def inputs(seeds: Sequence[bytes], max_size: int = 120) -> st.SearchStrategy[bytes]:
    return st.binary(max_size=max_size) | mutated(seeds)


@dataclass(repr=False)
class Corpus:
    mission: Mission
    receiver: WireCodec
    frames: dict[int, list[bytes]]
    """Valid frames of every type, by tag length, for the receiver."""
    bodies: dict[FrameType, list[bytes]]
    headers: list[bytes]
    envelopes: list[tuple[bytes, Binding]]
    signed: dict[FrameType, bytes]
    """A valid certificate, revocation and key update (``Signed`` bytes), by frame type."""

    @property
    def certificate_bodies(self) -> list[bytes]:
        return [pb.Signed.FromString(self.signed[FrameType.CERTIFICATE]).body]

    @property
    def revocation_bodies(self) -> list[bytes]:
        return [pb.Signed.FromString(self.signed[FrameType.REVOCATION]).body]

    @property
    def key_update_bodies(self) -> list[bytes]:
        return [pb.Signed.FromString(self.signed[FrameType.KEY_UPDATE]).body]

    @property
    def all_bodies(self) -> list[bytes]:
        return [b for seeds in self.bodies.values() for b in seeds]

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text("Corpus(...)")  # hypothesis prints fixtures of a failing example


def header_for(ftype: FrameType, counter: int, **fields: Any) -> Header:
    tx = COMMAND_POST if ftype in (FrameType.ORDER, FrameType.MGMT_CONFIG) else HANDHELD
    return Header(ftype, DEFAULT_PRIORITY[ftype], 8, 0, tx, counter, COMMAND_POST, **fields)


def valid_frames(m: Mission, samples: dict[FrameType, Body]) -> dict[int, list[bytes]]:
    frames: dict[int, list[bytes]] = {tag: [] for tag in TAGS}
    for counter, (ftype, body) in enumerate(samples.items(), start=1):
        header = header_for(ftype, counter, age_s=counter)
        for tag in TAGS:
            frames[tag].append(m.nodes[header.transmitter].codec.encode(header, body, tag_len=tag))
    text = samples[FrameType.TEXT]
    sealed_header = header_for(FrameType.TEXT, 99)
    frames[16].append(
        m.handheld.codec.encode(sealed_header, text, tag_len=16, seal_to=COMMAND_POST, now=NOW)
    )
    return frames


SIGNED_OBJECTS = (FrameType.CERTIFICATE, FrameType.REVOCATION, FrameType.KEY_UPDATE)


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    m = build_mission()
    samples = sample_bodies(m)
    frames = valid_frames(m, samples)
    binding = Binding(m.mission_id, FrameType.SOS, HANDHELD, COMMAND_POST, 5)
    sos = encode_body(FrameType.SOS, samples[FrameType.SOS])
    cp_dh = m.command_post.identity.dh_public
    envelopes = [
        (wrap(sos, binding, signer=m.handheld.identity), binding),
        (wrap(sos, binding, seal_to=cp_dh), binding),
        (wrap(sos, binding, signer=m.handheld.identity, seal_to=cp_dh), binding),
    ]
    extended = [header_for(t, 7, origin=TEAM_RELAY, msg_id=3, lifetime_s=600) for t in samples]
    return Corpus(
        mission=m,
        receiver=m.codec(COMMAND_POST),
        frames=frames,
        bodies={t: [encode_body(t, b), b""] for t, b in samples.items()},
        headers=[encode_header(h) for h in extended] + [f[:12] for f in frames[4]],
        envelopes=envelopes,
        signed={t: encode_body(t, samples[t]) for t in SIGNED_OBJECTS},
    )


# --- parsers of cleartext structure ---------------------------------------------------------


@fuzz
@given(data=st.data())
def test_header(corpus: Corpus, data: st.DataObject) -> None:
    raw = data.draw(inputs(corpus.headers, max_size=40))
    decoded = survive(decode_header, raw)
    if decoded is not None:
        header, length = decoded
        assert 12 <= length <= min(len(raw), 29)
        assert encode_header(header) == raw[:length]  # what parses re-encodes identically
    survive(peek_type, raw)


@fuzz
@given(data=st.data(), pos=st.integers(0, 8))
def test_varint(data: st.DataObject, pos: int) -> None:
    seeds = [b"\x00" * pos + encode_varint(v) for v in (0, 127, 128, 300, 2**28, 2**32 - 1)]
    raw = data.draw(inputs(seeds, max_size=12))
    decoded = survive(decode_varint, raw, pos, "fuzz")
    if decoded is not None:
        value, end = decoded
        assert raw[pos:end] == encode_varint(value)


@fuzz
@given(data=st.data())
def test_compact(corpus: Corpus, data: st.DataObject) -> None:
    for cls in (PositionReport, StatusReport, VitalSigns):
        seeds = [cls.decode(b"\x00" * cls.SIZE).encode(), b"\xff" * cls.SIZE]
        raw = data.draw(inputs(seeds, max_size=20))
        report = survive(cls.decode, raw)
        if report is not None:
            assert report.encode() == raw


@fuzz
@pytest.mark.parametrize("ftype", BODY_TYPES, ids=lambda t: t.name)
@given(data=st.data())
def test_body(corpus: Corpus, ftype: FrameType, data: st.DataObject) -> None:
    raw = data.draw(inputs(corpus.bodies[ftype] + corpus.all_bodies[:4]))
    survive(decode_body, ftype, raw)


@fuzz
@given(data=st.data())
def test_fragments(corpus: Corpus, data: st.DataObject) -> None:
    frame = corpus.frames[16][0]
    seeds = split(frame, 20, priority=Priority.CONTROL, transmitter=HANDHELD, datagram_tag=1)
    pieces = [data.draw(inputs(seeds, max_size=30)) for _ in range(data.draw(st.integers(1, 4)))]
    decoded = []
    for raw in pieces:
        fragment = survive(decode_fragment, raw)
        if fragment is not None:
            assert fragment.encode() == raw
            decoded.append(fragment)
    if decoded:
        survive(join, decoded)


# --- whole frames --------------------------------------------------------------------------


@fuzz
@given(data=st.data(), tag_len=st.sampled_from(TAGS))
def test_open_and_receive(corpus: Corpus, data: st.DataObject, tag_len: int) -> None:
    raw = data.draw(inputs(corpus.frames[tag_len], max_size=200))
    codec = corpus.receiver
    codec.guard = ReplayGuard()  # so a valid frame is not rejected only as a replay
    before = codec.rejects.total()
    if survive(codec.receive, raw, tag_len=tag_len, now=NOW) is None:
        assert codec.rejects.total() == before + 1  # every rejection is counted once
    survive(codec.open, raw, tag_len=tag_len, max_len=data.draw(st.integers(0, 300)))


ORIGINS = [HANDHELD, TEAM_RELAY, COMMAND_POST, 0x0777]  # 0x0777 holds no certificate


@st.composite
def protected_headers(draw: st.DrawFn, e2e: bool) -> Header:
    origin = draw(st.sampled_from([None, *ORIGINS]))
    return Header(
        type=draw(st.sampled_from(BODY_TYPES)),
        priority=draw(st.sampled_from(Priority)),
        hop_limit=draw(st.integers(0, 15)),
        key_phase=0,
        transmitter=draw(st.sampled_from(ORIGINS)),
        counter=draw(st.integers(0, 2**32 - 1)),
        destination=draw(st.sampled_from([COMMAND_POST, HANDHELD, 0xE001, 0xFFFF])),
        origin=origin,
        msg_id=None if origin is None else draw(st.integers(0, 2**32 - 1)),
        custody=draw(st.booleans()),
        e2e=e2e,
    )


@fuzz
@given(data=st.data(), mode=st.sampled_from(["plain", "flag", "signed", "sealed", "both"]))
def test_payloads_behind_a_valid_tag(corpus: Corpus, data: st.DataObject, mode: str) -> None:
    """Fuzzed bodies and envelopes under a valid hop tag (and, by mode, a valid signature or
    seal): reaches envelope parsing, certificate checks and body decoding."""
    m, codec = corpus.mission, corpus.receiver
    codec.guard = ReplayGuard()  # reach what lies behind the replay check
    header = data.draw(protected_headers(e2e=mode != "plain"))
    if mode == "flag":  # E set, payload arbitrary: the envelope parser sees fuzz
        seeds = [e for e, _ in corpus.envelopes] + corpus.bodies[header.type]
        payload = data.draw(inputs(seeds))
    else:
        payload = data.draw(inputs(corpus.bodies[header.type] + corpus.all_bodies[:4]))
        if mode != "plain":
            node = m.nodes.get(header.source)
            signer = node.identity if node else identity(40)  # uncertified: unknown_sender
            payload = wrap(
                payload,
                codec.binding(header),
                signer=signer if mode != "sealed" else None,
                seal_to=m.command_post.identity.dh_public if mode != "signed" else None,
            )
    frame = seal(header, payload, m.keyring(), 8)
    before = codec.rejects.total()
    if survive(codec.receive, frame, tag_len=8, now=NOW) is None:
        assert codec.rejects.total() == before + 1


# --- end-to-end envelopes and mission objects ------------------------------------------------


@fuzz
@given(data=st.data(), with_recipient=st.booleans())
def test_unwrap(corpus: Corpus, data: st.DataObject, with_recipient: bool) -> None:
    m = corpus.mission
    envelope, binding = data.draw(st.sampled_from(corpus.envelopes))
    raw = data.draw(inputs([envelope, *(e for e, _ in corpus.envelopes)], max_size=200))
    survive(
        unwrap,
        raw,
        binding,
        sender_key=m.handheld.identity.sign_public,
        recipient=m.command_post.identity if with_recipient else None,
    )


u32 = st.integers(0, 2**32 - 1)
u64 = st.integers(0, 2**64 - 1)
times = st.sampled_from([0, NOW - 1, NOW, NOW + 1, 2**64 - 1]) | u64


@st.composite
def certificate_bodies(draw: st.DrawFn, corpus: Corpus) -> bytes:
    """Structured CertificateBody fields around the edges of every check, or fuzzed bytes."""
    if draw(st.booleans()):
        return draw(inputs(corpus.certificate_bodies))
    keys = st.sampled_from([32, 32, 0, 31, 33]).flatmap(lambda n: st.binary(min_size=n, max_size=n))
    return pb.CertificateBody(
        mission_id=draw(st.just(corpus.mission.mission_id) | u32),
        serial=draw(st.sampled_from([HANDHELD, 0x0999]) | u32),
        address=draw(st.sampled_from([0, 1, 0xDFFF, 0xE000, 0xFFFF, 0x10000]) | u32),
        role=draw(st.integers(0, 12) | u32),
        permissions=draw(u32),
        not_before=draw(times),
        not_after=draw(times),
        sign_key=draw(keys),
        dh_key=draw(keys),
        callsign=draw(st.text(max_size=8)),
        team=draw(u32),
    ).SerializeToString()


@fuzz
@given(data=st.data(), sign=st.booleans())
def test_certificates(corpus: Corpus, data: st.DataObject, sign: bool) -> None:
    m = corpus.mission
    authority = corpus.receiver.trust.authority
    seeds = [n.cert for n in m.nodes.values()]
    if sign:  # the authority's signature over a fuzzed body: reaches the field checks
        raw = sign_object(m.authority.key, LABEL_CERT, data.draw(certificate_bodies(corpus)))
    else:
        raw = data.draw(inputs(seeds, max_size=200))
    survive(decode_certificate, raw, authority, m.mission_id)
    trust = TrustStore(m.authority.public_key)
    trust.apply_revocation(m.authority.revoke(number=1, issued_at=NOW, serials=[0x0999]))
    cert = survive(trust.add_certificate, raw, NOW)
    if cert is not None:
        assert trust.sender(cert.address, NOW, needs=Permission(0)) == cert


@fuzz
@given(data=st.data(), sign=st.booleans())
def test_revocations(corpus: Corpus, data: st.DataObject, sign: bool) -> None:
    m = corpus.mission
    if sign:
        body = data.draw(
            inputs(corpus.revocation_bodies)
            | st.builds(
                pb.RevocationBody,
                mission_id=st.just(m.mission_id) | u32,
                number=u32,
                issued_at=times,
                serials=st.lists(u32, max_size=5),
            ).map(lambda b: b.SerializeToString())
        )
        raw = sign_object(m.authority.key, LABEL_REVOCATION, body)
    else:
        raw = data.draw(inputs([corpus.signed[FrameType.REVOCATION]], max_size=150))
    survive(decode_revocation, raw, corpus.receiver.trust.authority, m.mission_id)
    survive(TrustStore(m.authority.public_key).apply_revocation, raw)


LOW_ORDER_X25519 = [bytes(32), (1).to_bytes(32, "little"), (2**255 - 19).to_bytes(32, "little")]


@st.composite
def key_update_bodies(draw: st.DrawFn, corpus: Corpus) -> bytes:
    """Structured KeyUpdateBody fields (including low-order ephemeral keys) or fuzzed bytes."""
    if draw(st.booleans()):
        return draw(inputs(corpus.key_update_bodies))
    addresses = draw(st.lists(st.sampled_from([COMMAND_POST, 0x0777]), max_size=3))
    wrapped = [pb.WrappedKey(address=a, wrapped=draw(st.binary(max_size=60))) for a in addresses]
    return pb.KeyUpdateBody(
        mission_id=corpus.mission.mission_id,
        epoch=draw(st.integers(0, 2**32 - 1)),
        ephemeral_key=draw(st.sampled_from(LOW_ORDER_X25519) | st.binary(max_size=33)),
        keys=wrapped,
    ).SerializeToString()


@fuzz
@given(data=st.data(), sign=st.booleans())
def test_key_updates(corpus: Corpus, data: st.DataObject, sign: bool) -> None:
    m = corpus.mission
    if sign:
        raw = sign_object(m.authority.key, LABEL_KEY_UPDATE, data.draw(key_update_bodies(corpus)))
    else:
        raw = data.draw(inputs([corpus.signed[FrameType.KEY_UPDATE]], max_size=200))
    survive(
        open_key_update,
        raw,
        authority_key=corpus.receiver.trust.authority,
        mission_id=m.mission_id,
        address=COMMAND_POST,
        identity=m.command_post.identity,
    )
