"""The ground node's durable store: custody, frame counter, replay windows, tombstones.

Rules this file keeps:
- Reads of held messages never touch SQLite: the engine asks often, so a dict mirror
  answers. SQLite is read only when the store opens (and for the rare startup queries).
- Writes are gathered in memory and written by :meth:`NodeStore.commit` in one transaction,
  one ``executemany`` per table, so a batch of inputs costs one commit however many frames
  it held. Nothing is durable before ``commit`` returns, and the daemon sends nothing
  before that: no custody acknowledgement for a message not on disk (SPEC.md §9.3), no
  counter on the air beyond the reserved block (SPEC.md §7.4.1).
- A commit is fsynced (``synchronous=FULL``) whenever something another node or an
  application may rely on changed; see :meth:`NodeStore._must_sync` for the one exception.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType

from tacmesh.node.store.records import COLUMNS, Row, check_held, from_row, key_of, to_row
from tacmesh.node.store.schema import StoreError, open_database
from tacmesh.protocol.addresses import is_unicast
from tacmesh.protocol.crypto.replay import MAX_TRACKED
from tacmesh.protocol.engine.custody import Held
from tacmesh.protocol.engine.dedup import MessageKey

Windows = Mapping[tuple[int, int], tuple[int, int]]
"""(transmitter, epoch) -> (highest, bitmap): ``ReplayGuard.snapshot()``'s format."""

MAX_UNSYNCED_S = 1.0
"""A windows-only commit is fsynced anyway once the last fsync is this old: it bounds what
an OS crash can take back to the last second of window movements."""

_U64 = (1 << 64) - 1
_PUT_HELD = f"INSERT OR REPLACE INTO held ({COLUMNS}) VALUES ({', '.join('?' * 12)})"
_DELETE_HELD = "DELETE FROM held WHERE origin = ? AND msg_id = ?"
_PUT_WINDOW = "INSERT OR REPLACE INTO windows VALUES (?, ?, ?, ?)"
_PUT_TOMBSTONE = "INSERT OR REPLACE INTO tombstones VALUES (?, ?, ?)"
_PRUNE_TOMBSTONES = "DELETE FROM tombstones WHERE until <= ?"
_PUT_META = "INSERT OR REPLACE INTO meta VALUES (?, ?)"
_PUT_NODE = "UPDATE node SET address = ?, counter_end = ? WHERE id = 0"


