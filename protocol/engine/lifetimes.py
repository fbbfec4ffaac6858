"""Default message lifetimes by priority class (SPEC.md §9)."""

from __future__ import annotations

from tacmesh.protocol.priority import Priority

DEFAULT_LIFETIME_S: dict[Priority, int] = {
    Priority.CONTROL: 60,
    Priority.SOS: 24 * 3600,
    Priority.COMMAND: 3600,
    Priority.ALERT: 600,
    Priority.POSITION: 120,
    Priority.TEXT: 6 * 3600,
    Priority.BULK: 3600,
}
