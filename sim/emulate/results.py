"""An emulation run's results: the simulator's results.json fields, plus what only
emulation knows (``emulated``, ``mode``, ``series``: the delivery columns of the
simulator's series.csv, the channel's per-link counters, the failures it skipped and the
link settings the daemons could not match).

The shared fields mean what they mean in ``sim/report/RESULTS.md``; ``drops`` holds the
channel's verdicts under the simulator's names (``fading`` for a lost draw, ``cut``,
``jammed``), so ``sim.report.summary`` prints both kinds of run the same way.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tacmesh.sim.emulate.run import Run

DROP_NAMES = {"lost": "fading", "cut": "cut", "jammed": "jammed", "out_of_range": "out_of_range"}


def collect(run: Run) -> dict[str, Any]:
    s = run.scenario
    run.receipts.settle(run.ledger, run.t0)
    channel = _channel(run.out / "channel.json")
    totals = channel.get("totals", {})
    by_class = run.ledger.by("kind")
    return {
        "schema": 1,
        "emulated": True,
        "mode": run.mode,
        "scenario": {
            "name": s.name, "source": s.source, "seed": s.seed, "duration_s": s.duration_s,
            "nodes": len(run.built.nodes), "teams": [t.name for t in s.teams],
        },
        "run": {
            "frames_sent": totals.get("transmissions", 0) + totals.get("unicasts", 0),
            "frames_received": totals.get("copies", 0),
            "startup_s": round(run.started_s, 3), "api_send_failures": run.senders.failed,
        },
        "delivery": {
            "overall": run.ledger.summary(), "by_class": by_class,
            "by_team": run.ledger.by("team"),
        },
        "sos": by_class.get("sos", run.ledger.summary("kind", "sos")),
        "series": run.ledger.series(s.metrics_bin_s, s.duration_s),
        "drops": _drops(channel),
        "failures": run.watches.results(),
        "events": run.events,
        "skipped": run.skipped,
        "differences": run.differences,
        "cleanup_problems": run.cleanup_problems,
        "channel": channel,
        "files": {"plan": "plan.json", "channel": "channel.json", "nodes": "nodes",
                  "keys": "keys"},
    }  # fmt: skip


def _channel(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {"totals": {}, "links": [], "problem": f"{path.name} was not written"}
    return data if isinstance(data, dict) else {}


def _drops(channel: dict[str, Any]) -> dict[str, int]:
    drops: Counter[str] = Counter()
    for link in channel.get("links", []):
        for verdict, name in DROP_NAMES.items():
            drops[name] += int(link.get(verdict, 0))
    return {k: v for k, v in sorted(drops.items()) if v}