class NodeStore:
    """One node's store in one SQLite file; see SCHEMA.md for what survives a power cut.

    Used by one thread at a time (the daemon's loop, or a worker it hands a commit to).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        counter_block: int = 65_536,
        capacity: int | None = None,
        now: float | None = None,
    ) -> None:
        """Open or create the store at ``path``. ``capacity`` bounds the held messages
        (None: unbounded); ``now`` (Unix seconds, default the wall clock) decides which
        stored messages have expired."""
        if counter_block < 2:
            raise ValueError(f"counter_block {counter_block} must be at least 2")
        self.path = Path(path)
        self.counter_block = counter_block
        self.capacity = capacity
        self.loaded_expired = 0
        """Held messages dropped at open because their lifetime had ended."""
        self.loaded_unreadable = 0
        """Held messages dropped at open because their row no longer decodes."""
        self.durable_commits = 0
        self.windows_only_commits = 0
        self._db = open_database(self.path)
        self._closed = False
        self._held: dict[MessageKey, Held] = {}
        self._on_disk: set[MessageKey] = set()
        self._held_writes: dict[MessageKey, Held | None] = {}
        self._windows: dict[tuple[int, int], tuple[int, int]] = {}
        self._tombstones: dict[MessageKey, float] = {}
        self._prune_before: float | None = None
        self._meta: dict[str, str] = {}
        self._node_changed = False
        self._synchronous = "FULL"
        self._last_sync = time.monotonic()
        self._address: int | None = None
        self._counter_end = 0
        try:
            self._address, self._counter_end = self._db.execute(
                "SELECT address, counter_end FROM node WHERE id = 0"
            ).fetchone()
            self._load(time.time() if now is None else now)
        except sqlite3.Error as exc:
            self._db.close()
            raise StoreError(f"{self.path}: cannot read the store ({exc}); move it away") from None

    # -- opening -----------------------------------------------------------------------

    def _load(self, now: float) -> None:
        """Fill the mirror; drop what expired or no longer decodes; bound the windows."""
        gone: list[MessageKey] = []
        for row in self._db.execute(f"SELECT {COLUMNS} FROM held"):
            try:
                held = from_row(row)
            except (ValueError, TypeError):
                self.loaded_unreadable += 1
                gone.append(key_of(row))
                continue
            if held.expires_at <= now:
                self.loaded_expired += 1
                gone.append(held.key)
                continue
            self._held[held.key] = _restarted(held, now)
        self._on_disk = set(self._held)
        (windows,) = self._db.execute("SELECT count(*) FROM windows").fetchone()
        if gone or windows > MAX_TRACKED:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(_DELETE_HELD, gone)
            self._db.execute(
                "DELETE FROM windows WHERE rowid NOT IN "
                "(SELECT rowid FROM windows ORDER BY rowid DESC LIMIT ?)",
                (MAX_TRACKED,),
            )
            self._db.execute("COMMIT")

    def bind(self, address: int) -> None:
        """Claim this store for the node ``address``; refuse a store of another node."""
        if not is_unicast(address):
            raise ValueError(f"0x{address:04x} is not a unicast node address")
        if self._address == address:
            return
        if self._address is not None:
            raise StoreError(
                f"{self.path}: store of node 0x{self._address:04x}, not 0x{address:04x}; its "
                "custody and frame counter are that node's: give this node its own store "
                "file, or move this one away"
            )
        self._address, self._node_changed = address, True
        self.commit()

    @property
    def address(self) -> int | None:
        return self._address

    # -- held messages (tacmesh.protocol.engine.custody.MessageStore) -------------------

    def put(self, held: Held) -> None:
        if (
            self.capacity is not None
            and len(self._held) >= self.capacity
            and held.key not in self._held
        ):
            raise StoreError(
                f"{self.path}: full ({self.capacity} messages); the engine's store_capacity "
                "must not exceed the store's capacity"
            )
        check_held(held)
        self._held[held.key] = held
        self._held_writes[held.key] = held

    def remove(self, key: MessageKey) -> Held | None:
        held = self._held.pop(key, None)
        if held is None:
            return None
        if key in self._on_disk:
            self._held_writes[key] = None
        else:  # put and released within one batch: the disk never needs to hear of it
            self._held_writes.pop(key, None)
        return held

    def get(self, key: MessageKey) -> Held | None:
        return self._held.get(key)

    def __iter__(self) -> Iterator[Held]:
        return iter(list(self._held.values()))  # the engine removes while it iterates

    def __len__(self) -> int:
        return len(self._held)

    # -- frame counter (SPEC.md §7.4.1) -------------------------------------------------

    def resume_counter(self) -> int:
        """Where a restarted engine starts: past every counter a block was reserved for."""
        return self._counter_end

    def reserve_counter(self, counter: int) -> None:
        """Make sure ``counter`` (the engine's next) lies well inside the reserved block;
        moving the block is a durable write, so it happens once per half block."""
        if counter >= self._counter_end - self.counter_block // 2:
            self._counter_end = counter + self.counter_block
            self._node_changed = True

    # -- replay windows (SPEC.md §7.5) -------------------------------------------------

    def save_windows(self, windows: Windows) -> None:
        for key, (highest, bitmap) in windows.items():
            self._windows.pop(key, None)  # re-inserted last: most recently saved
            self._windows[key] = (highest, bitmap)

    def load_windows(self) -> dict[tuple[int, int], tuple[int, int]]:
        """Every saved window, least recently saved first (ReplayGuard.restore's order)."""
        rows = self._db.execute(
            "SELECT transmitter, epoch, highest, bitmap FROM windows ORDER BY rowid"
        )
        out = {(t, e): (h, b & _U64) for t, e, h, b in rows}
        for key, value in self._windows.items():
            out.pop(key, None)
            out[key] = value
        return out

    # -- duplicate tombstones (SPEC.md §9.1) -------------------------------------------

    def tombstone(self, key: MessageKey, until: float) -> None:
        self._tombstones[key] = until

    def prune_tombstones(self, now: float) -> None:
        """Delete, with the next commit, the tombstones whose time is up: a node that runs
        for days must not keep one row per message it ever delivered."""
        self._prune_before = max(now, self._prune_before or now)

    def tombstones(self, now: float) -> list[tuple[MessageKey, float]]:
        """Tombstones still in force at ``now``; the others are deleted at the next commit."""
        rows = self._db.execute(
            "SELECT origin, msg_id, until FROM tombstones WHERE until > ?", (now,)
        )
        merged = {(o, m): until for o, m, until in rows}
        merged.update(self._tombstones)
        self._prune_before = max(now, self._prune_before or now)
        return [(key, until) for key, until in merged.items() if until > now]

    # -- the daemon's small key/value --------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        if key in self._meta:
            return self._meta[key]
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._meta[key] = value

    # -- committing --------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        return bool(self._windows) or self._must_sync()

    def _must_sync(self) -> bool:
        """Whether the pending changes need an fsync: everything except replay windows.

        Windows move with nearly every frame received, so most batches of a busy relay
        (hellos, routes, positions: no custody) change nothing else; an fsync for each would
        hold the relay to the card's fsync rate. Without it the commit still survives a
        process crash (it is in the OS's cache); an OS crash or power cut can lose window
        movements since the last fsync, which is at most ``MAX_UNSYNCED_S`` old because any
        fsynced commit carries all earlier ones with it. The cost: after such a power cut
        the node could accept once more a frame it accepted in that last second, had an
        attacker recorded it. Replays are then stale hellos and routes (sequence numbers
        make them harmless) or messages that duplicate suppression and the destination's
        tombstones drop. No nonce is reused: the counter reservation is always fsynced.
        """
        return bool(
            self._held_writes
            or self._tombstones
            or self._prune_before is not None
            or self._meta
            or self._node_changed
        )

    def commit(self) -> None:
        """Write everything since the last commit in one transaction; see ``_must_sync``."""
        if self._closed:
            raise StoreError(f"{self.path}: the store is closed")
        if not self.dirty:
            return
        sync = self._must_sync() or time.monotonic() - self._last_sync >= MAX_UNSYNCED_S
        self._set_synchronous("FULL" if sync else "NORMAL")
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._write_pending()
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise StoreError(
                f"{self.path}: commit failed ({exc}); nothing of this batch is on disk: check "
                "free space and the storage device"
            ) from None
        self._committed(sync)

    def _set_synchronous(self, mode: str) -> None:
        if mode != self._synchronous:
            self._db.execute(f"PRAGMA synchronous={mode}")
            self._synchronous = mode

    def _write_pending(self) -> None:
        db = self._db
        if self._held_writes:
            rows: list[Row] = []
            deletes: list[MessageKey] = []
            for key, held in self._held_writes.items():
                if held is None:
                    deletes.append(key)
                else:
                    rows.append(to_row(held))
            db.executemany(_PUT_HELD, rows)
            db.executemany(_DELETE_HELD, deletes)
        if self._windows:
            db.executemany(
                _PUT_WINDOW,
                [(t, e, h, _signed64(b)) for (t, e), (h, b) in self._windows.items()],
            )
        if self._tombstones:
            db.executemany(_PUT_TOMBSTONE, [(o, m, u) for (o, m), u in self._tombstones.items()])
        if self._prune_before is not None:
            db.execute(_PRUNE_TOMBSTONES, (self._prune_before,))
        if self._meta:
            db.executemany(_PUT_META, self._meta.items())
        if self._node_changed:
            db.execute(_PUT_NODE, (self._address, self._counter_end))

    def _committed(self, synced: bool) -> None:
        for key, held in self._held_writes.items():
            if held is None:
                self._on_disk.discard(key)
            else:
                self._on_disk.add(key)
        self._held_writes.clear()
        self._windows.clear()
        self._tombstones.clear()
        self._meta.clear()
        self._prune_before, self._node_changed = None, False
        if synced:
            self._last_sync = time.monotonic()
            self.durable_commits += 1
        else:
            self.windows_only_commits += 1

    def close(self) -> None:
        """Commit what is pending, then close the file (and release its lock)."""
        if self._closed:
            return
        try:
            self.commit()
        finally:
            self._closed = True
            self._db.close()

    def __enter__(self) -> NodeStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _restarted(held: Held, now: float) -> Held:
    """A held message as a restarted engine takes it over.

    It waits for a route (the defaults of :class:`Held`: the next hop answers DUPLICATE if
    it already had it). An own message counts as sent once: its first transmission may have
    left after the last commit, so its msg_id must not go on the air again as a counter
    (SPEC.md §4.3.8). Times after ``now`` are brought back to it: a box without a real-time
    clock can boot with its clock behind, and a negative residence time must not make the
    message's age shrink (SPEC.md §4.3.7).
    """
    held.held_since = min(held.held_since, now)
    if held.own is not None:
        held.own.first_sent = True
        held.own.created_at = min(held.own.created_at, now)
    return held


def _signed64(bitmap: int) -> int:
    """SQLite integers are signed 64-bit; a full 64-counter bitmap needs the top bit."""
    if not 0 <= bitmap <= _U64:
        raise ValueError(f"replay bitmap {bitmap:#x} does not fit 64 bits")
    return bitmap - (1 << 64) if bitmap >> 63 else bitmap
