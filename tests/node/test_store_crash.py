"""The node store across sudden death: a child process is SIGKILLed at random moments.

The child runs a relay's store loop (take custody of messages, release others, reserve
counters, move a replay window, commit) and after each commit reports what it now believes
is durable, as the daemon would before sending acknowledgements. After each kill the store
is reopened and must hold every message reported durable and not since released, none
reported released, and resume the counter past every counter the child used.

Honest limit: SIGKILL tests process death (the kernel keeps every write the process made),
not an OS crash or a power cut, where only what was fsynced survives and the storage
device must honour the flush. That part rests on SQLite's WAL with ``synchronous=FULL``
(see node/store/SCHEMA.md) and on the hardware.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tacmesh.node.store import NodeStore

TRIALS = 20
NOW = 1_790_000_000.0
ORIGIN, RELAY, NEIGHBOUR, DESTINATION = 0x0101, 0x0201, 0x0202, 0x0301

CHILD = f"""
import random, sys
from tacmesh.node.store import NodeStore
from tacmesh.protocol.crypto.hop import Frame
from tacmesh.protocol.engine.custody import Held
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.header import Header
from tacmesh.protocol.priority import Priority

path, first, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
store = NodeStore(path, counter_block=256, now={NOW})
store.bind({RELAY})
counter = store.resume_counter()
live = [h.key for h in store]
n = first
print("ready", flush=True)
while True:
    new = []
    for _ in range(rng.randint(1, 8)):
        n += 1
        header = Header(FrameType.TEXT, Priority.TEXT, 7, 0, {ORIGIN}, n, {DESTINATION},
                        {RELAY}, custody=True)
        frame = Frame(header, b"message %d" % n)
        store.put(Held(({ORIGIN}, n), {DESTINATION}, Priority.TEXT, {NOW} + 3600, {NOW}, True,
                       frame=frame))
        new.append(n)
    gone = [live.pop(rng.randrange(len(live))) for _ in range(min(len(live), rng.randint(0, 8)))]
    for key in gone:
        store.remove(key)
    counter += rng.randint(1, 300)  # the frames this batch sends use counters below this
    store.reserve_counter(counter)
    store.save_windows({{({NEIGHBOUR}, 0): (counter, rng.getrandbits(64))}})
    print("put", *new, flush=True)
    print("removing", *[k[1] for k in gone], flush=True)
    store.commit()
    print("committed", counter, flush=True)
    live += [({ORIGIN}, i) for i in new]
"""


@dataclass
class Model:
    """What the parent knows of the store from the children's reports."""

    present: set[int] = field(default_factory=set)
    """Messages the store held at the last reopen, plus those reported durable since."""
    maybe: set[int] = field(default_factory=set)
    """Put in a batch whose commit was not (yet) reported: may or may not be there."""
    leaving: set[int] = field(default_factory=set)
    """Removed in a batch whose commit was not reported: may or may not still be there."""
    released: set[int] = field(default_factory=set)
    """Removed in a reported commit: must be gone."""
    counter: int = -1
    window: int = -1
    commits: int = 0

    def read(self, report: str) -> None:
        lines = report.split("\n")[:-1]  # the last piece may be a line cut off by the kill
        put: set[int] = set()
        removing: set[int] = set()
        for line in lines:
            word, *values = line.split()
            numbers = [int(v) for v in values]
            if word == "put":
                put = set(numbers)
                self.maybe |= put
            elif word == "removing":
                removing = set(numbers)
                self.leaving |= removing
            elif word == "committed":
                self.present = (self.present | put) - removing
                self.maybe -= put
                self.leaving -= removing
                self.released |= removing
                self.counter = self.window = max(self.counter, numbers[0])
                self.commits += 1

    def check(self, store: NodeStore) -> None:
        got = {h.key[1]: h for h in store}
        assert self.present - self.leaving <= got.keys(), "a message reported durable is lost"
        assert not got.keys() & self.released, "a released message came back"
        assert got.keys() <= self.present | self.maybe, "a message nobody put"
        for n, held in got.items():
            assert held.frame is not None and held.frame.payload == b"message %d" % n
        assert store.resume_counter() > self.counter, "a used counter could be used again"
        highest, _ = store.load_windows().get((NEIGHBOUR, 0), (-1, 0))
        assert highest >= self.window
        self.present, self.maybe, self.leaving = set(got), set(), set()


def run_child(path: Path, trial: int, rng: random.Random, tmp: Path) -> str:
    """Start the child, SIGKILL it at a random moment, and return what it reported."""
    out, err = tmp / f"child{trial}.out", tmp / f"child{trial}.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        args = [sys.executable, "-c", CHILD, str(path), str(trial * 10**6), str(trial)]
        child = subprocess.Popen(args, stdout=stdout, stderr=stderr)
    try:
        # Most kills land in the commit loop; some during start-up (opening, migrating,
        # deleting what expired), which must be as safe.
        if rng.random() < 0.8:
            _wait_ready(child, out, err)
        time.sleep(rng.uniform(0.0, 0.25))
        assert child.poll() is None, err.read_text()
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    return out.read_text()


def _wait_ready(child: subprocess.Popen[bytes], out: Path, err: Path) -> None:
    deadline = time.monotonic() + 10
    while not out.read_text().startswith("ready\n"):
        assert child.poll() is None, err.read_text()
        assert time.monotonic() < deadline, "the child did not start"
        time.sleep(0.005)


def test_a_killed_relay_keeps_what_it_reported_durable(tmp_path: Path) -> None:
    rng = random.Random(20_240_611)
    path = tmp_path / "relay.db"
    model = Model()
    for trial in range(TRIALS):
        model.read(run_child(path, trial, rng, tmp_path))
        with NodeStore(path, counter_block=256, now=NOW) as store:
            assert store.address in (None, RELAY)
            model.check(store)
    assert model.commits > TRIALS  # the kills did land among commits
    assert model.released  # and among releases
