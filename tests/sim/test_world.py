"""The simulator end to end: determinism, failover against a known answer, partitions,
restarts, the run directory, the pcap and the command line."""

from __future__ import annotations

import dataclasses
import gc
import json
import re
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from scapy.utils import rdpcap

from tacmesh.node.cli import main
from tacmesh.protocol.header import decode_header
from tacmesh.sim import run as run_module
from tacmesh.sim.build import SimNode
from tacmesh.sim.collector import RUN_THRESHOLDS, tuned_for_a_run
from tacmesh.sim.driver import Tap
from tacmesh.sim.emulate.air import Air
from tacmesh.sim.emulate.watch import Routes, Watch, Watches
from tacmesh.sim.failures import Strike
from tacmesh.sim.medium import Arrival
from tacmesh.sim.report import write_report
from tacmesh.sim.run import apply_overrides, run_scenario
from tacmesh.sim.scenario import Scenario, load_scenario, parse_scenario
from tacmesh.sim.scenario.model import TrafficSpec
from tacmesh.sim.world import START_EPOCH, RunTimeoutError, World

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "earthquake-valley.toml"

# Radios with a hard edge (range model): who hears whom is exact, so the answers are too.
# cp (0,0) reaches r1 (200,0) and r2 (200,100); both reach gw (400,0); cp never reaches gw.
DIAMOND = """
schema = 1
name = "Diamond"
seed = {seed}
duration_s = {duration}
metrics_bin_s = 10

[site]
lat = 31.0
lon = 103.0

[[radio]]
name = "short"
base = "wifi-mesh"
model = "range"
range_m = 240
ramp_m = 1

[[radio]]
name = "team-lora"
base = "lora"
model = "range"
range_m = 400
ramp_m = 1

[[team]]
name = "alpha"
center = [450, 0]
radius_m = 20

[[node]]
name = "cp"
role = "command_post"
radios = ["short"]
position = [0, 0]

[[node]]
name = "r1"
role = "ground_backbone"
radios = ["short"]
position = [200, 0]

[[node]]
name = "r2"
role = "ground_backbone"
radios = ["short"]
position = [200, 100]

[[node]]
name = "gw"
role = "gateway"
team = "alpha"
radios = [{{ profile = "team-lora", channel = "team" }}, "short"]
position = [400, 0]

[[node]]
name = "hh"
role = "handheld"
team = "alpha"
count = 3
radios = [{{ profile = "team-lora", channel = "team" }}]

[[traffic]]
kind = "position"
from = "role:handheld"
to = "command"
every_s = 10

[[traffic]]
kind = "vitals"
from = "role:handheld"
to = "command"
every_s = 20
stop_s = {vitals_stop}
{failures}
"""


def diamond(failures: str = "", seed: int = 1, duration: int = 240) -> Scenario:
    text = DIAMOND.format(
        seed=seed, duration=duration, failures=failures, vitals_stop=duration - 60
    )  # the last ones have time to arrive
    return parse_scenario(text)


def without_wall(results: dict[str, Any]) -> dict[str, Any]:
    run = {k: v for k, v in results["run"].items() if k not in ("wall_s", "realtime_factor")}
    return {**results, "run": run}


def test_the_same_scenario_and_seed_give_identical_results() -> None:
    a = run_scenario(diamond(seed=3, duration=120))
    b = run_scenario(diamond(seed=3, duration=120))
    c = run_scenario(diamond(seed=4, duration=120))
    assert json.dumps(without_wall(a), sort_keys=True) == json.dumps(
        without_wall(b), sort_keys=True
    )
    assert a["run"]["events"] != c["run"]["events"]  # the seed matters


@pytest.mark.parametrize("victim", ["r1", "r2"])
def test_failover_time_of_a_silent_relay_death_is_the_detection_time(victim: str) -> None:
    """Hellos every 0.5 s, a neighbour lost after 2.5 intervals (1.25 s): the flows through
    the dead relay find the other one after 0.75-1.25 s of silence plus a processing step,
    and flows through the other relay are not counted."""
    failure = f'\n[[failure]]\nkind = "node_death"\ntarget = "{victim}"\nat_s = 120\n'
    (failed,) = run_scenario(diamond(failure))["failures"]
    assert failed["target"] == victim
    if failed["affected_flows"] == 0:  # traffic ran through the other relay: nothing to do
        assert (failed["recovered_flows"], failed["failover_s"]) == (0, None)  # not "0 s"
        other = "r2" if victim == "r1" else "r1"
        (again,) = run_scenario(diamond(failure.replace(victim, other)))["failures"]
        assert again["affected_flows"] == 3
        return
    assert failed["affected_flows"] == 3  # the three handhelds' flows to the command post
    assert failed["recovered_flows"] == 3
    assert 0.7 <= failed["failover_s"] <= 1.6


