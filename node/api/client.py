"""A small blocking client of the local API, for scripts, apps and the CLI.

with NodeClient("/run/tacmesh/node.sock") as node:
    msg_id = node.send("text", "0x0203", {"body": "water at the north gate"})
    node.subscribe(["sos", "position"])
    for event in node.events():
        print(event)
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

DEFAULT_SOCKET = Path("/run/tacmesh/node.sock")


class ApiClientError(Exception):
    """The node answered with an error (``code`` as in PROTOCOL.md) or could not be reached."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class NodeClient:
    def __init__(self, where: str | Path = DEFAULT_SOCKET, timeout_s: float | None = 10.0) -> None:
        """``where``: a Unix socket path, or ``host:port`` of the optional TCP listener."""
        text = str(where)
        try:
            if "/" not in text and ":" in text:
                host, _, port = text.rpartition(":")
                self.sock = socket.create_connection((host.strip("[]"), int(port)), timeout_s)
            else:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(timeout_s)
                self.sock.connect(text)
        except OSError as exc:
            raise ApiClientError(
                "unreachable",
                f"cannot reach the node at {text} "
                f"({exc.strerror or exc}); is tacmesh-node running? "
                "(systemctl status tacmesh-node)",
            ) from None
        self._timeout_s = timeout_s
        self._buffer = bytearray()
        self._next_id = 0
        self._pending: list[dict[str, Any]] = []
        self.hello = self._read()

    def __enter__(self) -> NodeClient:
        return self

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        """Send one request and return its reply; events arriving first are kept."""
        self._next_id += 1
        ident = self._next_id
        self.write_raw(json.dumps({"id": ident, "op": op, **fields}).encode() + b"\n")
        while True:
            msg = self._read()
            if "event" in msg:
                self._pending.append(msg)
                continue
            if msg.get("id") != ident:
                continue
            if not msg.get("ok"):
                err = msg.get("error", {})
                raise ApiClientError(err.get("code", "error"), err.get("message", str(msg)))
            return msg

    def write_raw(self, data: bytes) -> None:
        self.sock.settimeout(self._timeout_s)
        self.sock.sendall(data)

    def send(self, type: str, to: str, body: dict[str, Any], **options: Any) -> int:
        reply = self.request("send", type=type, to=to, body=body, **options)
        return int(reply["msg_id"])

    def subscribe(self, types: list[str] | None = None, teams: list[int] | None = None) -> None:
        self.request("subscribe", types=types, teams=teams)

    def events(self) -> Iterator[dict[str, Any]]:
        """Events as they come, forever (the client's timeout applies to each)."""
        while True:
            yield self._pending.pop(0) if self._pending else self._read()

    def next_event(self, timeout_s: float) -> dict[str, Any] | None:
        """The next event, or None if none comes within ``timeout_s``."""
        if self._pending:
            return self._pending.pop(0)
        try:
            return self._read(timeout_s)
        except TimeoutError:
            return None

    def read_reply(self) -> dict[str, Any]:
        """The next line from the node, whatever it is (for tests of raw requests)."""
        return self._read()

    def _read(self, timeout_s: float | None = -1.0) -> dict[str, Any]:
        self.sock.settimeout(self._timeout_s if timeout_s == -1.0 else timeout_s)
        while (end := self._buffer.find(b"\n")) < 0:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ApiClientError("closed", "the node closed the connection")
            self._buffer += chunk
        line = bytes(self._buffer[: end + 1])
        del self._buffer[: end + 1]
        msg = json.loads(line)
        if not isinstance(msg, dict):
            raise ApiClientError("bad_reply", f"unexpected reply {line!r}")
        return msg
