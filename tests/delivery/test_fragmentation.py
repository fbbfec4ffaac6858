"""Fragmentation in the engines (SPEC.md §4.5): under loss, and against forged fragments."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from tacmesh.protocol.engine.config import InterfaceConfig
from tacmesh.protocol.engine.reassembly import Reassembly
from tacmesh.protocol.fragment import Fragment
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.pb import messages_pb2
from tacmesh.protocol.priority import Priority
from tacmesh.sim.mini import MiniNet

A, B = 0x1201, 0x1200
T0 = 1_790_000_000.0


def small_mtu_pair(loss: float, seed: int) -> MiniNet:
    net = MiniNet(seed=seed)
    radio = InterfaceConfig("radio0", tag_len=8, mtu=51, hello_interval_s=1.0)
    net.add_node(A, [radio])
    net.add_node(B, [radio])
    net.connect(A, "radio0", B, "radio0", loss=loss)
    net.run_for(20)
    return net


def test_a_large_message_crosses_a_51_byte_link_in_pieces() -> None:
    net = small_mtu_pair(loss=0.0, seed=1)
    text = "Collapse risk on the east wall of building 4; keep out. " * 4
    net.send(A, B, FrameType.TEXT, messages_pb2.Text(body=text))
    net.run_for(5)
    got = [r.delivery.message.body for r in net.received if r.node == B]
    assert got == [messages_pb2.Text(body=text)]
    assert net.engines[A].counters["fragmented"] == 1
    assert len(net.engines[B].reassembly) == 0 and net.engines[B].reassembly.held_bytes == 0


def test_under_loss_every_message_arrives_whole_and_once() -> None:
    net = small_mtu_pair(loss=0.1, seed=2)
    sent = {}
    for n in range(40):
        body = messages_pb2.Text(body=f"{n:03d} " + "x" * 120)
        sent[net.send(A, B, FrameType.TEXT, body)] = body
        net.run_for(0.5)
    net.run_for(90)  # lets incomplete reassemblies time out
    got = [r.delivery.message for r in net.received if r.node == B]
    ids = [m.header.message_id for m in got]
    assert len(ids) == len(set(ids))  # once each
    for m in got:
        assert m.body == sent[m.header.message_id]  # whole, never spliced from two frames
    # 10 % loss per piece loses whole frames; custody sends them again until acknowledged
    assert len(got) == 40
    assert net.engines[A].counters["originated"] > 40  # retransmissions happened
    assert net.engines[B].reassembly.dropped["timeout"] > 0  # and pieces were lost
    assert len(net.engines[B].reassembly) == 0  # nothing left behind
    assert len(net.engines[A].custody) == 0  # every message acknowledged


@settings(max_examples=30)
@given(st.lists(st.tuples(st.integers(1, 0xDFFF), st.integers(0, 255), st.integers(1, 255),
                          st.integers(0, 254), st.binary(min_size=1, max_size=200)),
                min_size=1, max_size=300))  # fmt: skip
def test_reassembly_memory_stays_bounded_under_forged_fragments(
    frags: list[tuple[int, int, int, int, bytes]],
) -> None:
    r = Reassembly(max_frames=16, max_bytes=4096, timeout_s=30)
    for n, (tx, tag, count, index, chunk) in enumerate(frags):
        frag = Fragment(Priority.BULK, tx, tag, index % count, count, chunk)
        r.add(T0 + n * 0.01, "radio0", frag)
        assert len(r) <= 16
        assert r.held_bytes <= 4096


def test_a_genuine_frame_still_completes_amid_forged_pieces() -> None:
    rng = random.Random(7)
    r = Reassembly(max_frames=8, max_bytes=2048)
    genuine = [Fragment(Priority.SOS, 0x1201, 5, i, 3, bytes([i]) * 40) for i in range(3)]
    out = None
    for i, piece in enumerate(genuine):
        for _ in range(3):  # forged pieces from invented transmitters between the real ones
            r.add(T0, "radio0", Fragment(Priority.BULK, rng.randint(1, 0xDFFF), 1, 0, 9, b"z" * 50))
        out = r.add(T0 + i, "radio0", piece)
    assert out == b"".join(p.chunk for p in genuine)
