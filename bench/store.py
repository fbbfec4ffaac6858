"""How fast the node store takes custody and commits (node/store), against raw SQLite.

A relay in a steady stream takes custody of a batch of messages, commits, acknowledges,
and releases them a batch later when the next hop acknowledges in turn: each commit
carries 64 new messages and the release of the previous 64. The baseline does the same
SQL work with pre-built rows and plain ``executemany`` (same file settings: WAL,
synchronous=FULL), so ``ratio_to_raw_sqlite`` is what the store's bookkeeping and row
encoding cost on top of SQLite itself. Figures are printed, never asserted: they depend on
the machine and above all on its storage's fsync.

    python bench/store.py [--messages N]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tacmesh.node.store import NodeStore
from tacmesh.node.store.records import COLUMNS, Row, to_row
from tacmesh.protocol.crypto.hop import Frame
from tacmesh.protocol.engine.custody import Held
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.header import Header
from tacmesh.protocol.pb import messages_pb2
from tacmesh.protocol.priority import Priority

BATCH = 64
NOW = 1_790_000_000.0
ORIGIN, RELAY, DESTINATION = 0x0101, 0x0201, 0x0301


def relayed(n: int) -> Held:
    """A text message from ORIGIN, as RELAY holds it after taking custody."""
    header = Header(FrameType.TEXT, Priority.TEXT, 7, 0, ORIGIN, n, DESTINATION, RELAY,
                    age_s=3, custody=True)  # fmt: skip
    payload = messages_pb2.Text(body=f"casualty collection point moved, update {n}")
    frame = Frame(header, payload.SerializeToString())
    return Held((ORIGIN, n), DESTINATION, Priority.TEXT, NOW + 3600, NOW, True, frame=frame)


def custody_stream(store: NodeStore, messages: list[Held]) -> float:
    """Seconds to take and release ``messages`` a batch at a time, one commit per batch."""
    start = time.perf_counter()
    previous: list[Held] = []
    for i in range(0, len(messages), BATCH):
        batch = messages[i : i + BATCH]
        for held in batch:
            store.put(held)
        for held in previous:
            store.remove(held.key)
        store.commit()
        previous = batch
    return time.perf_counter() - start


def raw_stream(db: sqlite3.Connection, rows: list[Row]) -> float:
    """The same SQL work as :func:`custody_stream`, with rows built beforehand."""
    put = f"INSERT INTO held ({COLUMNS}) VALUES ({', '.join('?' * 12)})"
    delete = "DELETE FROM held WHERE origin = ? AND msg_id = ?"
    start = time.perf_counter()
    previous: list[Row] = []
    for i in range(0, len(rows), BATCH):
        batch = rows[i : i + BATCH]
        db.execute("BEGIN")
        db.executemany(put, batch)
        db.executemany(delete, [(r[0], r[1]) for r in previous])
        db.execute("COMMIT")
        previous = batch
    return time.perf_counter() - start


def commit_ms(store: NodeStore, change: Callable[[int], None], rounds: int) -> float:
    """Median milliseconds of one commit after ``change(i)``."""
    times = []
    for i in range(rounds):
        change(i)
        start = time.perf_counter()
        store.commit()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=64 * 300)
    args = parser.parse_args()
    messages = [relayed(n) for n in range(args.messages)]
    with tempfile.TemporaryDirectory() as tmp:
        with NodeStore(Path(tmp, "store.db")) as store:
            store.bind(RELAY)
            store_s = custody_stream(store, messages)
            durable = commit_ms(store, lambda i: store.put(relayed(10**6 + i)), 200)
            windows = commit_ms(
                store,
                lambda i: store.save_windows({(0x0100 + i % 16, 0): (i, 2**64 - 1)}),
                2000,
            )
        # Raw baseline: a fresh file the store created (same schema and settings), then
        # driven with sqlite3 alone.
        NodeStore(Path(tmp, "raw.db")).close()
        db = sqlite3.connect(Path(tmp, "raw.db"), isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        raw_s = raw_stream(db, [to_row(h) for h in messages])
        db.close()
    store_rate, raw_rate = args.messages / store_s, args.messages / raw_s
    print(f"custody_puts_per_s      {store_rate:12,.0f}   (put + remove, commit every {BATCH})")
    print(f"raw_sqlite_rows_per_s   {raw_rate:12,.0f}   (executemany, commit every {BATCH})")
    print(f"ratio_to_raw_sqlite     {store_rate / raw_rate:12.2f}")
    print(f"commit_ms_durable       {durable:12.3f}   (one held message; fsync)")
    print(f"commit_ms_windows_only  {windows:12.3f}   (replay windows only; no fsync)")


if __name__ == "__main__":
    main()
