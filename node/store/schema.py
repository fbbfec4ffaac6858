"""The store's file: opening it, recognising it, and bringing its schema up to date.

Rules this file keeps:
- A file is a tacmesh store only if its SQLite ``application_id`` says so; any other file,
  SQLite or not, is refused untouched (nothing is written before it is recognised).
- ``user_version`` is the schema version. ``MIGRATIONS[v]`` turns version ``v`` into
  ``v + 1`` inside one transaction with the version bump, so a power cut during an upgrade
  leaves the old schema, never half of the new one. A file from a newer tacmesh is refused.
- The tables and why each exists are described in ``SCHEMA.md`` next to this file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

APPLICATION_ID = 0x544D_5348
"""``PRAGMA application_id`` of every tacmesh node store ("TMSH")."""
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 1.0
"""How long to wait for a lock before deciding another process holds the store."""
WAL_SIZE_LIMIT = 4 * 1024 * 1024
"""Truncate the write-ahead log to this after a checkpoint: SD cards are small."""


class StoreError(Exception):
    """The store file cannot be used; the message names the file and what to do."""


_V1 = (
    # One row: the node this file belongs to, and the end of the reserved counter block.
    """CREATE TABLE node (
        id INTEGER PRIMARY KEY CHECK (id = 0),
        address INTEGER,
        counter_end INTEGER NOT NULL
    )""",
    "INSERT INTO node (id, address, counter_end) VALUES (0, NULL, 0)",
    """CREATE TABLE held (
        origin INTEGER NOT NULL,
        msg_id INTEGER NOT NULL,
        destination INTEGER NOT NULL,
        priority INTEGER NOT NULL,
        expires_at REAL NOT NULL,
        held_since REAL NOT NULL,
        custody INTEGER NOT NULL,
        header BLOB NOT NULL,
        payload BLOB NOT NULL,
        created_at REAL,
        own_expires_at REAL,
        first_sent INTEGER,
        PRIMARY KEY (origin, msg_id)
    ) WITHOUT ROWID""",
    # A rowid table on purpose: INSERT OR REPLACE gives a saved window a new, larger rowid,
    # so ORDER BY rowid is least recently saved first, the order ReplayGuard evicts in.
    """CREATE TABLE windows (
        transmitter INTEGER NOT NULL,
        epoch INTEGER NOT NULL,
        highest INTEGER NOT NULL,
        bitmap INTEGER NOT NULL,
        PRIMARY KEY (transmitter, epoch)
    )""",
    """CREATE TABLE tombstones (
        origin INTEGER NOT NULL,
        msg_id INTEGER NOT NULL,
        until REAL NOT NULL,
        PRIMARY KEY (origin, msg_id)
    ) WITHOUT ROWID""",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
)


def _create_v1(db: sqlite3.Connection) -> None:
    for statement in _V1:
        db.execute(statement)


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {0: _create_v1}
"""``MIGRATIONS[v]`` upgrades schema ``v`` to ``v + 1`` (0 is an empty file)."""


def open_database(path: Path) -> sqlite3.Connection:
    """Open (or create) the store at ``path``, recognised, locked, in WAL mode and current."""
    try:
        # check_same_thread=False: the daemon may commit from a worker thread so that an
        # fsync does not stall its event loop; the store is still used by one thread at a time.
        db = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot open ({exc}); check the path and permissions") from None
    try:
        _prepare(db, path)
    except BaseException:
        db.close()
        raise
    return db


def _prepare(db: sqlite3.Connection, path: Path) -> None:
    try:
        # Exclusive: two daemons sharing one store would hand out the same frame counters
        # (nonce reuse, SPEC.md §7.4.1). Set before the first access so that WAL keeps its
        # index in process memory rather than a shared-memory file.
        db.execute("PRAGMA locking_mode=EXCLUSIVE")
        version = _recognise(db, path)
        _enter_wal(db, path)
        db.execute("PRAGMA synchronous=FULL")
        db.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        _migrate(db, version)
        db.execute("BEGIN IMMEDIATE")  # take the write lock now (kept: exclusive mode),
        db.execute("COMMIT")  # so a second daemon fails here, not at its first commit
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise StoreError(
                f"{path}: in use by another process (is another tacmesh daemon running with "
                "this store?); stop it, or give this daemon its own store file"
            ) from None
        raise StoreError(f"{path}: {exc}; check the file system and free space") from None
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"{path}: not a tacmesh store ({exc}); move the file away or point the daemon "
            "at another path"
        ) from None


def _recognise(db: sqlite3.Connection, path: Path) -> int:
    """The file's schema version; raises if it is not a store this tacmesh can use."""
    app_id = db.execute("PRAGMA application_id").fetchone()[0]
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if app_id != APPLICATION_ID:
        tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if app_id != 0 or tables:
            raise StoreError(
                f"{path}: an SQLite database of another application (application_id "
                f"0x{app_id:08x}, {tables} objects), not a tacmesh store; move it away or "
                "point the daemon at another path"
            )
        return 0
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: store is from a newer tacmesh (schema {version}, this one reads up to "
            f"{SCHEMA_VERSION}); upgrade tacmesh or move the file away"
        )
    return version


def _enter_wal(db: sqlite3.Connection, path: Path) -> None:
    mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise StoreError(
            f"{path}: the file system refused write-ahead logging (journal mode {mode}); "
            "put the store on a local file system"
        )


def _migrate(db: sqlite3.Connection, version: int) -> None:
    while version < SCHEMA_VERSION:
        db.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[version](db)
            version += 1
            db.execute(f"PRAGMA user_version={version}")
            db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
