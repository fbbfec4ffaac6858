"""The flat ``mission.toml`` files: writing them (tomllib only reads) and reading typed fields
with errors that name the file, the key and the fix."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path

from tacmesh.node.keys.files import KeyFileError, read_bytes
from tacmesh.sim.scenario.render import string

Value = str | int
"""The only value types the key files hold: flat tables keep them editable by hand."""


def dump_toml(values: Mapping[str, Value | None], header: str = "") -> str:
    """One ``key = value`` line per entry; ``None`` values are left out (TOML has no null)."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    for key, value in values.items():
        if value is None:
            continue
        text = string(value) if isinstance(value, str) else str(int(value))
        lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"


class Fields:
    """The keys of one TOML file, read with the type each must have."""

    def __init__(self, path: Path, fix: str) -> None:
        self.path = path
        self.fix = fix
        try:
            self.values = tomllib.loads(read_bytes(path, fix).decode())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise KeyFileError(path, f"is not valid TOML ({exc})", fix) from None

    def error(self, key: str, problem: str) -> KeyFileError:
        return KeyFileError(self.path, f"{key} {problem}", self.fix)

    def text(self, key: str) -> str:
        value = self.values.get(key)
        if not isinstance(value, str):
            raise self.error(key, "is missing or not a string")
        return value

    def optional_text(self, key: str, default: str = "") -> str:
        return default if key not in self.values else self.text(key)

    def integer(self, key: str, minimum: int = 0) -> int:
        value = self.values.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(key, "is missing or not a whole number")
        if value < minimum:
            raise self.error(key, f"is {value}, below {minimum}")
        return value

    def optional_integer(self, key: str, minimum: int = 0) -> int | None:
        return None if key not in self.values else self.integer(key, minimum)
