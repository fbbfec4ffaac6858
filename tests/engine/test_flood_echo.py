"""Echoes of urgent floods on narrowband channels (SPEC.md §9.5.1).

The command post orders a team; the team's gateway brings the order onto the team's
narrowband channel, where the members flood it again. The gateway's first copy is lost
at every member (as when a teammate's stronger frame overlaps it), and the order must
still arrive; when nothing is lost, the gateway sends it once; with nobody to echo it, a
bounded number of times; and floods that are not urgent, or not on narrowband, are never
repeated.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from tacmesh.protocol.addresses import Role, team_group
from tacmesh.protocol.engine.config import InterfaceConfig
from tacmesh.protocol.engine.echo import ECHO_RETRIES, EchoWatch
from tacmesh.protocol.engine.events import Transmit
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.header import peek_type
from tacmesh.protocol.pb import messages_pb2
from tacmesh.protocol.priority import Priority
from tacmesh.sim.mini import MiniNet

from .topologies import deliveries, text
from .watched import on_transmits

CP, GW = 0x0001, 0x0100
MEMBERS = (0x1001, 0x1002, 0x1003)
TEAM = replace(InterfaceConfig.narrowband("team"), subnet=True)
"""A LoRa-class channel with its airtime and random access delay (topologies.NARROWBAND has
neither)."""
BACKBONE = InterfaceConfig("backbone")
GROUP = team_group(1)


def build(seed: int = 3) -> MiniNet:
    net = MiniNet(seed=seed)
    net.add_node(CP, [BACKBONE], role=Role.COMMAND_POST)
    net.add_node(GW, [TEAM, BACKBONE], role=Role.GATEWAY, groups=frozenset({GROUP}))
    net.connect(CP, "backbone", GW, "backbone")
    for m in MEMBERS:
        net.add_node(m, [replace(TEAM, subnet=False)], role=Role.HANDHELD,
                     groups=frozenset({GROUP}))  # fmt: skip
    team = [GW, *MEMBERS]
    for i, a in enumerate(team):
        for b in team[i + 1 :]:
            net.connect(a, "team", b, "team", delay_s=0.02)
    net.run_for(40.0)  # past the first narrowband hellos: everyone hears everyone
    return net


def order(serial: int = 1) -> messages_pb2.Order:
    return messages_pb2.Order(
        order_id=serial, kind=messages_pb2.ORDER_REPORT_IN, instruction="Report in",
        valid_for_s=600,
    )  # fmt: skip


def count_frames(net: MiniNet, node: int, interface: str, ftype: FrameType) -> list[float]:
    """Watch what ``node`` puts on ``interface``: the times it sends a frame of ``ftype``."""
    times: list[float] = []

    def seen(out: list[Transmit]) -> None:
        times.extend(net.now for t in out if t.interface == interface
                     and peek_type(t.data) is ftype)  # fmt: skip

    on_transmits(net, node, seen)
    return times


def lose_gateway_team_frames(net: MiniNet, lost: bool) -> None:
    for end in net.links[(GW, "team")]:
        end.loss = 1.0 if lost else 0.0


def test_an_order_lost_at_every_member_is_sent_again_and_arrives() -> None:
    net = build()
    sent = count_frames(net, GW, "team", FrameType.ORDER)
    lose_gateway_team_frames(net, lost=True)
    net.send(CP, GROUP, FrameType.ORDER, order())
    net.run_for(1.5)  # the gateway's copy leaves within its access delay, and is lost
    assert len(sent) == 1
    assert all(deliveries(net, m, CP) == [] for m in MEMBERS)
    lose_gateway_team_frames(net, lost=False)
    net.run_for(10.0)
    assert len(sent) == 2, "no member flooded it back, so the gateway sends it again"
    assert all(len(deliveries(net, m, CP)) == 1 for m in MEMBERS)
    assert net.engines[GW].counters["flood_repeated"] == 1
    assert net.engines[GW].counters["flood_echoed"] == 1
    net.run_for(60.0)
    assert len(sent) == 2, "the members' copies came back: no more repeats"
    assert len(net.engines[GW].echoes) == 0


def test_an_order_that_got_through_is_sent_once() -> None:
    net = build()
    sent = count_frames(net, GW, "team", FrameType.ORDER)
    net.send(CP, GROUP, FrameType.ORDER, order())
    net.run_for(60.0)
    assert len(sent) == 1
    assert all(len(deliveries(net, m, CP)) == 1 for m in MEMBERS)
    assert net.engines[GW].counters["flood_repeated"] == 0
    assert len(net.engines[GW].echoes) == 0


def test_with_nobody_to_echo_it_the_repeats_are_bounded() -> None:
    net = build()
    for m in MEMBERS:
        net.kill(m)
    sent = count_frames(net, GW, "team", FrameType.ORDER)
    net.send(CP, GROUP, FrameType.ORDER, order())
    net.run_for(120.0)
    assert len(sent) == 1 + ECHO_RETRIES
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert all(gap >= 3 * TEAM.access_jitter_s for gap in gaps), gaps
    assert len(net.engines[GW].echoes) == 0


def test_an_sos_the_gateway_originates_is_watched_too() -> None:
    net = build()
    sent = count_frames(net, GW, "team", FrameType.TEXT)
    lose_gateway_team_frames(net, lost=True)
    net.send(GW, GROUP, FrameType.TEXT, text("evacuate now"), priority=Priority.SOS)
    net.run_for(1.5)
    lose_gateway_team_frames(net, lost=False)
    net.run_for(30.0)
    assert len(sent) == 2
    assert all(len(deliveries(net, m, GW)) == 1 for m in MEMBERS)


def test_routine_floods_and_floods_on_ip_are_never_repeated() -> None:
    net = build()
    team_text = count_frames(net, GW, "team", FrameType.TEXT)
    lose_gateway_team_frames(net, lost=True)
    net.send(CP, GROUP, FrameType.TEXT, text("routine: water at the depot"))
    net.run_for(60.0)
    assert len(team_text) == 1, "a TEXT flood is not urgent: no echo is awaited"
    backbone = count_frames(net, CP, "backbone", FrameType.ORDER)
    for end in net.links[(CP, "backbone")]:
        end.loss = 1.0
    net.send(CP, GROUP, FrameType.ORDER, order(2))
    net.run_for(60.0)
    assert len(backbone) == 1, "the backbone is not a narrowband channel"
    assert len(net.engines[CP].echoes) == 0


# -- the watch on its own, against a model ---------------------------------------------

KEYS = [((CP, 1), "team"), ((CP, 2), "team"), ((GW, 1), "team"), ((CP, 1), "other")]
Op = tuple[str, int]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["watch", "left", "heard", "forget", "tick"]),
                          st.integers(0, len(KEYS) - 1)), max_size=60))  # fmt: skip
def test_the_watch_repeats_each_flood_at_most_its_retries_and_forgets_it(ops: list[Op]) -> None:
    watch_ = EchoWatch()
    iface = {name: replace(TEAM, name=name) for name in ("team", "other")}
    resent: Counter[int] = Counter()
    now = 0.0

    def resend(i: int) -> Callable[[float], None]:
        def again(at: float) -> None:
            resent[i] += 1
            key, name = KEYS[i]
            watch_.watch(key, name, resend(i))  # as the engine queues it again

        return again

    for op, i in ops:
        key, name = KEYS[i]
        if op == "watch":
            watch_.watch(key, name, resend(i))
        elif op == "left":
            watch_.left(key, iface[name], now, 60)
        elif op == "heard":
            watch_.heard(key, name)
        elif op == "forget":
            watch_.forget(key, name)
        else:
            now += 10.0  # past any wait for an echo
            deadline = watch_.next_deadline()
            due = watch_.due(now)
            assert (deadline is not None and deadline <= now) or due == []
            for again in due:
                again(now)
    assert all(n <= ECHO_RETRIES for n in resent.values()), resent
    # Every frame leaving and no echo coming back, every watch ends after its retries.
    for _ in range(ECHO_RETRIES + 2):
        for key, name in KEYS:
            watch_.left(key, iface[name], now, 60)
        now += 10.0
        for again in watch_.due(now):
            again(now)
    assert len(watch_) == 0
    assert watch_.next_deadline() is None
