"""Priority classes (SPEC.md §5): lower value leaves first at every hop."""

from __future__ import annotations

from enum import IntEnum


class Priority(IntEnum):
    CONTROL = 0
    """Network control (hello, routing, custody acks): small, rate-limited, keeps the rest alive."""
    SOS = 1
    COMMAND = 2
    """Orders from command and their acknowledgements."""
    ALERT = 3
    """Vital signs and sensor alarms."""
    POSITION = 4
    """Position and status reports ("latest value wins")."""
    TEXT = 5
    BULK = 6