def test_a_partitioned_team_loses_positions_and_gets_its_vitals_through_after_healing() -> None:
    failure = '\n[[failure]]\nkind = "partition"\ntarget = "alpha"\nat_s = 100\nduration_s = 60\n'
    results = run_scenario(diamond(failure, duration=300))
    vitals = results["delivery"]["by_class"]["vitals"]
    position = results["delivery"]["by_class"]["position"]
    assert vitals["delivered"] == vitals["sent"]  # custody carried them across the gap
    assert vitals["latency_s"]["max"] > 30  # ... some waited for the heal
    lost = position["sent"] - position["delivered"]
    assert lost >= 3 * 5  # about 6 rounds of 3 positions fell in the minute apart
    (cut,) = results["failures"]  # no other way out: the flows recover when the cut heals
    assert cut["recovered_flows"] == cut["affected_flows"] == 3
    assert 60 <= cut["failover_s"] < 66


def test_a_gap_longer_than_five_minutes_still_ends_in_a_failover_time() -> None:
    """The team is cut off for 400 s: its flows recover when the cut heals, and the
    failover time says so (to a thirtieth of the time elapsed), not "not recovered"."""
    failure = '\n[[failure]]\nkind = "partition"\ntarget = "alpha"\nat_s = 100\nduration_s = 400\n'
    (cut,) = run_scenario(diamond(failure, duration=600))["failures"]
    assert cut["affected_flows"] == 3 and cut["recovered_flows"] == 3
    assert 400 <= cut["failover_s"] <= 400 + 400 / 30 + 2


# The emulator's failover watch (sim/emulate/watch.py) counted on a simulated world: each
# node's routes come from the engine its daemon would run, in the rows the daemon's API
# answers. Real daemons are test_emulate.py's; this checks the counting itself.


class EngineRoutes:
    """``Routes.table`` as the daemon's ``routes`` request answers it."""

    def __init__(self, world: World) -> None:
        self.world = world

    def table(self, node: SimNode) -> list[dict[str, Any]]:
        selected = node.engine.control.routing.selected.values()
        return [
            {
                "prefix": f"{s.prefix.base:04x}/{s.prefix.length}",
                "via": None if s.via is None else f"{s.via[0]}/{s.via[1]:04x}",
                "metric": s.metric,
            }
            for s in selected
        ]


def test_the_emulators_watch_sees_a_flow_cut_off_by_a_partition_recover_when_it_heals() -> None:
    world = World(diamond(
        '\n[[failure]]\nkind = "partition"\ntarget = "alpha"\nat_s = 100\nduration_s = 60\n',
        duration=240))  # fmt: skip
    air = cast(Air, SimpleNamespace(medium=world.medium, built=world.built))
    watches = Watches(air, cast(Routes, EngineRoutes(world)))
    seen: list[Watch] = []
    simulated_flow, simulated_before = world.watch.flow, world.watch.before

    def flow(source: SimNode, destination: int, spec: TrafficSpec) -> None:
        simulated_flow(source, destination, spec)
        watches.flow(source, destination, spec)

    def before(strike: Strike) -> None:
        simulated_before(strike)
        seen.append(watches.before(strike, world.t))

    world.watch.flow, world.watch.before = flow, before  # type: ignore[method-assign]
    for t in range(90, 240):
        world.kernel.run_until(START_EPOCH + t)
        watches.probe(world.t)
    (watch,) = seen
    assert len(watch.affected) == 3  # the three handhelds' flows to the command post
    assert len(watch.recovered) == 3  # no other way out: recovered when the cut healed
    assert 60 <= max(watch.recovered.values()) < 62


def test_a_restarted_relay_comes_back_and_carries_traffic_again() -> None:
    failure = (
        '\n[[failure]]\nkind = "node_restart"\ntarget = "r1"\nat_s = 60\nduration_s = 30\n'
        '\n[[failure]]\nkind = "node_death"\ntarget = "r2"\nat_s = 150\n'
    )
    results = run_scenario(diamond(failure, duration=300))
    assert [f["kind"] for f in results["failures"]] == ["node_restart", "node_death"]
    # after r2 died only the restarted r1 joins the team to the command post
    assert results["delivery"]["by_class"]["vitals"]["ratio"] == 1.0


