"""A message sent unicast on a narrowband channel waits for its next hop's custody
acknowledgement only as long as an echo of a flood (SPEC.md §9.3, §9.5.1): two airtimes and
three random access delays, not the interface's 30 s. One collision used to cost an SOS
half a minute, two of them a minute and a half.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tacmesh.protocol.engine.config import InterfaceConfig
from tacmesh.protocol.engine.echo import answer_wait_s
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.header import peek_type
from tacmesh.protocol.priority import Priority
from tacmesh.sim.mini import MiniNet

from .topologies import text
from .watched import on_transmits

A, B = 0x0101, 0x0102
LORA = InterfaceConfig.narrowband("lora")


def first_copy_lost(
    priority: Priority | None, seed: int, iface: InterfaceConfig = LORA
) -> tuple[float, list[float]]:
    """A sends B a text of ``priority`` whose first copy is lost on the air: the time it
    took to arrive, and when each copy left A."""
    net = MiniNet(seed=seed)
    for node in (A, B):
        net.add_node(node, [iface])
    net.connect(A, "lora", B, "lora", delay_s=0.001)
    net.run_for(100.0)  # both usable, both ways
    left: list[float] = []
    on_transmits(net, A, lambda out: left.extend(
        net.now for t in out if peek_type(t.data) is FrameType.TEXT))  # fmt: skip
    net.cut(A, B, signal=False)
    sent_at = net.now
    net.send(A, B, FrameType.TEXT, text("trapped under the east stairs"), priority=priority)
    while not left and net.now < sent_at + 10:  # the first copy leaves into the cut link
        net.run_for(0.05)
    assert left, "the first copy never left"
    net.heal(A, B)
    net.run_for(120.0)
    (got,) = [r for r in net.received
              if r.node == B and r.delivery.message.header.type is FrameType.TEXT]  # fmt: skip
    return got.at - sent_at, left


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_lost_sos_goes_again_after_an_answer_wait(seed: int) -> None:
    took, left = first_copy_lost(Priority.SOS, seed)
    wait = answer_wait_s(LORA, 60)
    assert 2.0 < wait < 4.0  # two ~0.1 s airtimes and three 1 s access delays
    assert len(left) == 2  # the repeat got through and was acknowledged
    assert left[1] - left[0] == pytest.approx(wait, abs=LORA.access_jitter_s + 0.3)
    assert took < 2 * LORA.access_jitter_s + wait + 0.5


@pytest.mark.parametrize("priority", [Priority.SOS, Priority.COMMAND, Priority.ALERT, None])
def test_no_class_waits_the_interface_timeout(priority: Priority | None) -> None:
    took, left = first_copy_lost(priority, 4)  # None: a text's own class
    assert len(left) == 2
    assert took < LORA.custody_timeout_s / 4


def test_a_longer_frame_waits_longer_and_never_more_than_the_interface_timeout() -> None:
    short, long = answer_wait_s(LORA, 30), answer_wait_s(LORA, 222)
    airtime_more = (222 - 30) * 8 / (LORA.bitrate_bps or 1)
    assert long - short == pytest.approx(2 * airtime_more)  # the frame and its answer
    brisk = replace(LORA, custody_timeout_s=2.0)  # the interface's own timeout is shorter
    assert answer_wait_s(brisk, 60) > brisk.custody_timeout_s
    _, left = first_copy_lost(None, 1, brisk)
    assert left[1] - left[0] == pytest.approx(brisk.custody_timeout_s, abs=brisk.access_jitter_s)
