"""The systemd notify protocol (sd_notify(3)), standard library only.

A unit with ``Type=notify`` hands the daemon a datagram socket in ``$NOTIFY_SOCKET``;
the daemon writes newline-separated ``KEY=value`` assignments to it. Outside systemd the
variable is unset and every call here does nothing, so the daemon needs no special case
for a terminal run. Sending never raises: a relay must not die because its supervisor
could not be told something.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


def _monotonic_usec() -> int:
    # systemd compares MONOTONIC_USEC with its own CLOCK_MONOTONIC, which is what
    # time.monotonic_ns() reads on Linux.
    return time.monotonic_ns() // 1000


def _socket_address(raw: str) -> str | None:
    """The sendto() address for ``$NOTIFY_SOCKET``, or None when it is not usable.

    ``@name`` names a socket in the abstract namespace (a leading NUL byte on the wire);
    anything else must be an absolute path. Other forms (``vsock:``, systemd >= 254) are
    not used for local services and are ignored rather than guessed at.
    """
    if raw.startswith("@") and len(raw) > 1:
        return "\0" + raw[1:]
    if raw.startswith("/"):
        return raw
    return None


def _one_line(text: str) -> str:
    # A newline would start a new assignment in the datagram.
    return " ".join(text.splitlines())


class Notifier:
    """Tells systemd about readiness, reloads, shutdown and liveness.

    ``environ`` defaults to ``os.environ`` and ``clock`` (microseconds of
    CLOCK_MONOTONIC) to the real clock; tests inject both.
    """

    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], int] = _monotonic_usec,
    ) -> None:
        self._environ: Mapping[str, str] = os.environ if environ is None else environ
        self._clock = clock
        self._address = _socket_address(self._environ.get("NOTIFY_SOCKET", ""))
        self._sock: socket.socket | None = None
        self._failure_logged = False

    @property
    def enabled(self) -> bool:
        """True when running under a supervisor that listens (``$NOTIFY_SOCKET`` set)."""
        return self._address is not None

    def ready(self, status: str) -> None:
        """Startup (or a reload) is complete; ``status`` shows in ``systemctl status``."""
        self._send(f"READY=1\nSTATUS={_one_line(status)}")

    def status(self, text: str) -> None:
        """Free-form one-line status, e.g. "3 neighbours, 12 routes"."""
        self._send(f"STATUS={_one_line(text)}")

    def reloading(self) -> None:
        """A reload (SIGHUP) has begun; send :meth:`ready` when it is done.

        systemd >= 253 requires MONOTONIC_USEC with RELOADING=1 to tell this reload from
        an older one; earlier versions ignore the extra assignment.
        """
        self._send(f"RELOADING=1\nMONOTONIC_USEC={self._clock()}")

    def stopping(self) -> None:
        """Shutdown has begun (so a slow stop is not mistaken for a hang)."""
        self._send("STOPPING=1")

    def watchdog(self) -> None:
        """A liveness ping; send it at half of :meth:`watchdog_interval`."""
        self._send("WATCHDOG=1")

    def watchdog_interval(self) -> float | None:
        """Seconds systemd waits for a ping before it kills us, or None if no watchdog.

        Follows sd_watchdog_enabled(3): ``$WATCHDOG_USEC`` must be a positive integer
        and, when ``$WATCHDOG_PID`` is set, it must name this process (a child that
        inherited the environment must not ping on the parent's behalf).
        """
        usec = _positive_int(self._environ.get("WATCHDOG_USEC"))
        if usec is None:
            return None
        pid = self._environ.get("WATCHDOG_PID")
        if pid is not None and _positive_int(pid) != os.getpid():
            return None
        return usec / 1_000_000

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _send(self, message: str) -> None:
        if self._address is None:
            return
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                # Never stall the event loop on a full supervisor queue; a lost ping is
                # better than a blocked relay.
                self._sock.setblocking(False)
            self._sock.sendto(message.encode(), self._address)
        except OSError as exc:
            if not self._failure_logged:
                self._failure_logged = True
                log.debug("systemd notify to %r failed: %s", self._address, exc)


def _positive_int(raw: str | None) -> int | None:
    if raw is None or not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if value > 0 else None
