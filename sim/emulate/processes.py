"""The processes of an emulation: the channel and one ``tacmesh node run`` per node.

Rules kept here: every process is started by this module in a session of its own (inside
its namespace with ``ip netns exec`` when there is one) and is only ever signalled by its
own PID's group; ``stop`` ends it (SIGTERM, then SIGKILL; a stopped process gets SIGKILL
at once, since SIGTERM would wait for a SIGCONT). A failure "kills" a daemon with
SIGSTOP (silent: the socket stays, nothing answers) or SIGKILL (crash), and a restart
starts the same config, store and keys again.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from tacmesh.node.api.client import ApiClientError, NodeClient
from tacmesh.sim.emulate.layout import EmulationError, NodeLayout

STOP_TIMEOUT_S = 3.0
START_TIMEOUT_S = 30.0


def _argv(netns: str | None, command: list[str]) -> list[str]:
    return ["ip", "netns", "exec", netns, *command] if netns else command


@dataclass
class Proc:
    """One started process, and what a failure did to it."""

    name: str
    popen: subprocess.Popen[bytes]
    stopped: bool = False

    def signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)
        if sig == signal.SIGSTOP:
            self.stopped = True

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> bool:
        """End it; whether it has exited."""
        sigs = (signal.SIGKILL,) if self.stopped else (signal.SIGTERM, signal.SIGKILL)
        for sig in sigs:
            if not self.alive():
                break
            self.signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(STOP_TIMEOUT_S)
        for stream in (self.popen.stdin, self.popen.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        return not self.alive()


@dataclass
class Fleet:
    """Every process of a run; ``close`` ends them all, also after a failure."""

    procs: list[Proc] = field(default_factory=list)
    daemons: dict[str, Proc] = field(default_factory=dict)

    def start_channel(self, plan: Path, log: Path, netns: str | None) -> Proc:
        argv = _argv(netns, [sys.executable, "-m", "tacmesh.sim.emulate.channel",
                             "--plan", str(plan)])  # fmt: skip
        with log.open("ab") as err:
            popen = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=err, start_new_session=True)  # fmt: skip
        proc = Proc("channel", popen)
        self.procs.append(proc)
        _wait_line(popen.stdout, b"ready", START_TIMEOUT_S, log)
        return proc

    def start_daemon(self, layout: NodeLayout) -> Proc:
        name = layout.node.name
        layout.socket.unlink(missing_ok=True)
        argv = _argv(layout.netns, [sys.executable, "-m", "tacmesh.node.cli", "node", "run",
                                    "--config", str(layout.config)])  # fmt: skip
        with layout.log.open("ab") as log:
            popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     start_new_session=True)  # fmt: skip
        proc = Proc(name, popen)
        self.procs.append(proc)
        self.daemons[name] = proc
        return proc

    def wait_ready(self, layouts: list[NodeLayout], timeout_s: float = START_TIMEOUT_S) -> None:
        """Until every daemon answers on its API socket."""
        end = time.monotonic() + timeout_s
        waiting = list(layouts)
        while waiting:
            waiting = [x for x in waiting if not self._answers(x)]
            if waiting and time.monotonic() > end:
                names = ", ".join(x.node.name for x in waiting)
                raise EmulationError(f"daemons did not start within {timeout_s:g} s: {names}")
            time.sleep(0.05)

    def _answers(self, layout: NodeLayout) -> bool:
        proc = self.daemons[layout.node.name]
        if not proc.alive():
            tail = layout.log.read_text(errors="replace")[-1500:]
            raise EmulationError(f"daemon {layout.node.name} exited at start:\n{tail}")
        try:
            with NodeClient(layout.socket, timeout_s=2):
                return True
        except ApiClientError:
            return False

    def close(self) -> list[str]:
        """End every process (newest first); the names of any that would not exit."""
        stuck = [p.name for p in reversed(self.procs) if not p.stop()]
        self.procs.clear()
        return stuck


def _wait_line(stream: IO[bytes] | None, wanted: bytes, timeout_s: float, log: Path) -> None:
    assert stream is not None
    ready, _, _ = select.select([stream], [], [], timeout_s)
    line = stream.readline() if ready else b""
    if line.strip() != wanted:
        tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
        raise EmulationError(f"the channel process did not start:\n{tail}")
