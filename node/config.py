"""The node daemon's configuration file (``node.toml``), read and checked at start.

Rules: a minimal file is a few lines (the key bundle and one interface); every other
setting has a default that suits a relay box in the field. Every problem of a file is
reported at once as ``<file>:<line>: <where>: <what is wrong>; <the fix>``, like scenario
files (the same line finder and syntax messages). Relative paths are relative to the
file's folder, so a bundle can sit beside its config on a USB stick.

Which settings are safe to change on SIGHUP is decided here (:data:`RELOADABLE`): the
daemon applies those and says which others need a restart.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from tacmesh.protocol.addresses import Prefix, parse_address
from tacmesh.protocol.crypto.suite import IP_TAG_LEN
from tacmesh.protocol.engine.config import InterfaceConfig
from tacmesh.sim.radio import builtin_profiles
from tacmesh.sim.scenario.locate import LineMap
from tacmesh.sim.scenario.locate import Path as KeyPath
from tacmesh.sim.scenario.problems import Problems, syntax_error

DEFAULT_PORT = 4880
"""UDP bearer port (SPEC.md §12.1)."""
DEFAULT_GROUP = "239.255.48.80"
"""Neighbour discovery group, sent with TTL 1 so it never leaves the link (SPEC.md §12.1)."""
UDP_MTU = 1200
IP_RADIOS = ("wifi-mesh", "lte", "air")
"""Radio profiles (sim/radio/profiles.toml) that ride on IP: one set of link parameters
for the simulator and the daemon, so emulation figures compare with simulated ones."""
RELOADABLE = frozenset({"log.level", "log.format", "interface.peers"})

_TOP = {"node", "interface", "api", "metrics", "log"}
_NODE = {"keys", "state", "prefixes", "groups", "hop_limit", "store_capacity"}
_IFACE = {
    "name",
    "device",
    "radio",
    "bind",
    "port",
    "peers",
    "multicast",
    "group",
    "cost",
    "hello_interval_s",
    "mtu",
    "subnet",
}
_API = {"socket", "tcp", "max_clients"}
_METRICS = {"listen"}
_LOG = {"level", "format"}
_LEVELS = ("debug", "info", "warning", "error")


class ConfigError(ValueError):
    """A configuration that cannot run; ``str()`` lists every problem with its line."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class LinkSettings:
    """One UDP link: the engine's interface parameters and how to reach neighbours."""

    engine: InterfaceConfig
    device: str | None
    """OS interface to bind to and watch; None for a link bound to an explicit address."""
    bind: Endpoint
    peers: tuple[Endpoint, ...]
    group: Endpoint | None
    """Multicast group for hellos and floods; None where multicast does not pass."""

    @property
    def name(self) -> str:
        return self.engine.name


@dataclass(frozen=True, slots=True)
class NodeSettings:
    source: Path
    keys: Path
    state: Path
    links: tuple[LinkSettings, ...]
    api_socket: Path
    api_tcp: Endpoint | None = None
    api_max_clients: int = 32
    metrics: Endpoint | None = None
    prefixes: tuple[Prefix, ...] = ()
    groups: frozenset[int] = field(default_factory=frozenset)
    hop_limit: int = 8
    store_capacity: int = 4096
    log_level: str = "warning"
    log_format: str = "text"


def load_config(path: str | Path) -> NodeSettings:
    source = Path(path)
    try:
        text = source.read_text()
    except OSError as exc:
        raise ConfigError(
            f"{source}: cannot read the configuration ({exc.strerror}); "
            "check the path given to --config"
        ) from exc
    return parse_config(text, source)


def parse_config(text: str, source: Path) -> NodeSettings:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(syntax_error(str(source), text, exc))) from exc
    reader = _Reader(source, LineMap(text))
    settings = reader.settings(data)
    if reader.problems or settings is None:
        raise ConfigError(str(reader.problems.error()))
    return settings


