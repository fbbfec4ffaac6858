"""A network-namespace lab for multi-host tests: hosts, cables, a shared radio segment.

Use the ``lab`` fixture (tests need root and iproute2; without them they skip with the
reason) and mark such tests ``@pytest.mark.netns``::

    import netns
    from netns import Lab

    lab = netns.lab  # the fixture (an attribute of the test module, so pytest finds it)

    @pytest.mark.netns
    def test_two_relays(lab: Lab) -> None:
        a, b, c = lab.namespace("a"), lab.namespace("b"), lab.namespace("c")
        ports = lab.bridge([a, b, c])                   # one broadcast domain, 198.18.1.0/24
        proc = lab.run(a, [sys.executable, "-m", "..."], stdout=subprocess.PIPE, text=True)
        lab.set_carrier(b, ports[b], up=False)           # b's radio loses the segment

API (everything is created inside namespaces the lab makes; nothing touches the host's own
interfaces):

- ``Lab.namespace(label) -> Ns``: ``ip netns add``, loopback up, IPv6 DAD off (see below).
- ``Lab.link(a, b, *, a_addr, b_addr) -> (a_if, b_if)``: a veth pair, one end in each
  namespace (``a`` may equal ``b``), both up, with addresses (``None`` for none).
- ``Lab.bridge(members, subnet, *, subnet6=None) -> {Ns: ifname}``: a shared segment: a
  Linux bridge in a namespace of its own, one veth per member; member *i* gets host *i + 1*
  of ``subnet`` (and of ``subnet6`` if given). Multicast snooping is off, so the segment
  floods multicast like a Wi-Fi mesh does.
- ``Lab.set_link(ns, ifname, up)``: administrative up/down of an interface in ``ns``.
- ``Lab.set_carrier(ns, ifname, up)``: take the *far* end down or up, so ``ifname`` stays
  administratively up but loses carrier: a radio link dropping, seen from the node.
- ``Lab.add_address(ns, ifname, cidr)``, ``Lab.addresses_of(ns, ifname)``, ``Lab.ip(ns, ...)``.
- ``Lab.run(ns, argv, **popen_kwargs) -> Popen``: ``ip netns exec``; the process leads a
  new session and its group is ended (by that PID) when the lab closes.
  ``Lab.exec(ns, argv)`` runs to completion and returns the output.
- ``Lab.close()``: end processes, delete namespaces (which deletes their veths and
  bridges); also on test failure, through the fixture. ``LineReader`` reads a process's
  output lines with a timeout.

Rules it keeps:

- Addresses only from 198.18.0.0/15 (benchmarking) or fd00::/8 (ULA), only inside lab
  namespaces; anything else raises ``ValueError`` before reaching ``ip``.
- Names are unique per lab: ``tm`` + 4 random hex digits + the label, at most 15
  characters; interfaces are named the same way. A lab claims its id with a state file in
  ``/run/tacmesh-netns-lab/`` that lists its namespaces and stays ``flock``-ed while the
  lab lives. ``clean_leftovers()`` (run once per process, on the first lab) deletes the
  namespaces listed in files nobody holds locked (their owner died) and nothing else.

Multicast between namespaces (proven by ``tests/node/test_netns_lab.py``). What it needed:

- IPv6 link-local (``ff02::1`` or any ``ff02::`` group): a new interface's fe80:: address
  stays *tentative* during DAD (about a second), and until then ``sendto`` fails with
  EADDRNOTAVAIL (with DAD on, five sends spread over the first second all failed). The lab sets
  ``net.ipv6.conf.{all,default}.accept_dad=0`` in each namespace it makes (``dad=True``
  keeps DAD; then wait for it) and adds IPv6 addresses with ``nodad``. The sender names the
  interface (``IPV6_MULTICAST_IF`` and the scope id in the destination: with one interface
  the kernel guesses right, with several it need not); receivers bind ``::`` and join the
  group with ``IPV6_JOIN_GROUP`` on their interface's index.
- IPv4 ``224.0.0.x`` (and ``239.x``): the namespaces have no default route, so ``sendto``
  fails with ENETUNREACH unless the sender sets ``IP_MULTICAST_IF`` (or a ``224.0.0.0/4``
  route is added); receivers join with ``IP_ADD_MEMBERSHIP`` on their interface's index.

Checked and *not* needed: loopback up (the lab brings it up anyway, as a host would), and
snooping off (the bridge floods link-local groups, and unregistered groups while no
querier runs). The lab turns snooping off all the same (``mcast_snooping 0``) so that the
segment floods every group, like a Wi-Fi mesh, whatever IGMP/MLD reports say; and sets
``forward_delay 0`` so that ports forward as soon as they are up.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import ipaddress
import itertools
import os
import queue
import re
import secrets
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import pytest

from tacmesh.sim.emulate.netns import NetnsError as LabError
from tacmesh.sim.emulate.netns import ip, list_namespaces, unavailable_reason

PREFIX = "tm"
STATE_DIR = Path("/run/tacmesh-netns-lab")
TEST_IPV4 = ipaddress.IPv4Network("198.18.0.0/15")
TEST_IPV6 = ipaddress.IPv6Network("fd00::/8")
MAX_NAME = 15
"""IFNAMSIZ - 1; namespace names are held to the same limit so that they read alike."""
LABEL = re.compile(r"[a-z0-9]{1,9}")
COMMAND_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Ns:
    """A namespace made by a lab."""

    name: str
    """The OS name (``ip netns list``, ``ip -n``)."""
    label: str
    """The test's short name for it."""

    def argv(self, command: Sequence[str]) -> list[str]:
        """``command`` run inside this namespace."""
        return ["ip", "netns", "exec", self.name, *command]


