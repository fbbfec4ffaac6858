"""The scenario loader's error: every problem of a file at once, each naming the line and fix.

Rules: a message reads ``<file>:<line>: <where>: <what is wrong>; <the fix>``; problems are
collected (not raised one by one) so an engineer fixes a file in one pass, and reported
sorted by line; TOML syntax errors, which stop tomllib at the first, come out in the same
form.
"""

from __future__ import annotations

import re
import tomllib

from tacmesh.sim.scenario.locate import LineMap, Path


class ScenarioError(ValueError):
    """A scenario file that cannot be run; ``problems`` lists (line, message) sorted by
    line, where ``message`` is ``<where>: <what>; <fix>`` and ``str(error)`` prefixes each
    with ``<file>:<line>: `` one per line."""

    def __init__(self, source: str, problems: list[tuple[int, str]]) -> None:
        self.source = source
        self.problems = sorted(problems, key=lambda item: item[0])
        super().__init__("\n".join(f"{source}:{line}: {text}" for line, text in self.problems))


class Problems:
    """Collects the problems of one file, placing each on the line of the path it is about."""

    def __init__(self, source: str, lines: LineMap) -> None:
        self.source = source
        self.lines = lines
        self._items: list[tuple[int, str]] = []
        self._seen: set[tuple[int, str]] = set()

    def add(self, path: Path, where: str, what: str, fix: str) -> None:
        self.at(self.lines.line(path), where, what, fix)

    def at(self, line: int, where: str, what: str, fix: str) -> None:
        item = (line, f"{where}: {what}; {fix}")
        if item not in self._seen:  # two checks may meet the same fault
            self._seen.add(item)
            self._items.append(item)

    def __bool__(self) -> bool:
        return bool(self._items)

    def error(self) -> ScenarioError:
        return ScenarioError(self.source, self._items)

    def raise_if_any(self) -> None:
        if self._items:
            raise self.error()


_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_END = re.compile(r"\s*\(at end of document\)\s*$")

# tomllib's message start -> the fix to suggest; the rest get a generic one.
_SYNTAX_FIXES = (
    ("Cannot overwrite a value", "each key may appear once per table; remove or rename one"),
    ("Cannot declare", "this table or key was defined before; merge the two definitions"),
    ("Invalid value", "quote strings, write numbers plainly and booleans as true or false"),
    ("Expected '=' after a key", "write key = value, one per line"),
    ("Invalid statement", "write key = value, [table] or [[array]] on each line"),
    ("Expected newline or end of document", "one key = value per line; quote text with spaces"),
    ("Unclosed array", "close the array with ]"),
    ("Unclosed inline table", "close the inline table with } on the same line"),
    ("Unterminated string", "close the string with its quote on the same line"),
    ("Illegal character", "remove the character or write it inside a quoted string"),
)


def syntax_error(source: str, text: str, exc: tomllib.TOMLDecodeError) -> ScenarioError:
    """Re-express tomllib's message, which ends "(at line N, column M)", in our form."""
    message = str(exc)
    found = _POSITION.search(message)
    if found:
        line = int(found.group(1))
        what = f"{message[: found.start()]} at column {found.group(2)}"
    else:
        line = text.count("\n") + 1
        what = _END.sub(" at the end of the file", message)
    fix = next(
        (fix for start, fix in _SYNTAX_FIXES if message.startswith(start)),
        "check quotes, brackets and commas here (SCHEMA.md has an example)",
    )
    return ScenarioError(source, [(line, f"TOML syntax: {what}; {fix}")])
