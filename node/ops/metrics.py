"""An opt-in Prometheus endpoint on the loopback interface (text exposition 0.0.4).

The daemon supplies ``collect() -> list[Metric]``; each scrape renders what it returns.
The HTTP side is the least a Prometheus scraper needs: one GET per connection, a
response, close. It only ever binds to a loopback address: a relay box sits on a
network anyone at the site can join, so remote scraping goes through an SSH tunnel.

Rules this module keeps:
- collect() runs on the event loop at each scrape, so it must only read in-memory state.
- A bad request, a slow client or a failing collect() costs that one connection, never
  the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

log = logging.getLogger(__name__)

PREFIX = "tacmesh_"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PATH = "/metrics"

REQUEST_TIMEOUT = 5.0
"""Seconds a client gets for the whole exchange before the connection is dropped."""
MAX_LINE = 8192
MAX_HEADERS = 100

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

Labels = dict[str, str]


@dataclass(frozen=True)
class Metric:
    """One metric family as the daemon reports it at scrape time."""

    name: str
    """Full exposition name, starting with ``tacmesh_``; counters end in ``_total``."""
    kind: Literal["counter", "gauge"]
    help: str
    """One line for ``# HELP`` (newlines and backslashes are escaped, not refused)."""
    samples: list[tuple[Labels, float]] = field(default_factory=list)
    """(labels, value) pairs; an empty dict for an unlabelled sample."""

    def __post_init__(self) -> None:
        if not self.name.startswith(PREFIX) or not _METRIC_NAME.fullmatch(self.name):
            raise ValueError(f"metric name {self.name!r} must match tacmesh_[a-zA-Z0-9_:]*")
        if self.kind not in ("counter", "gauge"):
            raise ValueError(f"metric {self.name}: kind must be counter or gauge")
        for labels, _ in self.samples:
            for label in labels:
                if not _LABEL_NAME.fullmatch(label) or label.startswith("__"):
                    raise ValueError(f"metric {self.name}: bad label name {label!r}")


def render(metrics: list[Metric]) -> str:
    """The exposition text for ``metrics``: HELP, TYPE, then samples, per family."""
    seen: set[str] = set()
    lines: list[str] = []
    for metric in metrics:
        if metric.name in seen:
            # The format allows one block per family; a repeat is the daemon's bug.
            raise ValueError(f"metric {metric.name} reported twice")
        seen.add(metric.name)
        lines.append(f"# HELP {metric.name} {_escape_help(metric.help)}")
        lines.append(f"# TYPE {metric.name} {metric.kind}")
        lines.extend(_sample_line(metric.name, labels, value) for labels, value in metric.samples)
    return "".join(line + "\n" for line in lines)


def _sample_line(name: str, labels: Labels, value: float) -> str:
    if not labels:
        return f"{name} {_format_value(value)}"
    pairs = ",".join(f'{key}="{_escape_label_value(val)}"' for key, val in labels.items())
    return f"{name}{{{pairs}}} {_format_value(value)}"


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _escape_label_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_local(host: str) -> None:
    """Refuse anything but a loopback address or ``localhost`` (which node.toml allows).

    A name other than ``localhost`` could resolve anywhere; ``localhost`` itself is
    checked again once bound (see :meth:`MetricsServer.start`).
    """
    if host != "localhost" and not _is_loopback(host):
        raise ValueError(
            f"cannot serve metrics on {host!r}: metrics are local-only; "
            "scrape through an SSH tunnel (bind 127.0.0.1 or ::1)"
        )


class MetricsServer:
    """Serves ``GET /metrics`` from ``collect()`` until :meth:`close`."""

    def __init__(self, collect: Callable[[], list[Metric]], host: str, port: int) -> None:
        check_local(host)
        self._collect = collect
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._failing = False

    async def start(self) -> None:
        server = await asyncio.start_server(self._serve_one, self._host, self._port, limit=MAX_LINE)
        bound = [str(sock.getsockname()[0]) for sock in server.sockets]
        if not all(_is_loopback(address) for address in bound):
            # Only reachable through a hosts file that maps localhost elsewhere.
            server.close()
            await server.wait_closed()
            check_local(next(a for a in bound if not _is_loopback(a)))
        self._server = server

    @property
    def port(self) -> int:
        """The bound port (after asking for port 0; with ``localhost`` and port 0 each
        address family may get its own, and this is the first socket's)."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("metrics server is not started")
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            # One deadline for the whole exchange: a client that never sends, or never
            # reads a large response, must not hold the connection open.
            async with asyncio.timeout(REQUEST_TIMEOUT):
                request = await _read_request_head(reader)
                writer.write(self._respond(request))
                await writer.drain()
        except (TimeoutError, ConnectionError, ValueError, asyncio.IncompleteReadError) as exc:
            # ValueError covers an over-long line (StreamReader's limit).
            log.debug("metrics: dropped a connection: %s", exc)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _respond(self, request: tuple[str, str] | None) -> bytes:
        if request is None:
            return _response(400, "Bad Request", b"bad request\n")
        method, target = request
        if method not in ("GET", "HEAD"):
            return _response(405, "Method Not Allowed", b"use GET\n", allow=True)
        if target.split("?", 1)[0] != PATH:
            return _response(404, "Not Found", b"not found; try /metrics\n")
        try:
            body = render(self._collect()).encode()
        except Exception:
            # The daemon's collect() is outside our control; a bug there must not take
            # the endpoint down, and it must be visible, but once per run of failures,
            # not once per scrape.
            log.log(
                logging.DEBUG if self._failing else logging.ERROR,
                "metrics: collect() failed",
                exc_info=True,
            )
            self._failing = True
            return _response(500, "Internal Server Error", b"collect failed\n")
        self._failing = False
        return _response(200, "OK", body, head_only=method == "HEAD")


async def _read_request_head(reader: asyncio.StreamReader) -> tuple[str, str] | None:
    """(method, target) from the request line, or None if it is not HTTP/1.x.

    The headers are read and discarded: closing with unread input would make the kernel
    reset the connection, and the client could lose our response.
    """
    line = (await reader.readline()).decode("latin-1").rstrip("\r\n")
    for _ in range(MAX_HEADERS):
        header = await reader.readline()
        if header in (b"\r\n", b"\n", b""):
            break
    parts = line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return None
    return parts[0], parts[1]


def _response(
    code: int, reason: str, body: bytes, *, allow: bool = False, head_only: bool = False
) -> bytes:
    head = [
        f"HTTP/1.1 {code} {reason}",
        f"Content-Type: {CONTENT_TYPE if code == 200 else 'text/plain; charset=utf-8'}",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    if allow:
        head.append("Allow: GET, HEAD")
    raw_head = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
    return raw_head if head_only else raw_head + body


async def serve_metrics(
    collect: Callable[[], list[Metric]], *, port: int, host: str = "127.0.0.1"
) -> MetricsServer:
    """Start a :class:`MetricsServer`; raises ValueError for a non-loopback host."""
    server = MetricsServer(collect, host, port)
    await server.start()
    return server
