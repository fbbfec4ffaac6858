"""The report reads a run directory and shows the data it holds, nothing else.

A synthetic run (results.json, a series with a relay dying at 1800 s, two topology
snapshots) is written to a temporary directory; the tests check the extracted series
against the CSV, that every promised image is a real PNG, and that the page and the
terminal summary carry the numbers (escaped where they come from people).
"""

from __future__ import annotations

import copy
import json
import math
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from tacmesh.sim.report import write_report
from tacmesh.sim.report.data import SERIES_COLUMNS
from tacmesh.sim.report.html import write_html
from tacmesh.sim.report.plots import (
    FailureMark,
    event_marks,
    failure_marks,
    read_series,
    use_log_scale,
    write_plots,
)
from tacmesh.sim.report.summary import print_summary, summary_lines
from tacmesh.sim.report.topology import nice_length, pick_snapshots, snapshot_file

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CLASSES = ("sos", "order", "vitals", "position", "text", "bulk")


def _stats(sent: int, delivered: int, p50: float | None, worst: float | None) -> dict[str, Any]:
    latency = None if p50 is None else {"p50": p50, "p90": 2 * p50, "p99": 3 * p50, "max": worst}
    ratio = delivered / sent if sent else None
    return {"sent": sent, "delivered": delivered, "ratio": ratio, "latency_s": latency}


RESULTS: dict[str, Any] = {
    "schema": 1,
    "scenario": {
        "name": "Earthquake valley",
        "source": "examples/earthquake-valley.toml",
        "seed": 7,
        "duration_s": 3600,
        "nodes": 5,
        "teams": ["fire-1", "medic-1"],
    },
    "run": {
        "events": 123456,
        "frames_sent": 1000,
        "frames_received": 5000,
        "collisions": 12,
        "wall_s": 12.3,
        "realtime_factor": 292.6,
        "core": "compiled",
    },
    "delivery": {
        "overall": _stats(400, 380, 0.4, 31.0),
        "by_class": {
            "sos": _stats(3, 3, 0.25, 0.9),
            "order": _stats(20, 19, 0.5, 4.0),
            "vitals": _stats(77, 70, 0.75, 9.0),
            "position": _stats(250, 240, 0.3, 12.0),
            "text": _stats(40, 38, 1.5, 20.0),
            "bulk": _stats(10, 0, None, None),
        },
        "by_team": {
            "fire-1": _stats(200, 190, 0.35, 20.0),
            "medic-1": _stats(180, 170, 0.45, 31.0),
        },
    },
    "sos": _stats(3, 3, 0.25, 0.9),
    "overhead": {
        "lora": {
            "control_bytes": 12000,
            "data_bytes": 48000,
            "control_airtime_s": 30.5,
            "data_airtime_s": 91.5,
            "control_share": 0.25,
        },
        "wifi-mesh": {
            "control_bytes": 90000,
            "data_bytes": 410000,
            "control_airtime_s": 0.9,
            "data_airtime_s": 4.1,
            "control_share": 0.18,
        },
    },
    "drops": {
        "queue_full": 3,
        "expired": 1,
        "superseded": 40,
        "no_route": 0,
        "collision": 12,
        "out_of_range": 5,
        "hop_limit": 0,
    },
    "failures": [
        {
            "at_s": 1800.0,
            "kind": "node_death",
            "target": "relay-2",
            "affected_flows": 12,
            "recovered_flows": 12,
            "failover_s": 2.4,
        },
        {
            "at_s": 2700.0,
            "kind": "gateway_loss",
            "target": "gw-east",
            "affected_flows": 4,
            "recovered_flows": 0,
            "failover_s": None,
        },
    ],
    "events": [{"at_s": 2400.0, "kind": "takeoff", "target": "uav-2"}],
    "files": {"series": "series.csv", "topology": "topology.json", "pcap": ["frames-ip.pcap"]},
}

