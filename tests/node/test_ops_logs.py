"""Log formats: JSON lines for ingestion, key=value for people, journald-aware."""

from __future__ import annotations

import io
import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest

from tacmesh.node.ops.logs import setup_logging

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(level)


@pytest.fixture(autouse=True)
def _no_journal(monkeypatch: pytest.MonkeyPatch) -> None:
    # The test runner itself may run under systemd.
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)


def _boom() -> None:
    raise RuntimeError("radio gone")


def test_json_lines_carry_core_fields_and_extras() -> None:
    out = io.StringIO()
    setup_logging("info", "json", stream=out)
    log = logging.getLogger("tacmesh.node.test")
    log.info("neighbour %s lost", "relay-2", extra={"neighbour": "0x1201", "hops": 2})
    log.debug("not shown at info")
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    doc = json.loads(lines[0])
    assert ISO_UTC.fullmatch(doc.pop("ts"))
    assert doc == {
        "level": "info",
        "logger": "tacmesh.node.test",
        "msg": "neighbour relay-2 lost",
        "neighbour": "0x1201",
        "hops": 2,
    }


def test_json_keeps_an_extra_named_like_a_core_field_and_exceptions() -> None:
    out = io.StringIO()
    setup_logging("warning", "json", stream=out)
    log = logging.getLogger("tacmesh.x")
    try:
        _boom()
    except RuntimeError:
        log.exception("bridge failed", extra={"level": "custom", "when": Path("/dev/ttyUSB0")})
    doc = json.loads(out.getvalue())
    assert doc["level"] == "error"
    assert doc["level_"] == "custom"
    assert doc["when"] == "/dev/ttyUSB0"  # not JSON-serialisable: rendered with str()
    assert "RuntimeError: radio gone" in doc["exc"]


def test_text_is_compact_key_value() -> None:
    out = io.StringIO()
    setup_logging("warning", "text", stream=out)
    log = logging.getLogger("tacmesh.node.links")
    log.info("hidden by the quiet default")
    log.warning("link down", extra={"interface": "wlan0", "reason": 'carrier "lost"'})
    line = out.getvalue()
    assert line.endswith("\n")
    ts, rest = line.rstrip("\n").split(" ", 1)
    assert ts.startswith("ts=")
    assert ISO_UTC.fullmatch(ts[3:])
    assert rest == (
        'level=warning logger=tacmesh.node.links msg="link down" '
        'interface=wlan0 reason="carrier \\"lost\\""'
    )


def test_text_traceback_follows_on_its_own_lines() -> None:
    out = io.StringIO()
    setup_logging("error", "text", stream=out)
    try:
        _boom()
    except RuntimeError:
        logging.getLogger("tacmesh.x").exception("bridge failed")
    first, *trace = out.getvalue().splitlines()
    assert first.endswith('level=error logger=tacmesh.x msg="bridge failed"')
    assert trace[0] == "Traceback (most recent call last):"
    assert trace[-1] == "RuntimeError: radio gone"


def _journal_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TextIO:
    """A real file standing in for the journal socket: JOURNAL_STREAM names its inode."""
    stream = (tmp_path / "journal").open("w", encoding="utf-8")
    stat = os.fstat(stream.fileno())
    monkeypatch.setenv("JOURNAL_STREAM", f"{stat.st_dev}:{stat.st_ino}")
    return stream


def test_text_under_journald_drops_timestamp_and_adds_priority(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _journal_file(tmp_path, monkeypatch) as stream:
        setup_logging("info", "text", stream=stream)
        log = logging.getLogger("tacmesh.node")
        log.info("ready", extra={"neighbours": 3})
        log.warning("slow store")
        try:
            _boom()
        except RuntimeError:
            log.exception("bridge failed")
        stream.flush()
    lines = (tmp_path / "journal").read_text().splitlines()
    assert lines[:2] == [
        "<6>level=info logger=tacmesh.node msg=ready neighbours=3",
        '<4>level=warning logger=tacmesh.node msg="slow store"',
    ]
    # One journal entry per record: the traceback stays on the line, escaped.
    assert len(lines) == 3
    assert lines[2].startswith('<3>level=error logger=tacmesh.node msg="bridge failed" exc="')
    assert "\\nRuntimeError: radio gone" in lines[2]


def test_json_under_journald_gets_priority_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _journal_file(tmp_path, monkeypatch) as stream:
        setup_logging("info", "json", stream=stream)
        logging.getLogger("tacmesh.node").error("disk full")
        stream.flush()
    line = (tmp_path / "journal").read_text()
    assert line.startswith("<3>{")
    assert json.loads(line[3:])["msg"] == "disk full"


def test_inherited_journal_stream_for_another_file_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _journal_file(tmp_path, monkeypatch):
        out = io.StringIO()
        setup_logging("warning", "text", stream=out)
        logging.getLogger("tacmesh").warning("x")
    assert out.getvalue().startswith("ts=")


def test_second_setup_replaces_the_first() -> None:
    first, second = io.StringIO(), io.StringIO()
    setup_logging("warning", "text", stream=first)
    setup_logging("debug", "json", stream=second)
    logging.getLogger("tacmesh").debug("once")
    assert first.getvalue() == ""
    assert json.loads(second.getvalue())["msg"] == "once"


@pytest.mark.parametrize(("level", "fmt"), [("verbose", "text"), ("info", "xml")])
def test_bad_level_or_format_is_refused(level: str, fmt: str) -> None:
    with pytest.raises(ValueError):
        setup_logging(level, fmt, stream=io.StringIO())  # type: ignore[arg-type]
