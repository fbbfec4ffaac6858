"""How messages name things: a value's TOML type, a value itself, a table, and the
"did you mean" suggestion.

Rules: values are shown as TOML would write them (strings quoted, booleans lowercase),
cut short past 40 characters; a list of choices is cut after a dozen names (a big
operation has thousands of nodes).
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from datetime import date, datetime, time

Raw = Mapping[str, object]
_LISTED = 12


def type_name(value: object) -> str:
    """The TOML name of a value's type, for messages."""
    names: tuple[tuple[type | tuple[type, ...], str], ...] = (
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a float"),
        (str, "a string"),
        (list, "an array"),
        (dict, "a table"),
        ((datetime, date, time), "a date/time"),
    )
    return next((name for kind, name in names if isinstance(value, kind)), "a value")


def show(value: object) -> str:
    """A short TOML-like rendering of a value, for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def suggest(word: str, choices: Collection[str], what: str = "use one of") -> str:
    """``did you mean "x"?`` when a choice is close, else the list of choices."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if close:
        return f'did you mean "{close[0]}"?'
    names = list(choices)
    if not names:
        return "there is none yet: define one"
    if len(names) > _LISTED:  # a big operation has thousands of nodes: list a few
        return f"{what} {', '.join(names[:_LISTED])}, ... ({len(names)} in all)"
    return f"{what} {', '.join(names)}"


def where_of(table: str, index: int, raw: Raw) -> str:
    """How messages name a table: ``node "cp"`` (``node #3`` while it has no name) or, for
    the unnamed kinds, ``traffic #2 (position)``."""
    if table in ("traffic", "failure"):
        kind = raw.get("kind")
        return f"{table} #{index + 1}" + (f" ({kind})" if isinstance(kind, str) else "")
    name = raw.get("name")
    return f'{table} "{name}"' if isinstance(name, str) else f"{table} #{index + 1}"


def one_of(word: str, choices: Collection[str]) -> str:
    """The fix for a value outside an enumeration: all the choices, and the close one."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    listing = f"use one of {', '.join(choices)}"
    return listing + (f' (did you mean "{close[0]}"?)' if close else "")
