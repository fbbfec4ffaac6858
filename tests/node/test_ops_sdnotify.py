"""The notify protocol against a real AF_UNIX datagram socket standing in for systemd."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tacmesh.node.ops.sdnotify import Notifier

CLOCK_USEC = 123_456_789


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A bound datagram socket and the ``$NOTIFY_SOCKET`` value that reaches it."""
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2.0)
    try:
        yield sock, str(path)
    finally:
        sock.close()


def _notifier(address: str, **extra: str) -> Notifier:
    return Notifier({"NOTIFY_SOCKET": address, **extra}, clock=lambda: CLOCK_USEC)


def test_each_call_sends_its_exact_datagram(supervisor: tuple[socket.socket, str]) -> None:
    sock, address = supervisor
    notifier = _notifier(address)
    try:
        notifier.ready("3 neighbours")
        notifier.status("line one\nline two")
        notifier.reloading()
        notifier.watchdog()
        notifier.stopping()
    finally:
        notifier.close()
    received = [sock.recv(4096) for _ in range(5)]
    assert received == [
        b"READY=1\nSTATUS=3 neighbours",
        b"STATUS=line one line two",
        f"RELOADING=1\nMONOTONIC_USEC={CLOCK_USEC}".encode(),
        b"WATCHDOG=1",
        b"STOPPING=1",
    ]


def test_abstract_namespace_socket() -> None:
    name = f"tacmesh-test-{os.getpid()}-{id(object())}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2.0)
    notifier = _notifier("@" + name)
    try:
        notifier.watchdog()
        assert sock.recv(4096) == b"WATCHDOG=1"
    finally:
        notifier.close()
        sock.close()


def test_env_from_process_by_default(
    supervisor: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sock, address = supervisor
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    notifier = Notifier()
    try:
        assert notifier.enabled
        notifier.stopping()
        assert sock.recv(4096) == b"STOPPING=1"
    finally:
        notifier.close()


def test_without_notify_socket_is_a_no_op() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    notifier.ready("up")
    notifier.watchdog()
    notifier.close()


@pytest.mark.parametrize("address", ["relative/path", "vsock:2:1234", "@"])
def test_unusable_address_is_ignored(address: str) -> None:
    notifier = _notifier(address)
    assert not notifier.enabled
    notifier.ready("up")


def test_send_failure_never_raises_and_logs_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = _notifier(str(tmp_path / "nobody-listens"))
    caplog.set_level(logging.DEBUG, logger="tacmesh.node.ops.sdnotify")
    try:
        for _ in range(3):
            notifier.watchdog()
    finally:
        notifier.close()
    failures = [r for r in caplog.records if "notify" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].levelno == logging.DEBUG


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"WATCHDOG_USEC": "30000000"}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid() + 1)}, None),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "garbage"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "-5"}, None),
        ({"WATCHDOG_USEC": "thirty"}, None),
        ({"WATCHDOG_USEC": "²"}, None),
        ({"WATCHDOG_USEC": "500000"}, 0.5),
    ],
)
def test_watchdog_interval(env: dict[str, str], expected: float | None) -> None:
    assert Notifier(env).watchdog_interval() == expected
