"""The node's durable store (node/store): what is committed comes back after a restart.

SPEC.md §7.4.1 (counter), §7.5 (replay windows), §9 (custody, tombstones). Process death
in the middle of a run is in ``test_store_crash.py``.
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import COMMAND_POST, HANDHELD, NOW, TEAM_RELAY, Mission, sample_bodies
from delivery.lines import A, B, C
from hypothesis import given
from hypothesis import strategies as st
from strategies import positions, statuses, vitals
from wire.test_header import headers
from wire.test_messages import messages as pb_messages

from tacmesh.node.store import NodeStore, StoreError
from tacmesh.node.store import store as store_module
from tacmesh.protocol.addresses import Role
from tacmesh.protocol.crypto.hop import Frame
from tacmesh.protocol.crypto.replay import ReplayGuard
from tacmesh.protocol.engine.config import InterfaceConfig, NodeConfig
from tacmesh.protocol.engine.custody import Held, State
from tacmesh.protocol.engine.node import NodeEngine
from tacmesh.protocol.engine.outbound import OwnMessage
from tacmesh.protocol.errors import FrameError, Reject
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.header import Header
from tacmesh.protocol.messages import PROTOBUF_BODIES, Body
from tacmesh.protocol.pb import messages_pb2
from tacmesh.protocol.priority import Priority
from tacmesh.sim.mini import MiniNet

IP_TAG = 16


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "node.db"


@pytest.fixture
def store(path: Path) -> Iterator[NodeStore]:
    s = NodeStore(path, now=NOW)
    s.bind(TEAM_RELAY)
    yield s
    s.close()


def reopen(store: NodeStore, now: float = NOW, **kw: int) -> NodeStore:
    store.close()
    again = NodeStore(store.path, now=now, **kw)
    again.bind(TEAM_RELAY)
    return again


def relayed_sos(m: Mission, msg_id: int = 41) -> Held:
    """A signed SOS from the handheld, as the team relay holds it: the payload is the
    end-to-end envelope, which only the origin could have made."""
    header = Header(FrameType.SOS, Priority.SOS, 8, 0, HANDHELD, msg_id, COMMAND_POST,
                    TEAM_RELAY, custody=True)  # fmt: skip
    data = m.handheld.codec.encode(header, sample_bodies(m)[FrameType.SOS], tag_len=IP_TAG)
    frame = m.relay.codec.open(data, tag_len=IP_TAG)
    assert frame.header.e2e
    return Held((HANDHELD, msg_id), COMMAND_POST, Priority.SOS, NOW + 3600, NOW - 5, True,
                frame=frame)  # fmt: skip


def own_text(msg_id: int = 7) -> Held:
    header = Header(FrameType.TEXT, Priority.TEXT, 8, 0, TEAM_RELAY, msg_id, COMMAND_POST,
                    lifetime_s=600, custody=True)  # fmt: skip
    own = OwnMessage(header, messages_pb2.Text(body="bridge out on route 4"), NOW - 2, NOW + 598)
    return Held((TEAM_RELAY, msg_id), COMMAND_POST, Priority.TEXT, NOW + 598, NOW - 2, True,
                own=own)  # fmt: skip


def as_loaded(held: Held) -> Held:
    """What the store gives back after a restart: waiting, and an own message sent once."""
    own = None if held.own is None else replace(held.own, first_sent=True)
    return replace(held, own=own, state=State.WAITING, attempts=0, retry_at=float("inf"))


# -- held messages ---------------------------------------------------------------------


def test_own_and_relayed_messages_survive_a_restart_and_still_deliver(
    mission: Mission, store: NodeStore
) -> None:
    sos, text = relayed_sos(mission), own_text()
    for held in (sos, text):
        store.put(held)
        held.state, held.attempts, held.retry_at = State.SENT, 3, NOW + 8  # not persisted
    store.commit()
    store = reopen(store)
    assert len(store) == 2 and store.loaded_expired == 0
    assert store.get(sos.key) == as_loaded(sos)
    assert store.get(text.key) == as_loaded(text)
    # The stored envelope is the origin's, byte for byte: its signature still verifies.
    back = store.get(sos.key)
    assert back is not None and back.frame is not None
    data = mission.relay.codec.forward(back.frame, counter=900, next_hop=COMMAND_POST,
                                       tag_len=IP_TAG)  # fmt: skip
    got = mission.command_post.codec.receive(data, tag_len=IP_TAG, now=NOW)
    assert got.body == sample_bodies(mission)[FrameType.SOS]
    assert got.signed_by is not None and got.signed_by.address == HANDHELD
    own = store.get(text.key)
    assert own is not None and own.own is not None
    # Sent as a restarted engine sends it: a fresh counter, the msg_id in the origin field.
    build = own.own.builder(mission.relay.codec, InterfaceConfig("ip"), COMMAND_POST, lambda: 8)
    got = mission.command_post.codec.receive(build(lambda: 901, NOW), tag_len=IP_TAG, now=NOW)
    assert (got.header.counter, got.header.message_id) == (901, 7)
    assert got.body == messages_pb2.Text(body="bridge out on route 4")
    store.close()


unicast = st.integers(0x0001, 0xDFFF)
u32 = st.integers(0, 2**32 - 1)
times = st.floats(0, NOW, allow_nan=False)


def bodies(ftype: FrameType) -> st.SearchStrategy[Body]:
    compact: dict[FrameType, st.SearchStrategy[Body]] = {
        FrameType.POSITION: positions,
        FrameType.STATUS: statuses,
        FrameType.VITALS: vitals,
    }
    if ftype in compact:
        return compact[ftype]
    return pb_messages(PROTOBUF_BODIES[ftype].DESCRIPTOR)


@st.composite
def own_messages(draw: st.DrawFn) -> OwnMessage:
    ftype = draw(st.sampled_from([t for t in FrameType if t.is_data]))
    header = replace(draw(headers()), type=ftype)
    return OwnMessage(header, draw(bodies(ftype)), draw(times), draw(st.floats(NOW, 2**40)),
                      draw(st.booleans()))  # fmt: skip


frames = st.builds(Frame, headers(), st.binary(max_size=300))


@st.composite
def helds(draw: st.DrawFn) -> Held:
    own = draw(st.none() | own_messages())
    return Held(
        key=(draw(unicast), draw(u32)),
        destination=draw(st.integers(1, 0xFFFF)),
        priority=draw(st.sampled_from(Priority)),
        expires_at=draw(st.floats(NOW, allow_nan=False, exclude_min=True)),
        held_since=draw(times),
        custody=draw(st.booleans()),
        own=own,
        frame=draw(frames) if own is None else None,
        state=draw(st.sampled_from(State)),
        attempts=draw(st.integers(0, 9)),
    )


@given(helds())
def test_any_held_message_survives_the_store(held: Held) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with NodeStore(Path(tmp, "p.db"), now=NOW) as s:
            s.put(held)
        with NodeStore(Path(tmp, "p.db"), now=NOW) as s:
            assert list(s) == [as_loaded(held)]


def test_put_and_remove_in_one_batch_never_reach_the_disk(store: NodeStore) -> None:
    kept, passing, released = own_text(1), own_text(2), own_text(3)
    store.put(released)
    store.commit()
    store.put(passing)
    store.remove(passing.key)
    assert not store.dirty
    store.put(kept)
    assert store.remove(released.key) is released
    assert store.remove(released.key) is None
    store = reopen(store)
    assert [h.key for h in store] == [kept.key]
    store.close()


def test_messages_that_expired_while_the_node_was_off_are_dropped(store: NodeStore) -> None:
    short, long = own_text(1), own_text(2)
    short.expires_at = NOW + 10
    store.put(short)
    store.put(long)
    store = reopen(store, now=NOW + 10)
    assert store.loaded_expired == 1 and [h.key for h in store] == [long.key]
    store = reopen(store, now=NOW + 10)
    assert store.loaded_expired == 0 and len(store) == 1
    store.close()


def test_a_row_that_no_longer_decodes_does_not_stop_the_node(store: NodeStore) -> None:
    bad, good = own_text(1), own_text(2)
    store.put(bad)
    store.put(good)
    store.close()
    db = sqlite3.connect(store.path)
    db.execute("UPDATE held SET header = x'00' WHERE msg_id = 1")
    db.commit()
    db.close()
    store = reopen(store)
    assert store.loaded_unreadable == 1 and [h.key for h in store] == [good.key]
    store.close()


def test_a_clock_behind_the_stored_times_does_not_make_ages_shrink(store: NodeStore) -> None:
    held = own_text()
    store.put(held)
    store = reopen(store, now=NOW - 1000)  # booted without a real-time clock
    back = store.get(held.key)
    assert back is not None and back.own is not None
    assert back.held_since == back.own.created_at == NOW - 1000
    store.close()


def test_a_full_store_refuses_new_messages_but_takes_updates(path: Path) -> None:
    with NodeStore(path, capacity=2) as s:
        s.put(own_text(1))
        s.put(own_text(2))
        s.put(own_text(2))
        with pytest.raises(StoreError, match="full"):
            s.put(own_text(3))
        assert len(s) == 2


def test_a_held_message_has_exactly_one_of_body_and_frame(mission: Mission, path: Path) -> None:
    both = replace(own_text(), frame=relayed_sos(mission).frame)
    with NodeStore(path) as s:
        with pytest.raises(ValueError, match="exactly one"):
            s.put(both)
        with pytest.raises(ValueError, match="exactly one"):
            s.put(replace(both, own=None, frame=None))


# -- counter ---------------------------------------------------------------------------


def test_the_counter_resumes_past_every_reserved_counter(store: NodeStore) -> None:
    assert store.resume_counter() == 0
    used = []
    rng = random.Random(5)
    counter = 0
    for _ in range(200):
        counter += rng.randint(0, 3000)
        store.reserve_counter(counter)
        used.append(counter)
        if rng.random() < 0.3:
            store.commit()
    store.commit()
    store = reopen(store, counter_block=1024)
    assert store.resume_counter() > max(used)
    store.close()


def test_reserving_inside_the_block_writes_nothing(store: NodeStore) -> None:
    store.reserve_counter(0)
    assert store.dirty and store.resume_counter() == 65_536
    store.commit()
    for counter in (1, 1000, 32_767):
        store.reserve_counter(counter)
        assert not store.dirty
    store.reserve_counter(32_768)  # half the block left: move it
    assert store.dirty and store.resume_counter() == 32_768 + 65_536


# -- replay windows --------------------------------------------------------------------


def test_replay_windows_survive_a_restart(store: NodeStore) -> None:
    guard = ReplayGuard()
    for counter in (5, 7, 100):
        guard.window(HANDHELD, 0).accept(counter)
    for counter in range(64):
        guard.window(COMMAND_POST, 1).accept(counter)  # full bitmap: all 64 bits set
    store.save_windows(guard.snapshot())
    store.commit()
    store = reopen(store)
    restored = ReplayGuard()
    restored.restore(store.load_windows())
    assert restored.snapshot() == guard.snapshot()
    assert restored.snapshot()[(COMMAND_POST, 1)] == (63, 2**64 - 1)
    for counter in (100, 7):
        with pytest.raises(FrameError) as err:
            restored.window(HANDHELD, 0).check(counter)
        assert err.value.reason is Reject.REPLAYED
    store.close()


def test_windows_come_back_least_recently_saved_first(store: NodeStore) -> None:
    store.save_windows({(1, 0): (1, 1), (2, 0): (2, 1)})
    store.commit()
    store.save_windows({(1, 0): (9, 3)})
    assert list(store.load_windows()) == [(2, 0), (1, 0)]  # pending ones count too
    store = reopen(store)
    assert store.load_windows() == {(2, 0): (2, 1), (1, 0): (9, 3)}
    assert list(store.load_windows()) == [(2, 0), (1, 0)]
    store.close()


def test_a_windows_only_commit_skips_the_fsync_but_not_for_long(
    store: NodeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    durable = store.durable_commits
    store.save_windows({(HANDHELD, 0): (10, 1)})
    store.commit()
    assert (store.durable_commits, store.windows_only_commits) == (durable, 1)
    store.commit()  # nothing changed: no commit at all
    assert (store.durable_commits, store.windows_only_commits) == (durable, 1)
    store.save_windows({(HANDHELD, 0): (11, 3)})
    store.tombstone((HANDHELD, 11), NOW + 60)
    store.commit()
    assert store.durable_commits == durable + 1
    monkeypatch.setattr(store_module, "MAX_UNSYNCED_S", 0.0)
    store.save_windows({(HANDHELD, 0): (12, 7)})
    store.commit()
    assert store.durable_commits == durable + 2


# -- tombstones and meta ---------------------------------------------------------------


def test_tombstones_survive_a_restart_and_expired_ones_are_pruned(store: NodeStore) -> None:
    store.tombstone((HANDHELD, 1), NOW + 100)
    store.tombstone((HANDHELD, 2), NOW + 10)
    store.commit()
    store.tombstone((HANDHELD, 3), NOW + 50)  # not yet committed: still in force
    store = reopen(store)
    assert sorted(store.tombstones(NOW)) == [
        ((HANDHELD, 1), NOW + 100),
        ((HANDHELD, 2), NOW + 10),
        ((HANDHELD, 3), NOW + 50),
    ]
    assert sorted(store.tombstones(NOW + 60)) == [((HANDHELD, 1), NOW + 100)]
    assert store.dirty  # the pruning is written with the next commit
    store = reopen(store)
    assert store.tombstones(NOW - 1000) == [((HANDHELD, 1), NOW + 100)]
    store.close()


def test_a_running_node_prunes_expired_tombstones_from_disk(store: NodeStore) -> None:
    store.tombstone((HANDHELD, 1), NOW + 100)
    store.tombstone((HANDHELD, 2), NOW + 10)
    store.commit()
    store.prune_tombstones(NOW + 60)
    store.commit()
    rows = store._db.execute("SELECT origin, msg_id FROM tombstones").fetchall()
    assert rows == [(HANDHELD, 1)]
    store.close()


def test_meta_round_trips(store: NodeStore) -> None:
    assert store.get_meta("config_version") is None
    store.set_meta("config_version", "3")
    assert store.get_meta("config_version") == "3"
    store = reopen(store)
    assert store.get_meta("config_version") == "3"
    store.close()


# -- files that are not this node's store ----------------------------------------------


def test_a_store_belongs_to_one_node(store: NodeStore) -> None:
    store.close()
    with NodeStore(store.path) as other:
        assert other.address == TEAM_RELAY
        with pytest.raises(StoreError, match="store of node 0x0201, not 0x0101"):
            other.bind(HANDHELD)
        with pytest.raises(ValueError, match="unicast"):
            other.bind(0xFFFF)


def test_a_file_that_is_not_a_database_is_refused_untouched(path: Path) -> None:
    path.write_bytes(b"tacmesh keys, not a store\n" * 200)
    with pytest.raises(StoreError, match=r"node\.db: not a tacmesh store .*move the file away"):
        NodeStore(path)
    assert path.read_bytes() == b"tacmesh keys, not a store\n" * 200


def test_another_applications_database_is_refused_untouched(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE photos (name TEXT)")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="another application"):
        NodeStore(path)
    assert path.read_bytes() == before


def test_a_store_from_a_newer_tacmesh_is_refused(path: Path) -> None:
    NodeStore(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=7")
    db.close()
    with pytest.raises(StoreError, match=r"newer tacmesh \(schema 7.*upgrade tacmesh"):
        NodeStore(path)


def test_two_daemons_cannot_share_a_store(store: NodeStore) -> None:
    with pytest.raises(StoreError, match="in use by another process"):
        NodeStore(store.path)


# -- an engine in the loop -------------------------------------------------------------

B_INTERFACES = [InterfaceConfig("a"), InterfaceConfig("c")]


def start_stored_node(net: MiniNet, store: NodeStore) -> NodeEngine:
    """Start (or restart) B as the daemon does: counter and replay windows from the store."""
    codec = net.mission.enrol(B, Role.GROUND_BACKBONE)
    codec.guard.restore(store.load_windows())
    config = NodeConfig(B, tuple(B_INTERFACES))
    engine = NodeEngine(config, codec, random.Random(B), net.now,
                        counter=store.resume_counter(), store=store)  # fmt: skip
    persist(store, engine)
    net.engines[B] = engine
    net.alive.add(B)
    net.do(B, lambda e, now: e.handle_timer(now))
    return engine


def persist(store: NodeStore, engine: NodeEngine) -> None:
    """What the daemon does after each batch, before it sends anything."""
    store.reserve_counter(engine.counter)
    store.save_windows(engine.codec.guard.take_changed())
    store.commit()


def test_custody_taken_before_a_power_cut_is_delivered_after_it(path: Path) -> None:
    net = MiniNet(seed=11)
    net.add_node(A, [InterfaceConfig("b")])
    store = NodeStore(path, now=net.now)
    store.bind(B)
    b = start_stored_node(net, store)
    net.add_node(C, [InterfaceConfig("b")])
    net.connect(A, "b", B, "a")
    net.connect(B, "c", C, "b")
    net.run_for(10)
    assert net.engines[A].control.routing.lookup(C) is not None
    net.cut(B, C, signal=False)
    for n in range(5):
        net.send(A, C, FrameType.TEXT, messages_pb2.Text(body=f"m{n}"))
    net.run_for(0.1)
    assert b.counters["custody_taken"] == 5 and len(store) == 5
    persist(store, b)
    store.close()
    net.kill(B)  # the power goes; A has handed its copies over and forgotten them
    assert len(net.engines[A].custody) == 0
    net.run_for(30)

    store = NodeStore(path, now=net.now)
    store.bind(B)
    assert len(store) == 5 and store.loaded_expired == 0
    b = start_stored_node(net, store)
    net.heal(B, C)
    net.run_for(30)
    persist(store, b)
    texts = [r.delivery.message.body.body for r in net.received if r.node == C]  # type: ignore[union-attr]
    assert sorted(texts) == [f"m{n}" for n in range(5)]
    assert len(store) == 0
    # B's counter went on past what its neighbours had seen: none of its frames was refused.
    for neighbour in (A, C):
        assert net.engines[neighbour].codec.rejects[Reject.REPLAYED] == 0
    store.close()
    with NodeStore(path, now=net.now) as after:
        assert len(after) == 0