class _Reader:
    def __init__(self, source: Path, lines: LineMap) -> None:
        self.source = source
        self.base = source.parent
        self.problems = Problems(str(source), lines)

    def bad(self, path: KeyPath, what: str, fix: str) -> None:
        self.problems.add(path, ".".join(str(p) for p in path) or "file", what, fix)

    def settings(self, data: dict[str, Any]) -> NodeSettings | None:
        self.known(data, (), _TOP)
        node = self.table(data, ("node",))
        api, log = self.table(data, ("api",)), self.table(data, ("log",))
        metrics = self.table(data, ("metrics",))
        self.known(node, ("node",), _NODE)
        self.known(api, ("api",), _API)
        self.known(log, ("log",), _LOG)
        self.known(metrics, ("metrics",), _METRICS)
        links = self.links(data)
        keys = node.get("keys")
        if not isinstance(keys, str):
            self.bad(
                ("node", "keys"),
                "the key bundle folder is missing",
                'add keys = "/etc/tacmesh/keys" (made by tacmesh keys issue)',
            )
            return None
        level = log.get("level", "warning")
        if level not in _LEVELS:
            self.bad(("log", "level"), f"unknown level {level!r}", f"use one of {_LEVELS}")
        fmt = log.get("format", "text")
        if fmt not in ("text", "json"):
            self.bad(("log", "format"), f"unknown format {fmt!r}", 'use "text" or "json"')
        return NodeSettings(
            source=self.source,
            keys=self.path(keys),
            state=self.path(node.get("state", _state_default())),
            links=links,
            api_socket=self.path(api.get("socket", _socket_default())),
            api_tcp=self.local_endpoint(api, ("api", "tcp")),
            api_max_clients=self.integer(api, ("api", "max_clients"), 32, 1, 1024),
            metrics=self.local_endpoint(metrics, ("metrics", "listen")),
            prefixes=self.prefixes(node),
            groups=frozenset(self.addresses(node, ("node", "groups"))),
            hop_limit=self.integer(node, ("node", "hop_limit"), 8, 1, 15),
            store_capacity=self.integer(node, ("node", "store_capacity"), 4096, 16, 1 << 20),
            log_level=str(level),
            log_format=str(fmt),
        )

    # -- tables ------------------------------------------------------------------------

    def table(self, data: dict[str, Any], path: KeyPath) -> dict[str, Any]:
        value = data.get(str(path[-1]), {})
        if not isinstance(value, dict):
            self.bad(path, "must be a table", f"write it as [{path[-1]}] with keys below it")
            return {}
        return value

    def known(self, table: dict[str, Any], path: KeyPath, allowed: set[str]) -> None:
        for key in table:
            if key not in allowed:
                near = get_close_matches(key, sorted(allowed), n=1)
                hint = f"did you mean {near[0]!r}?" if near else f"known keys: {sorted(allowed)}"
                self.bad((*path, key), f"unknown key {key!r}", hint)

    def links(self, data: dict[str, Any]) -> tuple[LinkSettings, ...]:
        raw = data.get("interface", [])
        if not isinstance(raw, list) or not raw:
            self.bad(
                ("interface",),
                "no interface is configured",
                'add [[interface]] with name = "mesh0" (the OS interface to use)',
            )
            return ()
        out, names = [], set()
        for i, table in enumerate(raw):
            link = self.link(table, ("interface", i))
            if link is None:
                continue
            if link.name in names:
                self.bad(
                    ("interface", i, "name"),
                    f"interface {link.name!r} is configured twice",
                    "give each [[interface]] its own name",
                )
            names.add(link.name)
            out.append(link)
        return tuple(out)

    def link(self, t: dict[str, Any], path: KeyPath) -> LinkSettings | None:
        self.known(t, path, _IFACE)
        name = t.get("name")
        if not isinstance(name, str) or not name:
            self.bad(
                (*path, "name"),
                "an interface needs a name",
                'add name = "mesh0" (the OS interface, or any label with bind =)',
            )
            return None
        engine = self.engine_config(t, path, name)
        port = self.integer(t, (*path, "port"), DEFAULT_PORT, 1, 65535)
        bind = self.endpoint(t, (*path, "bind")) if "bind" in t else Endpoint("0.0.0.0", port)
        device = t.get("device", None if "bind" in t else name)
        multicast = t.get("multicast", device is not None)
        if not isinstance(multicast, bool):
            self.bad((*path, "multicast"), "must be true or false", "write multicast = true")
            multicast = False
        group = None
        if multicast:
            if device is None:
                self.bad(
                    (*path, "multicast"),
                    "multicast needs an OS interface",
                    'add device = "eth0", or use peers = [...] instead',
                )
            group = Endpoint(str(t.get("group", DEFAULT_GROUP)), bind.port)
        peers = tuple(self.peer(p, (*path, "peers")) for p in self.strings(t, (*path, "peers")))
        if not multicast and not peers:
            self.bad(
                path,
                f"interface {name!r} has no way to find neighbours",
                'set multicast = true on a LAN, or list peers = ["host:port"]',
            )
        return LinkSettings(engine, device, bind, tuple(p for p in peers if p), group)

    def engine_config(self, t: dict[str, Any], path: KeyPath, name: str) -> InterfaceConfig:
        radio = t.get("radio", "wifi-mesh")
        profiles = builtin_profiles()
        if radio not in IP_RADIOS:
            self.bad(
                (*path, "radio"),
                f"{radio!r} is not a radio carried over UDP/IP",
                f"use one of {IP_RADIOS} (serial radios come through a gateway)",
            )
            radio = "wifi-mesh"
        base = profiles[radio].interface_config(name)
        base = replace(base, tag_len=IP_TAG_LEN)  # the UDP bearer's tag (SPEC.md §12.1)
        return replace(
            base,
            cost=self.integer(t, (*path, "cost"), base.cost, 1, 65535),
            hello_interval_s=self.number(t, (*path, "hello_interval_s"), base.hello_interval_s),
            mtu=self.integer(t, (*path, "mtu"), min(base.mtu, UDP_MTU), 64, UDP_MTU),
            subnet=bool(t.get("subnet", False)),
        )

    # -- values ------------------------------------------------------------------------

    def path(self, value: object) -> Path:
        p = Path(os.path.expanduser(str(value)))
        return p if p.is_absolute() else self.base / p

    def integer(self, t: dict[str, Any], path: KeyPath, default: int, low: int, high: int) -> int:
        value = t.get(str(path[-1]), default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.bad(
                path,
                f"{value!r} is not a whole number in {low}..{high}",
                f"write a number such as {default}",
            )
            return default
        return value

    def number(self, t: dict[str, Any], path: KeyPath, default: float) -> float:
        value = t.get(str(path[-1]), default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            self.bad(path, f"{value!r} is not a positive number", f"write e.g. {default}")
            return default
        return float(value)

    def strings(self, t: dict[str, Any], path: KeyPath) -> list[str]:
        value = t.get(str(path[-1]), [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.bad(path, "must be a list of strings", 'write e.g. ["198.18.0.2:4880"]')
            return []
        return value

    def endpoint(self, t: dict[str, Any], path: KeyPath) -> Endpoint:
        value = t.get(str(path[-1]))
        found = _split_endpoint(value) if isinstance(value, str) else None
        if found is None:
            self.bad(path, f"{value!r} is not host:port", 'write e.g. "127.0.0.1:4880"')
            return Endpoint("127.0.0.1", DEFAULT_PORT)
        return found

    def peer(self, value: str, path: KeyPath) -> Endpoint | None:
        found = _split_endpoint(value)
        if found is None:
            self.bad(
                path,
                f"peer {value!r} is not host:port",
                'write e.g. "198.18.0.2:4880" or "[fd00::2]:4880"',
            )
        return found

    def local_endpoint(self, t: dict[str, Any], path: KeyPath) -> Endpoint | None:
        if str(path[-1]) not in t:
            return None
        found = self.endpoint(t, path)
        if found.host not in ("127.0.0.1", "::1", "localhost"):
            self.bad(
                path,
                f"{found.host} is not this machine",
                "listen on 127.0.0.1 only; reach it from elsewhere through an SSH tunnel",
            )
        return found

    def prefixes(self, node: dict[str, Any]) -> tuple[Prefix, ...]:
        out = []
        for text in self.strings(node, ("node", "prefixes")):
            try:
                base, length = text.split("/")
                out.append(Prefix(int(base, 0), int(length)))
            except ValueError as exc:
                self.bad(
                    ("node", "prefixes"),
                    f"{text!r} is not a prefix ({exc})",
                    'write e.g. "0x1200/8" (base/length in bits)',
                )
        return tuple(out)

    def addresses(self, t: dict[str, Any], path: KeyPath) -> list[int]:
        out = []
        for text in self.strings(t, path):
            try:
                out.append(parse_address(text))
            except ValueError as exc:
                self.bad(path, str(exc), 'write e.g. "team:3" or "role:medic"')
        return out


def _split_endpoint(text: str) -> Endpoint | None:
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return Endpoint(host.strip("[]"), int(port))


def _state_default() -> str:
    # systemd's StateDirectory= and RuntimeDirectory= say where they are.
    return str(Path(os.environ.get("STATE_DIRECTORY", "/var/lib/tacmesh")) / "node.db")


def _socket_default() -> str:
    return str(Path(os.environ.get("RUNTIME_DIRECTORY", "/run/tacmesh")) / "node.sock")