def check_test_address(cidr: str) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
    """``cidr`` parsed, or ValueError unless it lies in 198.18.0.0/15 or fd00::/8."""
    interface = ipaddress.ip_interface(cidr)
    network = interface.network
    if isinstance(network, ipaddress.IPv4Network):
        allowed = network.subnet_of(TEST_IPV4)
    else:
        allowed = network.subnet_of(TEST_IPV6)
    if not allowed:
        raise ValueError(f"{cidr}: lab addresses must lie in 198.18.0.0/15 or fd00::/8")
    return interface


# -- ownership records, so a crashed run's namespaces can be found and removed later --


class RunRecord:
    """This process's claim on a run id: a state file listing the run's namespaces, held
    under an exclusive ``flock`` for as long as the run lives. The kernel drops the lock
    when its holder dies, however it dies, so "lockable" means "owner gone" (no PID reuse
    to worry about), and a cleaner holding the lock keeps other cleaners off it."""

    def __init__(self) -> None:
        STATE_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        existing = list_namespaces()
        while True:
            run_id = secrets.token_hex(2)
            if any(name.startswith(PREFIX + run_id) for name in existing):
                continue  # an unrecorded leftover: leave it alone, avoid its names
            claimed = self._claim(STATE_DIR / (PREFIX + run_id))
            if claimed is not None:
                self.run_id, self.path, self._file = run_id, STATE_DIR / (PREFIX + run_id), claimed
                return

    @staticmethod
    def _claim(path: Path) -> IO[str] | None:
        """The locked state file at ``path``, or None if another run holds that id."""
        # Lock first, then publish under the final name: no cleaner ever sees it unlocked.
        fd, draft = tempfile.mkstemp(dir=STATE_DIR, prefix=".draft-")
        state = os.fdopen(fd, "w")
        fcntl.flock(state, fcntl.LOCK_EX)
        state.write(f"# lab run owned by pid {os.getpid()}\n")
        state.flush()
        try:
            os.link(draft, path)
        except FileExistsError:
            state.close()
            return None
        finally:
            os.unlink(draft)
        return state

    def add(self, name: str) -> None:
        self._file.write(name + "\n")
        self._file.flush()

    def release(self, *, keep: bool = False) -> None:
        """Give up the claim; ``keep`` leaves the file for ``clean_leftovers``."""
        if not keep:
            self.path.unlink(missing_ok=True)
        self._file.close()


def delete_if_present(name: str) -> bool:
    """``ip netns del``, unless the namespace is already gone (another cleaner won)."""
    try:
        ip("netns", "del", name)
    except LabError:
        if name in list_namespaces():
            raise
        return False
    return True


