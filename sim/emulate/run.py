"""One emulation run: lay out, start, drive, strike, measure, clean up, write results.

Rules kept here:
- The run lasts ``duration_s`` of wall-clock time from emulated 0, which is when every
  daemon answers on its API (the channel's clock starts at the same moment).
- Traffic and failures follow the simulator's schedule for the same scenario (the same
  seeded draws, in the same order), so the two runs send the same messages and strike
  the same failures at the same times.
- Failures on processes: a silent ``node_death`` is SIGSTOP; a crash, a gateway loss
  and a restart's downtime are SIGKILL (a restart starts the daemon again
  on the same store). Cuts, partitions and jamming act in the channel. A UAV departure
  or an announced death is announced through the node's API (``depart``) and the
  process is killed when the notice runs out, as the simulator does.
- Whatever happens (an error, Ctrl-C, SIGTERM turned into KeyboardInterrupt by the CLI),
  every process started is ended by its PID and every namespace made is deleted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import heapq
import itertools
import json
import random
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tacmesh.sim.build import Built, SimNode, build
from tacmesh.sim.emulate import layout as lay
from tacmesh.sim.emulate.air import Air
from tacmesh.sim.emulate.drive import Bodies, Receipts, Senders
from tacmesh.sim.emulate.netns import Namespaces, unavailable_reason
from tacmesh.sim.emulate.processes import Fleet
from tacmesh.sim.emulate.results import collect
from tacmesh.sim.emulate.watch import PROBE_S, Routes, Watches
from tacmesh.sim.failures import DYING_NOTICE_S, Strike, strikes
from tacmesh.sim.geo import Plane
from tacmesh.sim.metrics import Ledger
from tacmesh.sim.scenario.model import Scenario, TrafficSpec
from tacmesh.sim.traffic import first_time, next_time, plan, sources
from tacmesh.sim.world import START_EPOCH

DEFAULT_MAX_S = 120.0
CHANNEL_FAILURES = {"link_cut", "partition", "jamming"}
SKIPPED_FAILURES: dict[str, str] = {}
DEFAULT_DOWNTIME_S = 60.0
Progress = Callable[[float], None]


def emulate(
    scenario: Scenario,
    out_dir: Path,
    *,
    duration_s: float | None = None,
    loopback: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run ``scenario`` (read from its file) with the real daemons; results.json's dict."""
    if not Path(scenario.source).is_file():
        raise lay.EmulationError("emulation reads the scenario from its file; save it first")
    duration = duration_s or min(scenario.duration_s, DEFAULT_MAX_S)
    scenario = dataclasses.replace(scenario, duration_s=duration)
    built = build(scenario, START_EPOCH)
    lay.check_emulable(built)
    reason = None if loopback else unavailable_reason()
    mode = "loopback" if loopback or reason is not None else "netns"
    out_dir.mkdir(parents=True, exist_ok=True)
    run = Run(scenario, built, out_dir, mode)
    with run.resources():
        run.prepare()
        run.start()
        run.drive(progress)
    results = collect(run)
    if reason is not None and not loopback:
        results["mode_reason"] = reason
    (out_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    return results


class Run:
    def __init__(self, scenario: Scenario, built: Built, out_dir: Path, mode: str) -> None:
        self.scenario, self.built, self.out, self.mode = scenario, built, out_dir, mode
        self.air = Air.of(built, scenario.seed, scenario.topology_interval_s)
        self.fleet = Fleet()
        self.netns: Namespaces | None = None
        self.layouts: dict[str, lay.NodeLayout] = {}
        self.ledger = Ledger()
        self.receipts = Receipts()
        self.senders = Senders(self.layouts)
        self.watches = Watches(self.air, Routes(self.layouts))
        self.bodies = Bodies(Plane.from_site(scenario.site))
        self.queue: list[tuple[float, int, Callable[[Any], None], Any]] = []
        self.seq = itertools.count()
        self.t0 = 0.0
        self.started_s = 0.0
        self.events: list[dict[str, object]] = []
        self.skipped: list[dict[str, object]] = []
        self.differences: list[str] = []
        self.cleanup_problems: list[str] = []
        self.unsent = 0
        self.probing = False

    # -- set-up ------------------------------------------------------------------------

    @contextlib.contextmanager
    def resources(self) -> Iterator[None]:
        sockets = Path(tempfile.mkdtemp(prefix="tme-"))  # short: Unix socket paths <108
        self.sockets = sockets
        try:
            yield
        finally:
            self.receipts.close()
            self.senders.close()
            self.watches.routes.close()
            self.cleanup_problems += [f"process {n} did not exit" for n in self.fleet.close()]
            if self.netns is not None:
                self.cleanup_problems += self.netns.close()
            shutil.rmtree(sockets, ignore_errors=True)

    def prepare(self) -> None:
        nodes_dir = self.out / "nodes"
        nodes_dir.mkdir(exist_ok=True)
        scenario_copy = self.out / "scenario.toml"
        shutil.copyfile(self.scenario.source, scenario_copy)
        channel_ns = self._namespaces()
        ports = lay.plan_ports(self.built, self.netns is not None)
        bundles = lay.write_keys(self.built, self.out / "keys")
        for n in self.built.nodes:
            mine = [p for p in ports if p.node == n.index]
            config, log = nodes_dir / f"{n.name}.toml", nodes_dir / f"{n.name}.log"
            sock = self.sockets / f"{n.index}.sock"
            layout = lay.NodeLayout(n, config, sock, log, self._node_ns(n))
            self.layouts[n.name] = layout
            state = nodes_dir / f"{n.name}.db"
            self.differences += lay.write_config(layout, self.built, bundles[n.name], mine, state)
        self.strikes = strikes(self.built, self.scenario.failures, self.scenario.duration_s,
                               random.Random(self.scenario.seed + 1))  # fmt: skip
        failures = [_channel_failure(s) for s in self.strikes if s.spec.kind in CHANNEL_FAILURES]
        counters = self.out / "channel.json"
        lay.write_plan(self.out / "plan.json", str(scenario_copy), self.scenario.duration_s,
                       ports=ports, failures=failures, counters=counters)  # fmt: skip
        self.channel_ns = channel_ns

    def _namespaces(self) -> str | None:
        if self.mode != "netns":
            return None
        self.netns = Namespaces()
        channel = self.netns.add("ch")
        for n in self.built.nodes:
            self.netns.wire(channel, self.netns.add(f"n{n.index + 1}"), n.index + 1)
        return channel

    def _node_ns(self, n: SimNode) -> str | None:
        return None if self.netns is None else self.netns.name(f"n{n.index + 1}")

    def start(self) -> None:
        began = time.monotonic()
        channel = self.fleet.start_channel(self.out / "plan.json", self.out / "channel.log",
                                           self.channel_ns)  # fmt: skip
        for layout in self.layouts.values():
            self.fleet.start_daemon(layout)
        self.fleet.wait_ready(list(self.layouts.values()))
        self.receipts.listen(list(self.layouts.values()))
        assert channel.popen.stdin is not None
        channel.popen.stdin.write(b"start\n")
        channel.popen.stdin.flush()
        self.t0 = time.monotonic()
        self.started_s = self.t0 - began
        self._schedule()

    def _schedule(self) -> None:
        s = self.scenario
        traffic_rng = random.Random(f"traffic {s.seed}")  # the simulator's draws, in order
        for spec in s.traffic:
            for node in sources(self.built, spec.sources):
                at = first_time(spec, traffic_rng)
                if at is not None and at < s.duration_s:
                    self.at(at, self._send, (spec, node))
        for strike in self.strikes:
            self.at(strike.at_s, self._strike, strike)

    # -- running -----------------------------------------------------------------------

    def at(self, t: float, fn: Callable[[Any], None], arg: Any = None) -> None:
        heapq.heappush(self.queue, (t, next(self.seq), fn, arg))

    @property
    def t(self) -> float:
        return time.monotonic() - self.t0

    def drive(self, progress: Progress | None) -> None:
        end, shown = self.scenario.duration_s, -1.0
        while self.queue and self.queue[0][0] < end:
            at, _, fn, arg = heapq.heappop(self.queue)
            time.sleep(max(0.0, at - self.t))
            self.air.move(self.t)
            fn(arg)
            if progress is not None and self.t - shown >= 0.5:
                shown = self.t
                progress(min(self.t, end))
        time.sleep(max(0.0, end - self.t))
        if progress is not None:
            progress(end)

    def _send(self, arg: tuple[TrafficSpec, SimNode]) -> None:
        spec, node = arg
        later = next_time(spec, self.t, self.scenario.duration_s)
        if later is not None:
            self.at(later, self._send, arg)
        if node.index in self.watches.down:
            return
        send = plan(self.built, spec, node)
        body = self.bodies.make(spec.kind, node, spec.size_bytes)
        owed = {r.address for r in send.recipients if r.index not in self.watches.down}
        t = self.t
        msg_id = self.senders.send(node, spec.kind, send.destination, body)
        if msg_id is None:  # the node refused or was unreachable: owed, never delivered
            self.unsent += 1
            msg_id = -self.unsent
        self.ledger.sent(t, (node.address, msg_id), spec.kind, node.team, owed)
        self.watches.flow(node, send.destination, spec)

    # -- failures ----------------------------------------------------------------------

    def _strike(self, strike: Strike) -> None:
        kind = strike.spec.kind
        if kind in SKIPPED_FAILURES:
            self.skipped.append({"at_s": strike.at_s, "kind": kind, "target": strike.label,
                                 "why": SKIPPED_FAILURES[kind]})  # fmt: skip
            return
        self.watches.before(strike, self.t)
        if kind in CHANNEL_FAILURES:
            self._in_channel(strike)
        else:
            for n in strike.nodes:
                notice = _notice_s(strike)
                if notice is None or not self.senders.depart(n, notice):
                    self._fail_node(strike, n)
                else:  # announced, as the simulator does: it forwards until it goes
                    self.at(self.t + notice, lambda n: self._fail_node(strike, n), n)
        self.events.append({"at_s": round(self.t, 3), "kind": kind, "target": strike.label})
        if not self.probing:  # one chain of probes serves every open watch
            self._probe(None)

    def _in_channel(self, strike: Strike) -> None:
        failure = _channel_failure(strike)
        self.air.strike(failure, +1)  # the channel does the same at the same time
        if strike.spec.duration_s is not None:
            self.at(strike.at_s + strike.spec.duration_s, lambda f: self.air.strike(f, -1),
                    failure)  # fmt: skip

    def _fail_node(self, strike: Strike, n: SimNode) -> None:
        spec, proc = strike.spec, self.fleet.daemons[n.name]
        if n.index in self.watches.down:
            return
        self.watches.down.add(n.index)
        self.watches.routes.drop(n.name)
        self.senders.drop(n.name)
        silent = spec.kind == "node_death" and spec.silent
        proc.signal(signal.SIGSTOP if silent else signal.SIGKILL)
        if spec.kind == "node_restart":
            self.at(self.t + (spec.duration_s or DEFAULT_DOWNTIME_S), self._restart, n)

    def _restart(self, n: SimNode) -> None:
        self.fleet.start_daemon(self.layouts[n.name])
        self.watches.down.discard(n.index)

    def _probe(self, _: object) -> None:
        self.probing = self.watches.probe(self.t)
        if self.probing:
            self.at(self.t + PROBE_S, self._probe)


def _notice_s(strike: Strike) -> float | None:
    """How long before it goes a node announces its departure, as sim/world.py has it."""
    spec = strike.spec
    if spec.kind == "uav_departure":
        return spec.notice_s
    if spec.kind == "node_death" and not spec.silent:
        return DYING_NOTICE_S
    return None


def _channel_failure(strike: Strike) -> dict[str, Any]:
    spec = strike.spec
    out: dict[str, Any] = {"at_s": strike.at_s, "kind": spec.kind, "duration_s": spec.duration_s}
    if spec.kind == "link_cut":
        out["pair"] = [n.index for n in strike.nodes]
    elif spec.kind == "partition":
        out["team"] = (strike.nodes[0].team if strike.nodes else None) or ""
    else:
        out.update(center=list(spec.center or (0.0, 0.0)), radius_m=spec.radius_m,
                   profile=spec.profile)  # fmt: skip
    return out
