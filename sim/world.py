"""The simulated operation: engines, radios, traffic and failures on one kernel.

Every node's engine is driven exactly as a daemon drives it (driver.py): frames in,
frames out, one timer armed at the engine's next deadline. The world owns nothing of the
protocol; it moves nodes, sends the scenario's traffic, strikes its failures and keeps the
ledger.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable

from tacmesh.protocol.engine.node import NodeEngine
from tacmesh.sim.build import Built, SimNode, build
from tacmesh.sim.collector import tuned_for_a_run
from tacmesh.sim.driver import Driver, Tap
from tacmesh.sim.failover import FailoverWatch
from tacmesh.sim.failures import DYING_NOTICE_S, Strike, strikes
from tacmesh.sim.geo import Plane
from tacmesh.sim.kernel import Kernel
from tacmesh.sim.medium import Jam, Medium
from tacmesh.sim.metrics import Ledger
from tacmesh.sim.scenario.model import Scenario
from tacmesh.sim.traffic import FRAME_TYPES, Bodies, Send, first_time, next_time, plan, sources

START_EPOCH = 1_790_000_000.0
"""Virtual wall-clock time of a scenario's second 0 (certificates are valid around it)."""


class RunTimeoutError(RuntimeError):
    """A run passed its wall-time limit before the scenario's end (World.run)."""


NODE_FAILURES = {"node_death", "node_restart", "uav_departure", "uav_crash", "gateway_loss"}


