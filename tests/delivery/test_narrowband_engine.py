"""Priorities end to end: engines on a saturated narrowband link (virtual time)."""

from __future__ import annotations

from tacmesh.protocol.compact import PositionReport
from tacmesh.protocol.engine.config import InterfaceConfig
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.pb import messages_pb2
from tacmesh.sim.mini import MiniNet

HANDHELD, RELAY = 0x1201, 0x1200


def lora(name: str) -> InterfaceConfig:
    return InterfaceConfig.narrowband(name)


def linked_pair() -> MiniNet:
    net = MiniNet(seed=5)
    net.add_node(HANDHELD, [lora("lora0")])
    net.add_node(RELAY, [lora("lora0")])
    net.connect(HANDHELD, "lora0", RELAY, "lora0", delay_s=0.001)
    net.run_for(120)  # narrowband hellos are sparse: let the link come up both ways
    assert net.engines[HANDHELD].control.routing.lookup(RELAY) is not None
    return net


def test_sos_overtakes_a_queue_of_bulk_and_positions() -> None:
    net = linked_pair()
    sent_at = net.now
    for n in range(30):
        net.send(
            HANDHELD,
            RELAY,
            FrameType.BULK,
            messages_pb2.Bulk(object_id=1, offset=n * 150, data=bytes(150)),
        )
        net.send(HANDHELD, RELAY, FrameType.POSITION, PositionReport(lat_e5=n, lon_e5=n))
    net.send(HANDHELD, RELAY, FrameType.SOS, messages_pb2.Sos(sos_id=1))
    net.run_for(600)
    got = [r for r in net.received if r.node == RELAY and r.at >= sent_at]
    types = [r.delivery.message.header.type for r in got]
    assert types.count(FrameType.BULK) == 30  # all bulk arrives in the end
    sos_index = types.index(FrameType.SOS)
    assert sos_index <= 2, f"SOS arrived {sos_index}th"  # at most what was already on the air
    # latest value wins: the queued positions collapsed into the newest one
    positions = [
        r.delivery.message.body for r in got if r.delivery.message.header.type is FrameType.POSITION
    ]
    assert positions[-1] == PositionReport(lat_e5=29, lon_e5=29)
    assert len(positions) < 5
    assert net.engines[HANDHELD].shed()["superseded_report"] == 30 - len(positions)


def test_the_duty_cycle_paces_the_sender() -> None:
    net = linked_pair()
    start = net.now
    before = net.sent_bytes.get((HANDHELD, "lora0"), 0)
    for n in range(40):
        net.send(
            HANDHELD,
            RELAY,
            FrameType.BULK,
            messages_pb2.Bulk(object_id=2, offset=n, data=bytes(150)),
        )
    net.run_for(30)
    sent = net.sent_bytes[(HANDHELD, "lora0")] - before
    iface = lora("lora0")
    frames = sent / 180  # about 180 bytes a frame
    airtime = sent * 8 / iface.bitrate_bps + frames * iface.preamble_s  # type: ignore[operator]
    assert airtime <= iface.airtime_burst_s + 30 * iface.duty_cycle + 0.5
    assert net.now - start == 30


def test_data_keeps_a_narrowband_neighbour_alive_between_sparse_hellos() -> None:
    net = linked_pair()
    relay = net.engines[RELAY].control.neighbours.get(("lora0", HANDHELD))
    assert relay is not None
    before = relay.last_heard
    net.run_for(1.0)
    net.send(HANDHELD, RELAY, FrameType.TEXT, messages_pb2.Text(body="still here"))
    wait = lora("lora0").access_jitter_s + 0.5  # the random access delay, then the air
    net.run_for(wait)
    # the text, not a hello (30 s apart), moved the relay's last sight of the handheld
    assert relay.last_heard > before
    assert relay.last_heard >= net.now - wait
