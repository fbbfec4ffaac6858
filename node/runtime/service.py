"""``tacmesh node run``: the daemon's life from start to clean stop.

Start: read keys and store (errors say what to do), open links (explicitly bound ones at
once, device links when the OS reports the device up), the API socket and, if asked, the
metrics endpoint; then tell systemd READY. Run until SIGTERM/SIGINT; SIGHUP reloads the
settings that are safe to change live (config.RELOADABLE) and names the others. Stop:
close links and the API, write every replay window and the counter, commit, close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass, field
from typing import Literal

from tacmesh.node.api.server import ApiServer
from tacmesh.node.config import ConfigError, LinkSettings, NodeSettings, load_config
from tacmesh.node.keys import load_bundle
from tacmesh.node.links.oswatch import InterfaceWatch, OsInterface
from tacmesh.node.ops.logs import setup_logging
from tacmesh.node.ops.metrics import MetricsServer
from tacmesh.node.ops.sdnotify import Notifier
from tacmesh.node.runtime.daemon import NodeDaemon
from tacmesh.node.runtime.metrics import collect
from tacmesh.node.store import NodeStore
from tacmesh.protocol.addresses import format_address

log = logging.getLogger(__name__)


@dataclass
class Service:
    settings: NodeSettings
    daemon: NodeDaemon
    api: ApiServer
    notifier: Notifier = field(default_factory=Notifier)
    metrics: MetricsServer | None = None
    watch: InterfaceWatch | None = None
    log_level: str | None = None
    """The command line's --log-level, which outranks the file's on reload too."""
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.daemon.attach(loop)
        for name, link in self.daemon.udp.items():
            if link.settings.device is None:
                self._open(link.settings, None, name)
        if any(link.settings.device is not None for link in self.daemon.udp.values()):
            self.watch = InterfaceWatch(self._os_change)
            await self.watch.start()
        await self.api.start_unix(self.settings.api_socket)
        if self.settings.api_tcp is not None:
            await self.api.start_tcp(self.settings.api_tcp.host, self.settings.api_tcp.port)
        if self.settings.metrics is not None:
            m = self.settings.metrics
            self.metrics = MetricsServer(lambda: collect(self.daemon), m.host, m.port)
            await self.metrics.start()
        for sig, act in (
            (signal.SIGTERM, self.stop.set),
            (signal.SIGINT, self.stop.set),
            (signal.SIGHUP, self.reload),
        ):
            loop.add_signal_handler(sig, act)
        interval = self.notifier.watchdog_interval()
        if interval is not None:
            self.tasks.append(asyncio.create_task(self._watchdog(interval / 2)))
        self.notifier.ready(f"node {format_address(self.daemon.address)} running")
        log.info(
            "node started",
            extra={
                "address": format_address(self.daemon.address),
                "api": str(self.settings.api_socket),
            },
        )

    def _open(self, s: LinkSettings, ifindex: int | None, name: str) -> None:
        try:
            self.daemon.udp[name].open(asyncio.get_running_loop(), ifindex)
        except OSError as exc:
            log.error(
                "cannot open link",
                extra={
                    "link": name,
                    "bind": str(s.bind),
                    "error": exc.strerror,
                    "fix": "check the port is free and the address belongs to this machine",
                },
            )

    def _os_change(self, name: str, old: OsInterface | None, new: OsInterface | None) -> None:
        for link in self.daemon.udp.values():
            if link.settings.device != name:
                continue
            if new is None or not new.up:
                if link.is_open:
                    log.warning("link down", extra={"link": link.name, "device": name})
                    self.daemon.link_down(link.name)
                if new is None:
                    link.close()  # the device is gone; bind again when it returns
            elif not link.is_open:
                log.warning("link up", extra={"link": link.name, "device": name})
                self._open(link.settings, new.index, link.name)

    async def _watchdog(self, every_s: float) -> None:
        while True:  # pinging from the loop proves the loop (and so the engine) is alive
            self.notifier.watchdog()
            await asyncio.sleep(every_s)

    def reload(self) -> None:
        self.notifier.reloading()
        try:
            fresh = load_config(self.settings.source)
        except ConfigError as exc:
            log.error("reload refused: configuration has errors", extra={"errors": str(exc)})
            self.notifier.ready("reload refused; running on the previous configuration")
            return
        fmt: Literal["text", "json"] = "json" if fresh.log_format == "json" else "text"
        setup_logging(self.log_level or fresh.log_level, fmt)
        for s in fresh.links:
            if s.name in self.daemon.udp:
                self.daemon.udp[s.name].set_peers(s.peers)
        if _needs_restart(self.settings, fresh):
            log.warning(
                "settings changed that apply only after a restart",
                extra={"fix": "systemctl restart tacmesh-node"},
            )
        self.settings = fresh
        log.info("configuration reloaded", extra={"config": str(fresh.source)})
        self.notifier.ready("configuration reloaded")

    async def close(self) -> None:
        self.notifier.stopping()
        for task in self.tasks:
            task.cancel()
        if self.watch is not None:
            self.watch.close()
        await self.api.close()
        if self.metrics is not None:
            await self.metrics.close()
        self.daemon.close()
        with contextlib.suppress(FileNotFoundError):
            self.settings.api_socket.unlink()
        log.info("node stopped cleanly")


def _needs_restart(old: NodeSettings, new: NodeSettings) -> bool:
    def fixed(s: NodeSettings) -> object:
        links = tuple((link.engine, link.device, link.bind, link.group) for link in s.links)
        return (
            s.keys,
            s.state,
            links,
            s.api_socket,
            s.api_tcp,
            s.metrics,
            s.prefixes,
            s.groups,
            s.hop_limit,
            s.store_capacity,
        )

    return fixed(old) != fixed(new)


async def serve(settings: NodeSettings, log_level: str | None = None) -> int:
    """Run until told to stop; the exit code for systemd (0 clean, 2 cannot start)."""
    keys = load_bundle(settings.keys)
    store = NodeStore(settings.state, capacity=settings.store_capacity)
    daemon = NodeDaemon(settings, keys, store)
    service = Service(
        settings, daemon, ApiServer(daemon, settings.api_max_clients), log_level=log_level
    )
    try:
        await service.start()
        await service.stop.wait()
    finally:
        await service.close()
    return 0