class World:
    def __init__(self, scenario: Scenario, *, tap: Tap | None = None) -> None:
        self.scenario = scenario
        self.kernel = Kernel(START_EPOCH)
        self.rng = random.Random(f"world {scenario.seed}")
        self.built: Built = build(scenario, START_EPOCH)
        self.nodes = self.built.nodes
        self.medium = Medium(self.nodes, scenario.seed, random.Random(f"air {scenario.seed}"))
        self.ledger = Ledger()
        self.bodies = Bodies(Plane.from_site(scenario.site), random.Random(scenario.seed))
        self.watch = FailoverWatch(self)
        self.driver = Driver(self.kernel, self.medium, self.ledger, START_EPOCH, tap)
        self.events: list[dict[str, object]] = []
        """Failures as they struck, for results and plots."""
        self.samples: list[dict[str, float]] = []
        self.snapshots: list[dict[str, object]] = []
        self.counters: Counter[str] = Counter()
        self._schedule()

    @property
    def t(self) -> float:
        """Seconds since the scenario started."""
        return self.kernel.now - START_EPOCH

    # -- set-up ------------------------------------------------------------------------

    def _schedule(self) -> None:
        k, s = self.kernel, self.scenario
        self.medium.refresh()
        k.at(START_EPOCH + s.topology_interval_s, self._move)
        for n in self.nodes:
            self.driver.arm(n)
        traffic_rng = random.Random(f"traffic {s.seed}")
        for spec in s.traffic:
            for node in sources(self.built, spec.sources):
                at = first_time(spec, traffic_rng)
                if at is not None and at < s.duration_s:
                    # Planned once: who a message is for does not change while it repeats,
                    # and finding a team's members scans every node (1.4 % of a run).
                    k.at(START_EPOCH + at, self._send, plan(self.built, spec, node))
        for strike in strikes(self.built, s.failures, s.duration_s, random.Random(s.seed + 1)):
            k.at(START_EPOCH + strike.at_s, self._strike, strike)
        for i in range(int(s.duration_s // s.metrics_bin_s) + 1):
            k.at(START_EPOCH + i * s.metrics_bin_s, self._sample)

    # -- running -----------------------------------------------------------------------

    def run(
        self,
        progress: Callable[[float], None] | None = None,
        step_s: float = 60.0,
        *,
        wall_limit_s: float | None = None,
    ) -> None:
        """Run to the scenario's end. With ``wall_limit_s``, give up with
        :class:`RunTimeoutError` once that much real time has passed (checked every
        ``step_s`` simulated seconds): a sweep must not wait for ever on one runaway run."""
        end = START_EPOCH + self.scenario.duration_s
        started = time.perf_counter()
        self.snapshot("start")
        with tuned_for_a_run():
            while self.kernel.now < end:
                self.kernel.run_until(min(end, self.kernel.now + step_s))
                if progress is not None:
                    progress(self.t)
                spent = time.perf_counter() - started
                if wall_limit_s is not None and spent > wall_limit_s and self.kernel.now < end:
                    raise RunTimeoutError(
                        f"stopped after {spent:.0f} s of wall time (limit {wall_limit_s:g} s), "
                        f"at {self.t:.0f} of {self.scenario.duration_s:g} simulated s"
                    )
        self.snapshot("end")

    def _move(self, _: object) -> None:
        t = self.t
        for n in self.nodes:
            n.position = n.track.position(t)
        self.medium.refresh()
        self.kernel.at(self.kernel.now + self.scenario.topology_interval_s, self._move)

    def _send(self, send: Send) -> None:
        spec, node = send.spec, send.source
        later = next_time(spec, self.t, self.scenario.duration_s)
        if later is not None:
            self.kernel.at(START_EPOCH + later, self._send, send)
        if not node.alive:
            return
        body = self.bodies.make(spec.kind, node, spec.size_bytes)
        msg_id = node.engine.send(self.kernel.now, send.destination, FRAME_TYPES[spec.kind], body)
        owed = {r.address for r in send.recipients if r.alive}
        self.ledger.sent(self.t, (node.address, msg_id), spec.kind, node.team, owed)
        self.watch.flow(node, send.destination, spec)
        self.driver.after(node)

    # -- failures ----------------------------------------------------------------------

    def _strike(self, strike: Strike) -> None:
        spec, now = strike.spec, self.kernel.now
        self.watch.before(strike)
        kind = spec.kind
        if kind in NODE_FAILURES:
            self._fail_nodes(strike)
        elif kind == "link_cut":
            a, b = strike.nodes
            self._toggle_cut((a.index, b.index), +1, spec.duration_s)
        elif kind == "partition":
            team = strike.nodes[0].team if strike.nodes else None
            self.medium.partitions[team or ""] += 1
            if spec.duration_s is not None:
                self.kernel.at(now + spec.duration_s, self._heal_partition, team or "")
        elif kind == "jamming":
            jam = Jam.of(spec)
            self.medium.jams.append(jam)
            if spec.duration_s is not None:
                self.kernel.at(now + spec.duration_s, self.medium.jams.remove, jam)
        self.events.append({"at_s": round(self.t, 3), "kind": kind, "target": strike.label})
        self.watch.after(strike)
        self.snapshot(strike.label, delay_s=5.0)

    def _fail_nodes(self, strike: Strike) -> None:
        spec, now = strike.spec, self.kernel.now
        for n in strike.nodes:
            if spec.kind == "uav_departure":
                self._depart(n, spec.notice_s)
            elif spec.kind == "node_death" and not spec.silent:
                self._depart(n, DYING_NOTICE_S)
            else:
                self._kill(n)
                if spec.kind == "node_restart":
                    self.kernel.at(now + (spec.duration_s or 60.0), self._restart, n)

    def _kill(self, n: SimNode) -> None:
        n.alive, n.timer_at = False, None
        self.medium.refresh()

    def _depart(self, n: SimNode, notice_s: float) -> None:
        if not n.alive:
            return
        n.engine.announce_departure(self.kernel.now, notice_s)
        self.driver.after(n)
        self.kernel.at(self.kernel.now + notice_s, self._kill, n)

    def _restart(self, n: SimNode) -> None:
        old = n.engine
        n.engine = NodeEngine(n.config, old.codec, random.Random(self.rng.random()),
                              self.kernel.now, old.counter, store=old.custody.store)  # fmt: skip
        n.alive = True
        self.medium.refresh()
        self.driver.arm(n)

    def _toggle_cut(self, pair: tuple[int, int], step: int, duration_s: float | None) -> None:
        key = (min(pair), max(pair))
        self.medium.cuts[key] += step
        if step > 0 and duration_s is not None:
            self.kernel.at(self.kernel.now + duration_s, lambda _: self._toggle_cut(key, -1, None))

    def _heal_partition(self, team: str) -> None:
        self.medium.partitions[team] -= 1

    # -- observation -------------------------------------------------------------------

    def _sample(self, _: object) -> None:
        depths = [len(q) for n in self.nodes if n.alive for q in n.engine.queues.values()]
        self.samples.append({
            "t_s": self.t,
            "queue_depth_total": sum(depths),
            "queue_depth_max": max(depths, default=0),
            "links_up": sum(1 for _ in self.medium.links_up()),
            "nodes_alive": sum(1 for n in self.nodes if n.alive),
        })  # fmt: skip

    def snapshot(self, label: str, delay_s: float = 0.0) -> None:
        if delay_s:
            self.kernel.at(self.kernel.now + delay_s, lambda _: self.snapshot(label))
            return
        self.snapshots.append({
            "t_s": round(self.t, 3),
            "label": label,
            "nodes": [
                {"name": n.name, "x": round(n.position[0], 1), "y": round(n.position[1], 1),
                 "z": round(n.position[2], 1), "role": n.role.name.lower(), "team": n.team,
                 "alive": n.alive}
                for n in self.nodes
            ],
            "links": [
                {"a": a.node.name, "b": b.node.name, "profile": a.radio.profile.name,
                 "quality": round(q, 3)}
                for a, b, q in self.medium.links_up()
            ],
        })  # fmt: skip
