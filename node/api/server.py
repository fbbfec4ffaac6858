"""The local application API (PROTOCOL.md): JSON lines over a Unix socket, optionally TCP
on localhost.

Rules: every request gets exactly one reply carrying its ``id``; a bad request (not JSON,
unknown op or type, a body that does not fit, a line over the size limit) gets an error
reply naming the fix, and the connection and the daemon stay up. A ``send`` is answered
only once the message is committed to the node's store. Events for subscribers are queued
per client and bounded: a client that stops reading loses its oldest events (and is told
how many), never the node's time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tacmesh.node.api import queries
from tacmesh.node.api.bodies import BodyError, body_from_json, body_to_json, frame_type
from tacmesh.node.runtime.daemon import Event, NodeDaemon
from tacmesh.protocol.addresses import format_address, parse_address
from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.priority import Priority

log = logging.getLogger(__name__)

API_VERSION = 1
MAX_LINE = 65536
"""Longest request line; a message body is at most a few KiB (bulk is fragmented)."""
EVENT_QUEUE = 1024


class ApiError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ApiServer:
    def __init__(self, daemon: NodeDaemon, max_clients: int = 32) -> None:
        self.daemon = daemon
        self.max_clients = max_clients
        self.clients: set[_Client] = set()
        self._servers: list[asyncio.Server] = []

    async def start_unix(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # a socket left by a node that lost power
        server = await asyncio.start_unix_server(self._serve, path=str(path), limit=MAX_LINE)
        os.chmod(path, 0o660)  # the node's user and group (responders' apps), nobody else
        self._servers.append(server)

    async def start_tcp(self, host: str, port: int) -> int:
        server = await asyncio.start_server(self._serve, host, port, limit=MAX_LINE)
        self._servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for client in list(self.clients):
            client.close()
        for server in self._servers:
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = _Client(self, reader, writer)
        if len(self.clients) >= self.max_clients:
            client.reply(
                None,
                error=ApiError(
                    "busy",
                    f"{self.max_clients} clients already "
                    "connected; close one or raise api.max_clients",
                ),
            )
            await client.drain_and_close()
            return
        self.clients.add(client)
        try:
            await client.run()
        finally:
            self.clients.discard(client)
            self.daemon.listeners[:] = [x for x in self.daemon.listeners if x != client.on_event]


class _Client:
    def __init__(
        self, server: ApiServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server, self.daemon = server, server.daemon
        self.reader, self.writer = reader, writer
        self.types: frozenset[FrameType] | None = None
        self.teams: frozenset[int] | None = None
        self.subscribed = False
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue(EVENT_QUEUE)
        self.lost_events = 0
        self._pump: asyncio.Task[None] | None = None

    async def run(self) -> None:
        self.write(queries.hello(self.daemon, API_VERSION))
        self._pump = asyncio.create_task(self._send_events())
        try:
            while True:
                line = await self._line()
                if line is None:
                    return
                if line:
                    self.handle(line)
                await self.writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self.close()

    async def _line(self) -> bytes | None:
        try:
            line = await self.reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            return exc.partial.strip() or None
        except asyncio.LimitOverrunError as exc:
            await self._skip_long_line(exc.consumed)
            self.reply(
                None,
                error=ApiError(
                    "oversize",
                    f"request line over {MAX_LINE} bytes; "
                    "send bodies under 60 KiB (bulk goes in pieces)",
                ),
            )
            return b""
        return line.strip()

    async def _skip_long_line(self, consumed: int) -> None:
        """Throw away the rest of an oversize line, keeping the connection."""
        await self.reader.readexactly(consumed)
        while True:
            try:
                await self.reader.readuntil(b"\n")
                return
            except asyncio.LimitOverrunError as more:
                await self.reader.readexactly(more.consumed)

    def handle(self, line: bytes) -> None:
        request_id = None
        try:
            try:
                request = json.loads(line)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ApiError(
                    "bad_json", f"not JSON ({exc}); send one JSON object per line"
                ) from None
            if not isinstance(request, dict):
                raise ApiError("bad_request", 'a request is a JSON object with an "op"')
            request_id = request.get("id")
            self.reply(request_id, result=self.dispatch(request))
        except ApiError as err:
            self.reply(request_id, error=err)
        except Exception as exc:  # a bug of ours: say so, keep serving
            log.exception("api request failed")
            self.reply(request_id, error=ApiError("internal", f"{type(exc).__name__}: {exc}"))

    def dispatch(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        handler = self.ops().get(op) if isinstance(op, str) else None
        if handler is None:
            raise ApiError("unknown_op", f"unknown op {op!r}; use one of {sorted(self.ops())}")
        return handler(request)

    def ops(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        d = self.daemon
        return {
            "status": lambda r: {"status": queries.status(d)},
            "neighbors": lambda r: {"neighbors": queries.neighbours(d)},
            "routes": lambda r: {"routes": queries.routes(d)},
            "queues": lambda r: {"queues": queries.queues(d)},
            "send": self.send,
            "depart": self.depart,
            "subscribe": self.subscribe,
            "unsubscribe": self.unsubscribe,
        }

    # -- ops ---------------------------------------------------------------------------

    def send(self, r: dict[str, Any]) -> dict[str, Any]:
        try:
            ftype = frame_type(r.get("type"))
            body = body_from_json(ftype, r.get("body", {}), self.daemon.clock())
        except BodyError as exc:
            raise ApiError("bad_body", str(exc)) from None
        destination = _address(r.get("to"))
        priority = _priority(r.get("priority"))
        lifetime = r.get("lifetime_s")
        if lifetime is not None and (not isinstance(lifetime, int) or not 1 <= lifetime < 1 << 28):
            raise ApiError("bad_request", "lifetime_s must be whole seconds, 1 or more")
        held_before = self.daemon.engine.counters["shed_store_full"]
        msg_id = self.daemon.send(destination, ftype, body, priority=priority, lifetime_s=lifetime)
        if self.daemon.engine.counters["shed_store_full"] != held_before:
            raise ApiError(
                "store_full",
                "the node's store is full; the message was not "
                "accepted: retry later or raise node.store_capacity",
            )
        return {"msg_id": msg_id}

    def depart(self, r: dict[str, Any]) -> dict[str, Any]:
        in_s = r.get("in_s")
        if isinstance(in_s, bool) or not isinstance(in_s, int | float) or not 1 <= in_s <= 86400:
            raise ApiError("bad_request", "in_s must be the seconds until this node leaves, "
                           "1 to 86400")  # fmt: skip
        self.daemon.depart(float(in_s))
        return {"departing_in_s": in_s}

    def subscribe(self, r: dict[str, Any]) -> dict[str, Any]:
        types, teams = r.get("types"), r.get("teams")
        try:
            self.types = None if types is None else frozenset(frame_type(t) for t in types)
        except (BodyError, TypeError) as exc:
            raise ApiError("unknown_type", str(exc)) from None
        if teams is not None and (
            not isinstance(teams, list) or not all(isinstance(t, int) for t in teams)
        ):
            raise ApiError("bad_request", "teams must be a list of team numbers")
        self.teams = None if teams is None else frozenset(teams)
        if not self.subscribed:
            self.daemon.listeners.append(self.on_event)
            self.subscribed = True
        return {"subscribed": True}

    def unsubscribe(self, r: dict[str, Any]) -> dict[str, Any]:
        if self.subscribed:
            self.daemon.listeners.remove(self.on_event)
            self.subscribed = False
        return {"subscribed": False}

    # -- events ------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        out = self.render(event)
        if out is None:
            return
        if self.events.full():
            self.events.get_nowait()
            self.lost_events += 1
        self.events.put_nowait(out)

    def render(self, event: Event) -> dict[str, Any] | None:
        if event.kind == "delivered":
            return {
                "event": "delivered",
                "msg_id": event.msg_id,
                "by": format_address(event.by or 0),
            }
        assert event.delivery is not None
        message = event.delivery.message
        h = message.header
        if self.types is not None and h.type not in self.types:
            return None
        team = message.signed_by.team if message.signed_by is not None else None
        if self.teams is not None and team not in self.teams:
            team = queries.team_of(self.daemon, h.source)
            if team not in self.teams:
                return None
        now = self.daemon.clock()
        return {
            "event": "message",
            "type": h.type.name.lower(),
            "from": format_address(h.source),
            "to": format_address(h.destination),
            "msg_id": h.message_id,
            "priority": h.priority.name.lower(),
            "age_s": h.age_s or 0,
            "signed": message.signed_by is not None,
            "interface": event.delivery.interface,
            "received_at": now,
            "body": body_to_json(h.type, message.body, now - (h.age_s or 0)),
        }

    async def _send_events(self) -> None:
        while True:
            event = await self.events.get()
            if self.lost_events:
                self.write(
                    {
                        "event": "lost",
                        "count": self.lost_events,
                        "fix": "read events faster or subscribe to fewer types",
                    }
                )
                self.lost_events = 0
            self.write(event)
            try:
                await self.writer.drain()
            except ConnectionError:
                return

    # -- output ------------------------------------------------------------------------

    def reply(
        self,
        request_id: object,
        *,
        result: dict[str, Any] | None = None,
        error: ApiError | None = None,
    ) -> None:
        if error is not None:
            self.write(
                {
                    "id": request_id,
                    "ok": False,
                    "error": {"code": error.code, "message": str(error)},
                }
            )
        else:
            self.write({"id": request_id, "ok": True, **(result or {})})

    def write(self, obj: dict[str, Any]) -> None:
        if not self.writer.is_closing():
            self.writer.write(json.dumps(obj, separators=(",", ":")).encode() + b"\n")

    async def drain_and_close(self) -> None:
        with contextlib.suppress(ConnectionError):
            await self.writer.drain()
        self.close()

    def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
        if self.subscribed:
            with contextlib.suppress(ValueError):
                self.daemon.listeners.remove(self.on_event)
            self.subscribed = False
        self.writer.close()


def _address(value: object) -> int:
    if not isinstance(value, str):
        raise ApiError("bad_address", 'give "to" as "0x0102", "team:3", "role:medic" or "all"')
    try:
        return parse_address(value)
    except ValueError as exc:
        raise ApiError("bad_address", str(exc)) from None


def _priority(value: object) -> Priority | None:
    if value is None:
        return None
    names = {p.name.lower(): p for p in Priority}
    if not isinstance(value, str) or value.lower() not in names:
        raise ApiError("bad_request", f"unknown priority {value!r}; use one of {sorted(names)}")
    return names[value.lower()]
