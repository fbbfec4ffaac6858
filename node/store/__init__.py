"""The ground node daemon's durable store (SQLite in WAL mode): custody of held messages,
the frame counter reservation, replay windows, duplicate tombstones and a little metadata.
``SCHEMA.md`` in this folder says what each table is for and what survives a power cut."""

from __future__ import annotations

from tacmesh.node.store.schema import StoreError
from tacmesh.node.store.store import NodeStore

__all__ = ["NodeStore", "StoreError"]
