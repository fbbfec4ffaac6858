"""Structured logs, quiet by default: JSON lines for ingestion or key=value for people.

A relay runs unattended for days on an SD card, so the default level is ``warning``.
Extra fields travel as ``log.warning("neighbour lost", extra={"neighbour": "0x1201"})``
and come out as their own keys in both formats.

Under systemd (stderr connected to the journal, see ``$JOURNAL_STREAM`` in
systemd.exec(5)) text lines drop the timestamp, which journald records itself, and
every line starts with a ``<N>`` syslog priority that journald strips and records, so
``journalctl -p warning`` filters by level.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}

_SYSLOG_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}

# Attributes every LogRecord has; anything else on a record came from extra={...}.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "taskName"}
)


def _level_name(record: logging.LogRecord) -> str:
    return record.levelname.lower()


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}


def _syslog_prefix(record: logging.LogRecord) -> str:
    # Levels between the named ones (e.g. 25) take the priority of the level below.
    known = [level for level in _SYSLOG_PRIORITY if level <= record.levelno]
    return f"<{_SYSLOG_PRIORITY[max(known, default=logging.DEBUG)]}>"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, the extras, then exc if any.

    ``journal=True`` prefixes the syslog priority, which journald strips and records,
    so ``journalctl -o cat`` still shows bare JSON.
    """

    def __init__(self, journal: bool = False) -> None:
        super().__init__()
        self._journal = journal

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": _level_name(record),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in _extras(record).items():
            # An extra named like a core field must not overwrite it, nor vanish.
            doc[key if key not in doc else f"{key}_"] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        line = json.dumps(doc, default=str, ensure_ascii=False)
        return _syslog_prefix(record) + line if self._journal else line


class TextFormatter(logging.Formatter):
    """``ts=... level=... logger=... msg="..." key=value``; compact logfmt for people.

    ``journal=True`` drops ``ts`` (journald stamps each line), prefixes the syslog
    priority and keeps a traceback on the same line, since every line is an entry there.
    """

    def __init__(self, journal: bool = False) -> None:
        super().__init__()
        self._journal = journal

    def format(self, record: logging.LogRecord) -> str:
        fields: list[tuple[str, object]] = []
        if not self._journal:
            fields.append(("ts", _timestamp(record)))
        fields += [
            ("level", _level_name(record)),
            ("logger", record.name),
            ("msg", record.getMessage()),
        ]
        fields += _extras(record).items()
        line = " ".join(f"{key}={_logfmt_value(value)}" for key, value in fields)
        if not record.exc_info:
            return _syslog_prefix(record) + line if self._journal else line
        exc = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if self._journal:
            return f"{_syslog_prefix(record)}{line} exc={_logfmt_value(exc)}"
        return f"{line}\n{exc}"


def _logfmt_value(value: object) -> str:
    text = str(value)
    if text and not any(c in text for c in ' "=\\\n\r\t'):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{escaped}"'


def connected_to_journal(stream: TextIO) -> bool:
    """True when ``stream`` is the journal socket systemd gave us.

    ``$JOURNAL_STREAM`` is ``device:inode`` of that socket; comparing it with the
    stream's own fstat keeps a child process or a redirected stream from mistaking
    itself for a journald client because it inherited the variable.
    """
    expected = os.environ.get("JOURNAL_STREAM", "")
    try:
        stat = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        # No file descriptor (a StringIO, a closed stream): not the journal.
        return False
    return expected == f"{stat.st_dev}:{stat.st_ino}"


class _OpsHandler(logging.StreamHandler[TextIO]):
    """Marks the handler setup_logging installed, so a second call replaces it."""


def setup_logging(
    level: str = "warning",
    fmt: Literal["text", "json"] = "text",
    stream: TextIO | None = None,
) -> logging.Handler:
    """Send every logger's records to ``stream`` (stderr by default) in ``fmt``.

    Configures the root logger, so libraries' warnings appear too. Calling it again
    (e.g. on SIGHUP with a new level) replaces the previous handler. Raises ValueError
    for an unknown level or format.
    """
    numeric = LEVELS.get(level.lower())
    if numeric is None:
        raise ValueError(f"log level {level!r}: choose one of {', '.join(LEVELS)}")
    target = sys.stderr if stream is None else stream
    handler = _OpsHandler(target)
    handler.setFormatter(_formatter(fmt, connected_to_journal(target)))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _OpsHandler)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(numeric)
    return handler


def _formatter(fmt: str, journal: bool) -> logging.Formatter:
    if fmt == "json":
        return JsonFormatter(journal=journal)
    if fmt == "text":
        return TextFormatter(journal=journal)
    raise ValueError(f"log format {fmt!r}: choose text or json")