HEADER = ",".join(SERIES_COLUMNS)
# 600 s bins; the relay dies at 1800 s: ratio and latency suffer, queues grow. The 1200 s bin
# sent nothing (empty ratio and latency), the 3000 s bin delivered nothing (empty latency).
SERIES_ROWS = [
    "0,60,60,1.0,0.2,0.5,4,2,6,5",
    "600,70,69,0.9857,0.25,0.6,5,2,6,5",
    "1200,0,0,,,,3,1,6,5",
    "1800,80,50,0.625,3.5,40.0,60,35,4,4",
    "2400,90,88,0.9778,0.4,1.2,8,3,4,4",
    "3000,10,0,0.0,,,90,50,3,4",
]


def _node(name: str, x: float, y: float, role: str, alive: bool = True) -> dict[str, Any]:
    team = "fire-1" if role == "handheld" else None
    return {"name": name, "x": x, "y": y, "z": 2.0, "role": role, "team": team, "alive": alive}


def _snapshot(t_s: float, relay_alive: bool) -> dict[str, Any]:
    nodes = [
        _node("cp", 0.0, 0.0, "command_post"),
        _node("relay-2", 1500.0, 800.0, "team_relay", relay_alive),
        _node("gw-east", 3000.0, -500.0, "gateway"),
        _node("uav-1", 2000.0, 2000.0, "uav_relay"),
        _node("hh-1", 4200.0, 1200.0, "handheld"),
    ]
    links = [
        {"a": "cp", "b": "gw-east", "profile": "wifi-mesh", "quality": 0.93},
        {"a": "cp", "b": "uav-1", "profile": "wifi-mesh", "quality": 0.6},
        {"a": "gw-east", "b": "hh-1", "profile": "lora", "quality": 0.4},
    ]
    if relay_alive:
        links.append({"a": "relay-2", "b": "hh-1", "profile": "lora", "quality": 0.85})
    return {"t_s": t_s, "nodes": nodes, "links": links}