def clean_leftovers() -> list[str]:
    """Delete the namespaces of labs whose owning process has died; return their names.

    Only names recorded in a dead lab's state file are touched, so namespaces from other
    tools (or live runs) with the same prefix are never removed.
    """
    if not STATE_DIR.is_dir():
        return []
    removed: list[str] = []
    for path in sorted(STATE_DIR.glob(f"{PREFIX}*")):
        try:
            state = path.open()
        except FileNotFoundError:
            continue  # cleaned or released since the listing
        with state:
            try:
                fcntl.flock(state, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its owner is alive, or another cleaner is at it
            names = [line for line in state.read().splitlines() if not line.startswith("#")]
            removed += [name for name in names if delete_if_present(name)]
            # Unlink only the file we locked, not a new run's that took the name since.
            with contextlib.suppress(FileNotFoundError):
                if os.stat(path).st_ino == os.fstat(state.fileno()).st_ino:
                    path.unlink()
    return removed


@functools.cache
def clean_leftovers_once() -> list[str]:
    return clean_leftovers()


# -- the lab --


class Lab:
    """Namespaces, links and processes for one test; a context manager. See the module
    docstring for the API."""

    def __init__(self) -> None:
        clean_leftovers_once()
        self._record = RunRecord()
        self.run_id = self._record.run_id
        self._namespaces: list[Ns] = []
        self._processes: list[subprocess.Popen[Any]] = []
        self._addresses: dict[tuple[str, str], list[str]] = {}
        self._far_end: dict[tuple[str, str], tuple[Ns, str]] = {}
        self._counter = itertools.count()
        self._bridges = itertools.count()
        self._closed = False

    def __enter__(self) -> Lab:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def namespaces(self) -> list[Ns]:
        return list(self._namespaces)

    def namespace(self, label: str, *, dad: bool = False) -> Ns:
        """A new namespace with loopback up; IPv6 DAD off unless ``dad``."""
        if not LABEL.fullmatch(label):
            raise ValueError(f"namespace label {label!r}: 1-9 of [a-z0-9]")
        return self._add_namespace(label, dad=dad)

    def _add_namespace(self, label: str, *, dad: bool) -> Ns:
        ns = Ns(self._name(label), label)
        if any(existing.name == ns.name for existing in self._namespaces):
            raise ValueError(f"namespace {label!r} already exists in this lab")
        # Record before creating: a crash between the two still leaves it findable.
        self._record.add(ns.name)
        ip("netns", "add", ns.name)
        self._namespaces.append(ns)
        self.ip(ns, "link", "set", "lo", "up")
        if not dad:
            # Per-namespace sysctls; "default" covers interfaces created here later.
            for scope in ("all", "default"):
                self.exec(ns, ["sysctl", "-q", "-w", f"net.ipv6.conf.{scope}.accept_dad=0"])
        return ns

    def _name(self, suffix: str) -> str:
        name = f"{PREFIX}{self.run_id}{suffix}"
        if len(name) > MAX_NAME:
            raise ValueError(f"{name!r} is longer than {MAX_NAME} characters")
        return name

    def _ifname(self, kind: str) -> str:
        return self._name(f"{kind}{next(self._counter)}")

    def ip(self, ns: Ns, *args: str) -> str:
        """``ip -n <ns> args``; its stdout."""
        self._check_mine(ns)
        return ip("-n", ns.name, *args)

    def exec(
        self, ns: Ns, argv: Sequence[str], *, timeout: float = COMMAND_TIMEOUT_S
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside ``ns`` to completion; LabError if it fails."""
        self._check_mine(ns)
        result = subprocess.run(
            ns.argv(argv), capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise LabError(f"{' '.join(argv)} in {ns.name}: {result.stderr.strip()}")
        return result

    def link(
        self,
        a: Ns,
        b: Ns,
        *,
        a_addr: str | None = "198.18.0.1/24",
        b_addr: str | None = "198.18.0.2/24",
    ) -> tuple[str, str]:
        """A veth pair from ``a`` to ``b`` (may be the same namespace), both ends up."""
        self._check_mine(b)
        for cidr in (a_addr, b_addr):
            if cidr is not None:
                check_test_address(cidr)
        a_if, b_if = self._ifname("v"), self._ifname("v")
        # Created straight into both namespaces: no end ever exists in the host's.
        self.ip(a, "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", b.name)
        self._far_end[(a.name, a_if)] = (b, b_if)
        self._far_end[(b.name, b_if)] = (a, a_if)
        for ns, ifname, cidr in ((a, a_if, a_addr), (b, b_if, b_addr)):
            if cidr is not None:
                self.add_address(ns, ifname, cidr)
            self.set_link(ns, ifname, up=True)
        return a_if, b_if

    def bridge(
        self, members: Sequence[Ns], subnet: str = "198.18.1.0/24", *, subnet6: str | None = None
    ) -> dict[Ns, str]:
        """A shared segment: member i gets host i + 1 of ``subnet`` (and ``subnet6``)."""
        hosts4 = self._hosts(subnet)
        hosts6 = self._hosts(subnet6) if subnet6 is not None else None
        hub = self._add_namespace(f"_br{next(self._bridges)}", dad=False)
        bridge_if = self._ifname("b")
        self.ip(hub, "link", "add", bridge_if, "type", "bridge")
        self.ip(hub, "link", "set", bridge_if, "type", "bridge", "mcast_snooping", "0")
        self.ip(hub, "link", "set", bridge_if, "type", "bridge", "forward_delay", "0")
        self.set_link(hub, bridge_if, up=True)
        ports: dict[Ns, str] = {}
        for member in members:
            port, end = self.link(hub, member, a_addr=None, b_addr=next(hosts4))
            self.ip(hub, "link", "set", port, "master", bridge_if)
            if hosts6 is not None:
                self.add_address(member, end, next(hosts6))
            ports[member] = end
        return ports

    def _hosts(self, subnet: str) -> Iterator[str]:
        network = check_test_address(subnet).network
        return (f"{host}/{network.prefixlen}" for host in network.hosts())

    def add_address(self, ns: Ns, ifname: str, cidr: str) -> None:
        """Add ``cidr`` (test ranges only); IPv6 with ``nodad`` so it is usable at once."""
        interface = check_test_address(cidr)
        extra = ["nodad"] if interface.version == 6 else []
        self.ip(ns, "address", "add", cidr, "dev", ifname, *extra)
        self._addresses.setdefault((ns.name, ifname), []).append(str(interface.ip))

    def addresses_of(self, ns: Ns, ifname: str) -> list[str]:
        """The addresses this lab gave ``ifname`` (without prefix length), in order."""
        return list(self._addresses.get((ns.name, ifname), []))

    def set_link(self, ns: Ns, ifname: str, up: bool) -> None:
        self.ip(ns, "link", "set", ifname, "up" if up else "down")

    def set_carrier(self, ns: Ns, ifname: str, up: bool) -> None:
        """Carrier on ``ifname`` follows its far end's admin state (veth semantics)."""
        far_ns, far_if = self._far_end[(ns.name, ifname)]
        self.set_link(far_ns, far_if, up)

    def run(self, ns: Ns, argv: Sequence[str], **popen_kwargs: Any) -> subprocess.Popen[Any]:
        """Start ``argv`` inside ``ns`` in a new session; ended when the lab closes."""
        self._check_mine(ns)
        popen_kwargs.setdefault("start_new_session", True)
        process: subprocess.Popen[Any] = subprocess.Popen(ns.argv(argv), **popen_kwargs)
        self._processes.append(process)
        return process

    def _check_mine(self, ns: Ns) -> None:
        if self._closed:
            raise LabError("the lab is closed")
        if ns not in self._namespaces:
            raise ValueError(f"{ns.name} is not a namespace of this lab")

    def close(self) -> None:
        """End processes, delete namespaces; raise LabError afterwards if anything stuck."""
        if self._closed:
            return
        self._closed = True
        errors: list[str] = []
        for process in reversed(self._processes):
            if not stop_process(process):
                errors.append(f"pid {process.pid} did not exit on SIGKILL")
        for ns in reversed(self._namespaces):
            try:
                stop_strays(ns)
                ip("netns", "del", ns.name)
            except (LabError, subprocess.TimeoutExpired) as err:
                errors.append(str(err))
        self._record.release(keep=bool(errors))
        if errors:
            kept = "record kept for clean_leftovers"
            raise LabError(f"cleanup incomplete ({kept}): " + "; ".join(errors))


def stop_process(process: subprocess.Popen[Any]) -> bool:
    """SIGTERM, then SIGKILL, to a process we started (its group if it leads one);
    whether it has exited."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            break
        signal_started(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(STOP_TIMEOUT_S)
    exited = process.poll() is not None
    if exited:  # a stuck process may still hold its pipes: leave them open then
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    return exited


def signal_started(pid: int, sig: signal.Signals) -> None:
    """Signal the group ``pid`` leads (``run`` starts new sessions), else ``pid`` alone."""
    with contextlib.suppress(ProcessLookupError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def stop_strays(ns: Ns) -> None:
    """Kill processes still inside a lab namespace (children that left their group)."""
    for line in ip("netns", "pids", ns.name).split():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(line), signal.SIGKILL)


class LineReader:
    """Lines from a process's text output, read on a thread so waits can time out."""

    def __init__(self, stream: IO[str]) -> None:
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        with contextlib.suppress(ValueError, OSError):  # closed under us at teardown
            for line in stream:
                self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def next(self, timeout: float) -> str:
        """The next line; TimeoutError if none comes, EOFError once the stream ends."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no output line within {timeout} s") from None
        if line is None:
            self._lines.put(None)  # stay at end of stream for later calls
            raise EOFError("the process closed its output")
        return line

    def wait_for(self, wanted: Callable[[str], bool], timeout: float) -> str:
        """The first line for which ``wanted`` is true (earlier lines are dropped)."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            line = self.next(timeout=remaining)
            if wanted(line):
                return line
        raise TimeoutError(f"no matching output line within {timeout} s")


@pytest.fixture
def lab() -> Iterator[Lab]:
    """A Lab, closed after the test (also when it fails); skips without root or ``ip``."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with Lab() as the_lab:
        yield the_lab