def test_the_valley_fails_over_to_the_masts_and_waits_for_the_relief_uav() -> None:
    """The main job's story (examples/earthquake-valley.toml): UAV-1's announced departure
    moves every flow it carried to the masts before it leaves; when mast bb-2 dies the
    upper valley has no way out until the relief UAV-2 takes off at 1380 s, so its flows
    recover 80 s later and the gateways' custody carries the vitals across the gap."""
    results = run_scenario(load_scenario(EXAMPLE))
    departure, death = results["failures"]
    assert (departure["kind"], death["kind"]) == ("uav_departure", "node_death")
    assert departure["affected_flows"] > 0
    assert departure["recovered_flows"] == departure["affected_flows"]
    assert departure["failover_s"] < 2.0  # announced 60 s ahead: moved before the break
    assert death["affected_flows"] > 0 and death["recovered_flows"] == death["affected_flows"]
    assert 1380 - 1300 <= death["failover_s"] < 1380 - 1300 + 10  # soon after take-off
    vitals = results["delivery"]["by_class"]["vitals"]
    assert vitals["delivered"] >= vitals["sent"] - 2 and vitals["latency_s"]["max"] > 60
    assert results["events"] == [{"at_s": 1380.0, "kind": "takeoff", "target": "uav-2"}]


def test_the_run_directory_holds_results_series_topology_plots_and_pcap(tmp_path: Path) -> None:
    out = tmp_path / "run"
    failure = '\n[[failure]]\nkind = "node_death"\ntarget = "r1"\nat_s = 60\n'
    results = run_scenario(diamond(failure, duration=120), out_dir=out, pcap_nodes=("gw",))
    assert json.loads((out / "results.json").read_text()) == results
    rows = (out / "series.csv").read_text().splitlines()
    assert rows[0].startswith("t_s,sent,delivered,delivery_ratio")
    assert len(rows) == 1 + 120 // 10
    sent = sum(int(r.split(",")[1]) for r in rows[1:])
    assert sent == results["delivery"]["overall"]["sent"]
    snapshots = json.loads((out / "topology.json").read_text())["snapshots"]
    assert snapshots[0]["t_s"] == 0 and len(snapshots) >= 3
    written = write_report(out)
    assert (out / "report.html").exists() and (out / "delivery.png") in written
    narrow = rdpcap(str(out / "frames-narrowband.pcap"))
    ip = rdpcap(str(out / "frames-ip.pcap"))
    assert len(narrow) > 0 and len(ip) > 0
    for pkt in narrow[:20]:
        header, _ = decode_header(bytes(pkt))
        assert header.transmitter in {0x1001, 0x1002, 0x1003, 0x1004}  # the team's block


def test_overrides_change_the_scenario_and_refuse_what_cannot_run() -> None:
    s = apply_overrides(
        diamond(), {"traffic.position.every_s": 5, "radio.lora.spreading_factor": 9}
    )
    assert {t.every_s for t in s.traffic if t.kind == "position"} == {5}
    assert {"name": "lora", "base": "lora", "spreading_factor": 9} in s.radios
    with pytest.raises(ValueError, match="positive"):
        apply_overrides(diamond(), {"traffic.position.every_s": 0})
    with pytest.raises(ValueError, match="no sos traffic"):
        apply_overrides(diamond(), {"traffic.sos.at_s": 3})


def test_a_node_override_moves_the_relief_and_refuses_what_the_node_would_ignore() -> None:
    """``node.<name>.mobility.<field>``: the sweep that asks when the valley's relief UAV
    must take off. A field the node's model does not read would draw a flat line."""
    valley = load_scenario(EXAMPLE)
    early = apply_overrides(valley, {"node.uav-2.mobility.takeoff_s": 1250})
    by_name = {n.name: n for n in early.nodes}
    assert by_name["uav-2"].mobility.takeoff_s == 1250
    assert [n for n in early.nodes if n.name != "uav-2"] == [
        n for n in valley.nodes if n.name != "uav-2"
    ]
    assert apply_overrides(valley, {"node.bb-1.altitude_m": 30}).nodes[1].altitude_m == 30
    for path, value, match in [
        ("node.uav-3.mobility.takeoff_s", 1, 'did you mean "uav-2"'),
        ("node.cp.mobility.takeoff_s", 1, "only sortie reads it"),
        ("node.uav-2.mobility.takeoff_s", -1, "takeoff_s must be >= 0"),
        ("node.uav-2.mobility.take_off", 1, "no field 'take_off'"),
        ("node.uav-2.mobility", 1, "name one of its fields"),
    ]:
        with pytest.raises(ValueError, match=re.escape(match)):
            apply_overrides(valley, {path: value})


