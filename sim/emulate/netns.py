"""Network namespaces for an emulation: one per node, one for the channel, veths between.

Rules kept here (the proven ones of tests/netns.py, cut down to what emulation needs):
- Addresses only from 198.18.0.0/15, only inside namespaces this module made; anything
  else raises ``ValueError`` before ``ip`` runs. Node i (from 1) gets 198.18.i.2/24 on its
  veth and a route to 198.18.0.0/15 through the channel's end, 198.18.i.1.
- Names are ``tme`` + 4 random hex digits (the run id) + a short label, at most 15
  characters (IFNAMSIZ - 1); a run id is never one that an existing namespace starts with.
- A run claims its id with a state file in ``/run/tacmesh-emulate/`` listing its
  namespaces, ``flock``-ed while the run lives; ``clean_leftovers`` deletes the namespaces
  of files nobody holds (their owner died) and nothing else.
- ``close`` kills what still runs inside (by PID, from ``ip netns pids``) and deletes the
  namespaces, which deletes their veths.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import ipaddress
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import IO

PREFIX = "tme"
STATE_DIR = Path("/run/tacmesh-emulate")
ALLOWED = ipaddress.IPv4Network("198.18.0.0/15")
MAX_NAME = 15
TIMEOUT_S = 30.0


class NetnsError(RuntimeError):
    """An ``ip`` command failed."""


def ip(*args: str) -> str:
    result = subprocess.run(
        ["ip", *args], capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )
    if result.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def list_namespaces() -> set[str]:
    return {line.split()[0] for line in ip("netns", "list").splitlines() if line.strip()}


@functools.cache
def unavailable_reason() -> str | None:
    """Why namespaces cannot be used here, or None when they can (probed once)."""
    if os.geteuid() != 0:
        return f"network namespaces need root (euid is {os.geteuid()})"
    if shutil.which("ip") is None:
        return "iproute2 `ip` is not installed"
    probe = f"{PREFIX}probe{secrets.token_hex(3)}"
    try:
        ip("netns", "add", probe)
    except (NetnsError, OSError, subprocess.TimeoutExpired) as err:
        return f"`ip netns add` does not work here: {err}"
    ip("netns", "del", probe)
    return None


def node_addresses(i: int) -> tuple[str, str]:
    """(channel end, node end) of node ``i``'s veth (i from 1)."""
    channel, node = f"198.18.{i}.1", f"198.18.{i}.2"
    for text in (channel, node):
        if ipaddress.IPv4Address(text) not in ALLOWED:
            raise ValueError(f"{text}: emulation addresses must lie in {ALLOWED}")
    return channel, node


class Namespaces:
    """The namespaces of one emulation run; ``close`` removes them all."""

    def __init__(self) -> None:
        clean_leftovers()
        self.run_id, self._state = _claim()
        self.names: list[str] = []

    def name(self, label: str) -> str:
        name = f"{PREFIX}{self.run_id}{label}"
        if len(name) > MAX_NAME:
            raise ValueError(f"{name!r} is longer than {MAX_NAME} characters")
        return name

    def add(self, label: str) -> str:
        name = self.name(label)
        # Record before creating: a crash between the two still leaves it findable.
        self._state.write(name + "\n")
        self._state.flush()
        ip("netns", "add", name)
        self.names.append(name)
        ip("-n", name, "link", "set", "lo", "up")
        return name

    def wire(self, channel_ns: str, node_ns: str, i: int) -> tuple[str, str]:
        """A veth from the channel's namespace to node ``i``'s; (channel end, node end)."""
        here, there = node_addresses(i)
        a, b = self.name(f"c{i}"), self.name(f"n{i}")
        # Created straight into both namespaces: no end ever exists in the host's.
        ip("-n", channel_ns, "link", "add", a, "type", "veth", "peer", "name", b,
           "netns", node_ns)  # fmt: skip
        ip("-n", channel_ns, "address", "add", f"{here}/24", "dev", a)
        ip("-n", node_ns, "address", "add", f"{there}/24", "dev", b)
        ip("-n", channel_ns, "link", "set", a, "up")
        ip("-n", node_ns, "link", "set", b, "up")
        ip("-n", node_ns, "route", "add", str(ALLOWED), "via", here)
        return here, there

    def close(self) -> list[str]:
        """Kill strays, delete every namespace; the problems met (empty when clean)."""
        errors: list[str] = []
        for name in reversed(self.names):
            try:
                _stop_strays(name)
                ip("netns", "del", name)
            except (NetnsError, subprocess.TimeoutExpired) as err:
                errors.append(str(err))
        self.names.clear()
        path = STATE_DIR / f"{PREFIX}{self.run_id}"
        if not errors:
            path.unlink(missing_ok=True)
        self._state.close()
        return errors


def _claim() -> tuple[str, IO[str]]:
    """A fresh run id and its locked state file."""
    STATE_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    existing = list_namespaces()
    while True:
        run_id = secrets.token_hex(2)
        if any(n.startswith(PREFIX + run_id) for n in existing):
            continue
        # Lock first, then publish under the final name: no cleaner sees it unlocked.
        fd, draft = tempfile.mkstemp(dir=STATE_DIR, prefix=".draft-")
        state = os.fdopen(fd, "w")
        fcntl.flock(state, fcntl.LOCK_EX)
        state.write(f"# emulation run owned by pid {os.getpid()}\n")
        state.flush()
        try:
            os.link(draft, STATE_DIR / f"{PREFIX}{run_id}")
        except FileExistsError:
            state.close()
            continue
        finally:
            os.unlink(draft)
        return run_id, state


def clean_leftovers() -> list[str]:
    """Delete the namespaces recorded by runs whose process died; their names."""
    if not STATE_DIR.is_dir():
        return []
    removed: list[str] = []
    for path in sorted(STATE_DIR.glob(f"{PREFIX}*")):
        try:
            state = path.open()
        except FileNotFoundError:
            continue
        with state:
            try:
                fcntl.flock(state, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its owner is alive
            names = [n for n in state.read().splitlines() if n and not n.startswith("#")]
            present = list_namespaces()
            for name in names:
                if name in present:
                    _stop_strays(name)
                    ip("netns", "del", name)
                    removed.append(name)
            path.unlink(missing_ok=True)
    return removed


def _stop_strays(name: str) -> None:
    with contextlib.suppress(NetnsError):
        for pid in ip("netns", "pids", name).split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