def write_run(directory: Path, results: dict[str, Any] = RESULTS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "results.json").write_text(json.dumps(results), encoding="utf-8")
    (directory / "series.csv").write_text("\n".join([HEADER, *SERIES_ROWS]) + "\n")
    topology = {"snapshots": [_snapshot(0.0, True), _snapshot(1800.0, False)]}
    (directory / "topology.json").write_text(json.dumps(topology), encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """What ``write_report`` wrote for the synthetic run: the plots, then the page."""
    return write_report(write_run(tmp_path_factory.mktemp("run")))


@pytest.fixture
def run_dir(report: list[Path]) -> Path:
    return report[-1].parent


EXPECTED_PNGS = (
    "delivery.png",
    "latency.png",
    "queues.png",
    "topology-0.png",
    "topology-1800.png",
    "overhead.png",
)


# --- the data behind the plots ----------------------------------------------------------


def test_series_columns_are_the_csv(run_dir: Path) -> None:
    series = read_series(run_dir / "series.csv")
    assert len(series) == len(SERIES_ROWS)
    for i, name in enumerate(SERIES_COLUMNS):
        cells = [row.split(",")[i] for row in SERIES_ROWS]
        expected = [float(c) if c else math.nan for c in cells]
        np.testing.assert_array_equal(series[name], expected)


def test_empty_cells_are_nan_not_zero(run_dir: Path) -> None:
    series = read_series(run_dir / "series.csv")
    assert math.isnan(series["delivery_ratio"][2])
    assert math.isnan(series["latency_p50_s"][5])
    assert series["delivery_ratio"][5] == 0.0  # sent but nothing delivered is a real 0


def test_bins_end_one_width_after_the_last_start(run_dir: Path) -> None:
    edges = read_series(run_dir / "series.csv").bin_edges()
    np.testing.assert_array_equal(edges, [0, 600, 1200, 1800, 2400, 3000, 3600])


def test_a_short_last_bin_ends_with_the_run(tmp_path: Path) -> None:
    (tmp_path / "s.csv").write_text(HEADER + "\n0,1,1,1.0,,,,,,\n600,1,1,1.0,,,,,,\n")
    series = read_series(tmp_path / "s.csv")
    np.testing.assert_array_equal(series.bin_edges(1000.0), [0, 600, 1000])
    np.testing.assert_array_equal(series.bin_edges(5000.0), [0, 600, 1200])
    (tmp_path / "one.csv").write_text(HEADER + "\n0,1,1,1.0,,,,,,\n")
    np.testing.assert_array_equal(read_series(tmp_path / "one.csv").bin_edges(90.0), [0, 90])


def test_missing_or_header_only_series_is_empty(tmp_path: Path) -> None:
    assert len(read_series(tmp_path / "absent.csv")) == 0
    (tmp_path / "s.csv").write_text(HEADER + "\n")
    series = read_series(tmp_path / "s.csv")
    assert len(series) == 0
    assert len(series.bin_edges()) == 0
    assert len(series["links_up"]) == 0


def test_failure_marks_are_the_failures_in_time_order() -> None:
    results = copy.deepcopy(RESULTS)
    results["failures"].reverse()
    results["failures"].append({"kind": "jamming", "at_s": 60})  # no target: kind alone
    assert failure_marks(results) == [
        FailureMark(60.0, "jamming"),
        FailureMark(1800.0, "node_death relay-2"),
        FailureMark(2700.0, "gateway_loss gw-east"),
    ]
    assert failure_marks({"schema": 1}) == []


def test_planned_events_are_marks_of_their_own() -> None:
    results = copy.deepcopy(RESULTS)
    results["events"].insert(0, {"at_s": 3000.0, "kind": "landing", "target": "uav-9"})
    results["events"].append({"kind": "takeoff", "target": "uav-3"})  # no time: no mark
    assert event_marks(results) == [
        FailureMark(2400.0, "uav-2 takes off", planned=True),
        FailureMark(3000.0, "uav-9 landing", planned=True),  # a kind without words: as is
    ]
    assert event_marks({"schema": 1}) == []
    assert all(not m.planned for m in failure_marks(results))


def test_latency_goes_log_when_the_range_is_wide() -> None:
    assert use_log_scale(np.array([0.2, math.nan]), np.array([40.0]))
    assert not use_log_scale(np.array([0.2, 0.5]), np.array([1.2, math.nan]))
    assert not use_log_scale(np.array([math.nan]))


def test_snapshots_shown_are_first_after_each_failure_and_last() -> None:
    snaps = [{"t_s": float(t)} for t in range(0, 3601, 300)]
    marks = [FailureMark(1750.0, "a"), FailureMark(2700.0, "b"), FailureMark(3000.0, "c")]
    picked = [s["t_s"] for s in pick_snapshots(snaps, marks)]
    assert picked == [0.0, 1800.0, 2700.0, 3600.0]  # capped at four: "c" is left out
    assert [s["t_s"] for s in pick_snapshots(snaps[:1], marks)] == [0.0]
    assert pick_snapshots([], marks) == []


def test_file_names_and_scale_lengths() -> None:
    assert snapshot_file(1800.0) == "topology-1800.png"
    assert snapshot_file(12.5) == "topology-12.5.png"
    assert [nice_length(k) for k in (0.84, 1.0, 3.3, 7.9, 0.012)] == [0.5, 1.0, 2.0, 5.0, 0.01]


# --- the files ----------------------------------------------------------------------------


def test_every_promised_png_is_written(run_dir: Path) -> None:
    for name in EXPECTED_PNGS:
        data = (run_dir / name).read_bytes()
        assert data.startswith(PNG_MAGIC), name
        assert len(data) > 10_000, name  # axes, lines and text, not a blank canvas


def test_write_report_returns_what_it_wrote(report: list[Path]) -> None:
    assert [p.name for p in report] == [*EXPECTED_PNGS, "report.html"]
    assert all(p.is_file() for p in report)


def test_plots_survive_a_run_with_no_data(tmp_path: Path) -> None:
    bare = {"schema": 1, "scenario": {"name": "nothing"}}
    (tmp_path / "results.json").write_text(json.dumps(bare))
    written = write_plots(tmp_path)
    assert [p.name for p in written] == ["delivery.png", "latency.png", "queues.png"]
    assert all(p.read_bytes().startswith(PNG_MAGIC) for p in written)
    page = write_html(tmp_path).read_text()
    assert "nothing" in page
    assert "No failure was injected" in page


def test_unknown_schema_is_refused(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text(json.dumps({"schema": 2}))
    with pytest.raises(ValueError, match="schema 1"):
        write_plots(tmp_path)


# --- the page -----------------------------------------------------------------------------


def test_page_shows_the_scenario_classes_and_failures(run_dir: Path) -> None:
    page = (run_dir / "report.html").read_text()
    assert "<h1>Earthquake valley</h1>" in page
    for name in CLASSES:
        assert f"<td>{name}</td>" in page
    assert "<td>relay-2</td>" in page
    assert '<td class="n">2.4 s</td>' in page
    assert "not recovered" in page  # gw-east's flows never came back
    assert '<td class="n">94.4 %</td>' in page  # medic-1's ratio: shown nowhere else
    assert '<a href="frames-ip.pcap">' in page
    assert "<td>compiled (mypyc)</td>" in page  # which engines the speed figures are of
    assert "<p>Planned: uav-2 takes off at 2,400 s.</p>" in page


def test_page_shows_every_plot(run_dir: Path) -> None:
    page = (run_dir / "report.html").read_text()
    for name in EXPECTED_PNGS:
        assert f'<img src="{name}"' in page
    assert page.count("<img") == len(EXPECTED_PNGS)


def test_page_escapes_strings_from_the_data(tmp_path: Path) -> None:
    results = copy.deepcopy(RESULTS)
    results["scenario"]["name"] = "<script>alert('x')</script> & co"
    results["failures"][0]["target"] = '"><img src=x>'
    write_run(tmp_path, results)
    page = write_html(tmp_path).read_text()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co" in page
    assert "<img src=x>" not in page


# --- the terminal summary ----------------------------------------------------------------


def test_summary_lines_carry_the_numbers() -> None:
    lines = summary_lines(RESULTS)
    assert lines[0] == "Earthquake valley: seed 7, 3,600 s simulated, 5 nodes"
    rows = {line.split()[0]: line.split() for line in lines[1:9]}
    assert rows["sos"] == ["sos", "3", "3", "100.0", "%", "0.25", "s", "0.5", "s"]
    assert rows["bulk"] == ["bulk", "10", "0", "0.0", "%", "—", "—"]
    assert rows["all"][:5] == ["all", "400", "380", "95.0", "%"]
    text = "\n".join(lines)
    assert "SOS: 3 of 3 delivered (100.0 %); latency p50 0.25 s, p90 0.5 s" in text
    squeezed = {" ".join(line.split()) for line in lines}  # the padding is not the point
    assert "1,800 s node_death relay-2 12 of 12 2.4 s" in squeezed
    assert "2,700 s gateway_loss gw-east 0 of 4 not recovered" in squeezed
    assert "planned: uav-2 takes off at 2,400 s" in squeezed
    assert "drops: queue_full 3, expired 1, superseded 40, collision 12, out_of_range 5" in text


def test_a_failure_that_hit_no_flow_says_so_rather_than_0_s() -> None:
    results = copy.deepcopy(RESULTS)
    hit_nothing = {"at_s": 1300.0, "kind": "node_death", "target": "bb-2"}
    results["failures"] = [{**hit_nothing, "affected_flows": 0, "recovered_flows": 0,
                            "failover_s": None}]  # fmt: skip
    squeezed = {" ".join(line.split()) for line in summary_lines(results)}
    assert "1,300 s node_death bb-2 0 of 0 no flow crossed it" in squeezed


def test_rich_summary_prints_the_same_cells() -> None:
    out = StringIO()
    print_summary(RESULTS, Console(file=out, width=120, color_system=None))
    text = out.getvalue()
    for cell in ("Delivery by traffic class", "vitals", "90.9 %", "relay-2", "2.4 s", "superseded",
                 "planned: uav-2 takes off at 2,400 s"):  # fmt: skip
        assert cell in text