def test_the_cli_runs_the_built_in_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "valley"
    code = main(["sim", "run", str(EXAMPLE), "--duration", "120", "--out", str(out), "--quiet",
                 "--json"])  # fmt: skip
    assert code == 0
    results = json.loads(capsys.readouterr().out)
    assert results["scenario"]["name"] == "Earthquake valley"
    assert results["scenario"]["nodes"] == 26
    assert (out / "report.html").exists()


def test_the_cli_names_the_line_of_a_scenario_mistake(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE.read_text().replace('role = "command_post"', 'role = "commander"'))
    assert main(["sim", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    line = next(i for i, t in enumerate(bad.read_text().splitlines(), 1) if "commander" in t)
    assert f"bad.toml:{line}:" in err and "command_post" in err


def test_frames_the_engine_absorbs_need_no_step_and_no_rearm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The world skips collecting outputs and re-arming after a frame the engine says
    changed nothing due (NodeEngine.receive False). A driver that always does both must
    see the very same run: LoRa collisions, air cells, a relay's death, a UAV's departure."""
    scenario = dataclasses.replace(load_scenario(EXAMPLE), duration_s=1800)
    skipping = without_wall(run_scenario(scenario))

    def always_after(world: World, arrival: Arrival) -> None:
        if world.medium.arrives(arrival):
            port, data, _ = arrival
            port.node.engine.receive(world.kernel.now, port.name, data)
            world.driver.after(port.node)

    def stepping_world(scenario: Scenario, *, tap: Tap | None = None) -> World:
        world = World(scenario, tap=tap)
        world.driver.on_arrival = partial(always_after, world)
        return world

    monkeypatch.setattr(run_module, "World", stepping_world)
    stepping = without_wall(run_scenario(scenario))
    assert skipping["failures"] and skipping["delivery"]["overall"]["delivered"] > 1000
    assert json.dumps(skipping, sort_keys=True) == json.dumps(stepping, sort_keys=True)


def test_a_run_collects_garbage_rarely_and_restores_the_collector() -> None:
    """World.run tunes Python's garbage collector for itself (sim/collector.py) and leaves
    it as it found it, also when the run stops on its wall-time limit."""
    before = gc.get_threshold()
    seen: list[tuple[tuple[int, int, int], int]] = []
    World(diamond()).run(lambda _: seen.append((gc.get_threshold(), gc.get_freeze_count())))
    assert seen and all(t == RUN_THRESHOLDS and frozen > 0 for t, frozen in seen)
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    with pytest.raises(RunTimeoutError):
        World(diamond()).run(wall_limit_s=1e-9)
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_overlapping_runs_share_one_tuning_of_the_collector() -> None:
    """Runs in threads of one process (a Dask worker): the last to end restores it."""
    before = gc.get_threshold()
    with tuned_for_a_run():
        with tuned_for_a_run():
            assert gc.get_threshold() == RUN_THRESHOLDS
        assert gc.get_threshold() == RUN_THRESHOLDS and gc.get_freeze_count() > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def documented_drops() -> set[str]:
    text = (Path(__file__).resolve().parents[2] / "sim" / "report" / "RESULTS.md").read_text()
    table = text.split("### `drops`")[1].split("###")[0]
    return set(re.findall(r"^\| `([a-z_<>]+)` \|", table, re.M))


def test_every_drop_reason_a_run_reports_is_documented_in_results_md() -> None:
    failures = (
        '\n[[failure]]\nkind = "partition"\ntarget = "alpha"\nat_s = 60\nduration_s = 30\n'
        '\n[[failure]]\nkind = "jamming"\ncenter = [450, 0]\nradius_m = 100\nat_s = 120\n'
        "duration_s = 30\n"
    )
    drops = run_scenario(diamond(failures, duration=200))["drops"]
    assert {"cut", "jammed"} <= set(drops), drops  # the failures were felt
    documented = documented_drops()
    patterns = [re.escape(d).replace("<class>", "[a-z]+") for d in documented]
    undocumented = [r for r in drops if not any(re.fullmatch(p, r) for p in patterns)]
    assert undocumented == [], f"add them to the drops table of sim/report/RESULTS.md: {drops}"
    # ... and the queue's own reasons, which a small run rarely shows
    assert {"queue_full_<class>", "expired", "superseded_report", "stale_report"} <= documented
