"""Frames for another next hop on a narrowband channel (SPEC.md §8.1.3): dropped unopened,
unless the frame is the freshest news of its sender (nothing heard from it for one of its
hello intervals), when it is opened to prove the sender alive, and still goes no further.

A and B talk on a shared narrowband channel that R also hears; R's link from A is cut
while A sends, so A's frames can be handed to R at chosen times.
"""

from __future__ import annotations

import pytest

from tacmesh.protocol.addresses import ALL_HANDS
from tacmesh.protocol.engine.config import InterfaceConfig
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.header import decode_header, peek_type
from tacmesh.sim.mini import MiniNet

from .topologies import position
from .watched import on_transmits

A, B, R = 0x0101, 0x0102, 0x0103
LORA = InterfaceConfig.narrowband("lora")


def frames_from_a(count: int) -> tuple[MiniNet, list[bytes]]:
    """``count`` position reports from A to B that R has not heard."""
    net = MiniNet(seed=5)
    for node in (A, B, R):
        net.add_node(node, [LORA])
    for a, b in ((A, B), (A, R), (B, R)):
        net.connect(a, "lora", b, "lora", delay_s=0.001)
    net.run_for(100.0)  # everyone has heard everyone's hellos
    sent: list[bytes] = []

    on_transmits(net, A, lambda out: sent.extend(
        t.data for t in out if peek_type(t.data) is FrameType.POSITION))  # fmt: skip
    a_at_r = net.engines[R].control.neighbours.get(("lora", A))
    assert a_at_r is not None
    heard = a_at_r.last_heard
    while a_at_r.last_heard == heard:  # until R hears A's next hello: a known starting point
        net.run_for(0.5)
    net.cut(A, R, signal=False)
    for i in range(count):
        net.send(A, B, FrameType.POSITION, position(i))
        net.run_for(5.0)
    assert len(sent) == count and all(decode_header(d)[0].next_hop == B for d in sent)
    return net, sent


@pytest.mark.parametrize("after_intervals", [0.5, 0.99, 1.0, 1.01, 2.0])
def test_a_frame_for_another_is_opened_only_as_the_freshest_news_of_its_sender(
    after_intervals: float,
) -> None:
    net, (frame,) = frames_from_a(1)
    r = net.engines[R]
    a_at_r = r.control.neighbours.get(("lora", A))
    assert a_at_r is not None
    heard = a_at_r.last_heard
    at = max(net.now, heard + after_intervals * a_at_r.interval_s)  # time never goes back
    assert net.now - heard < 0.5 * a_at_r.interval_s  # so each case is the one it says
    before = dict(r.counters)
    assert r.receive(at, "lora", frame) is False  # for B: nothing for R to send or deliver
    assert r.counters["overheard"] == before.get("overheard", 0) + 1
    fresh_news = after_intervals >= 1.0
    assert a_at_r.last_heard == (at if fresh_news else heard)
    assert r.counters["rejected"] == before.get("rejected", 0)
    assert r.pop_deliveries() == [] and r.pop_transmits() == []


def test_a_forged_frame_for_another_proves_nothing() -> None:
    net, (frame,) = frames_from_a(1)
    r = net.engines[R]
    a_at_r = r.control.neighbours.get(("lora", A))
    assert a_at_r is not None
    heard, at = a_at_r.last_heard, a_at_r.last_heard + 2 * a_at_r.interval_s
    forged = frame[:-1] + bytes([frame[-1] ^ 1])  # the tag no longer verifies
    assert r.receive(at, "lora", forged) is False
    assert a_at_r.last_heard == heard
    assert r.counters["rejected"] == 1


def test_frames_for_this_node_or_for_all_are_opened() -> None:
    net, (frame,) = frames_from_a(1)
    r = net.engines[R]
    heard = r.control.neighbours.get(("lora", A))
    assert heard is not None
    to_all = bytearray(frame)
    to_all[10:12] = ALL_HANDS.to_bytes(2, "big")  # the header is authenticated: rejected
    r.receive(net.now, "lora", bytes(to_all))  # ... which proves it was opened, not skipped
    assert r.counters["rejected"] == 1
    assert r.counters["overheard"] == 0
