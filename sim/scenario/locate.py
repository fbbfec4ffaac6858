"""Find the line of any value in a TOML scenario file, since tomllib reports none.

A path is the key path into the dicts tomllib returns: ``("node", 3, "mobility", "model")``
(array elements by index, as ``[[node]]`` tables are). :class:`LineMap` scans the text once
and records the line where each path starts: a table header, a ``key =``, a key inside an
inline table, an element of an array.

Rules: it runs only on text tomllib has already accepted, so it can assume well-formed
TOML and skip what it need not understand (scalars, string contents); when a path is not
recorded it falls back to the nearest recorded ancestor (the key, then the table header),
and finally to line 1, so a message always has a line.
"""

from __future__ import annotations

import tomllib
from bisect import bisect_left

Path = tuple[str | int, ...]

_BARE_KEY = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_SPACE = " \t\r"
_SCALAR_END = ",]}\n#"


class LineMap:
    """Lines of every table, key and array element of one TOML text."""

    def __init__(self, text: str) -> None:
        self._lines = _Scanner(text).scan()

    def exact(self, path: Path) -> int | None:
        """The line where ``path`` starts, or None when the text does not hold it."""
        return self._lines.get(path)

    def line(self, path: Path) -> int:
        """The line of ``path``, else of its nearest recorded ancestor, else 1."""
        for end in range(len(path), 0, -1):
            found = self._lines.get(path[:end])
            if found is not None:
                return found
        return 1


class _Scanner:
    """One pass over the text; ``pos`` moves forward only."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.lines: dict[Path, int] = {}
        self.arrays: dict[Path, int] = {}
        """Array-of-tables path -> how many of its tables have started so far."""
        self._newlines = [i for i, ch in enumerate(text) if ch == "\n"]

    def scan(self) -> dict[Path, int]:
        table: Path = ()
        while True:
            self._skip(newlines=True)
            if self.pos >= len(self.text):
                return self.lines
            if self.text.startswith("[", self.pos):
                table = self._header()
            else:
                self._keyval(table)

    # -- positions -------------------------------------------------------------------

    def _line(self) -> int:
        return bisect_left(self._newlines, self.pos) + 1

    def _note(self, path: Path, line: int) -> None:
        self.lines.setdefault(path, line)  # the first mention is where it starts

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _skip(self, *, newlines: bool) -> None:
        """Skip spaces (and, with ``newlines``, line ends and comments)."""
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch in _SPACE or (newlines and ch == "\n"):
                self.pos += 1
            elif newlines and ch == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

    # -- statements ------------------------------------------------------------------

    def _header(self) -> Path:
        line = self._line()
        array = self.text.startswith("[[", self.pos)
        self.pos += 2 if array else 1
        keys = self._key()
        self._skip(newlines=False)
        self.pos += 2 if array else 1
        path: Path = ()
        for i, key in enumerate(keys):
            path = (*path, key)
            if array and i == len(keys) - 1:
                count = self.arrays.get(path, 0)
                self.arrays[path] = count + 1
                self._note(path, line)
                path = (*path, count)
            elif path in self.arrays:  # [node.mobility] belongs to the latest [[node]]
                path = (*path, self.arrays[path] - 1)
            self._note(path, line)
        return path

    def _keyval(self, base: Path) -> None:
        line = self._line()
        keys = self._key()
        path = base
        for key in keys:
            path = (*path, key)
            self._note(path, line)
        self._skip(newlines=False)
        self.pos += 1  # "="
        self._skip(newlines=False)
        self._value(path)

    def _key(self) -> list[str]:
        """A dotted key; quoted parts are decoded as TOML decodes them."""
        keys: list[str] = []
        while True:
            self._skip(newlines=False)
            ch = self._peek()
            if ch in "\"'":
                start = self.pos
                self._string()
                raw = self.text[start : self.pos]
                keys.append(str(tomllib.loads(f"k = {raw}")["k"]))
            else:
                start = self.pos
                while self._peek() in _BARE_KEY:
                    self.pos += 1
                keys.append(self.text[start : self.pos])
            self._skip(newlines=False)
            if self._peek() != ".":
                return keys
            self.pos += 1

    # -- values ----------------------------------------------------------------------

    def _value(self, path: Path) -> None:
        ch = self._peek()
        if ch in "\"'":
            self._string()
        elif ch == "[":
            self._array(path)
        elif ch == "{":
            self._inline_table(path)
        else:
            while self.pos < len(self.text) and self.text[self.pos] not in _SCALAR_END:
                self.pos += 1

    def _array(self, path: Path) -> None:
        self.pos += 1
        index = 0
        while True:
            self._skip(newlines=True)
            if self._peek() in ("]", ""):
                self.pos += 1
                return
            self._note((*path, index), self._line())
            self._value((*path, index))
            index += 1
            self._skip(newlines=True)
            if self._peek() == ",":
                self.pos += 1

    def _inline_table(self, path: Path) -> None:
        self.pos += 1
        while True:
            self._skip(newlines=False)
            if self._peek() in ("}", ""):
                self.pos += 1
                return
            self._keyval(path)
            self._skip(newlines=False)
            if self._peek() == ",":
                self.pos += 1

    def _string(self) -> None:
        quote = self.text[self.pos]
        if self.text.startswith(quote * 3, self.pos):
            end = self._find_close(quote * 3, self.pos + 3, escapes=quote == '"')
            self.pos = end + 3
            # A closing run may hold up to two more quotes that belong to the content.
            extra = 0
            while extra < 2 and self._peek() == quote:
                self.pos += 1
                extra += 1
        else:
            self.pos = self._find_close(quote, self.pos + 1, escapes=quote == '"') + 1

    def _find_close(self, close: str, start: int, *, escapes: bool) -> int:
        i = start
        while i < len(self.text):
            if escapes and self.text[i] == "\\":
                i += 2
            elif self.text.startswith(close, i):
                return i
            else:
                i += 1
        return len(self.text)
