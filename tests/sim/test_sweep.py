"""Parameter sweeps: the plan, both executors, the table and plot, the CLI, a real sweep.

The executor tests use ``stand_in``, a module-level runner whose row is a known function
of the point, so rows can be compared exactly; it raises for one point, to show that a
failed run becomes an ``error`` row and the others finish. The real sweeps at the end run
the simulator on a five-node scenario.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import LocalCluster

from tacmesh.node.cli.sim_sweep import add_sweep_parser, parse_param, parse_seeds, short_names
from tacmesh.sim.sweep import plan, sweep
from tacmesh.sim.sweep_headline import METRICS, headline
from tacmesh.sim.sweep_output import plot_sweep, write_table

GRID: dict[str, list[object]] = {"sf": [7, 12], "every_s": [15.0, 30.0]}
SEEDS = [1, 2, 3]
FAILING = {"sf": 12, "every_s": 30.0, "seed": 2}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HAVE_SIMULATOR = importlib.util.find_spec("tacmesh.sim.run") is not None
needs_simulator = pytest.mark.skipif(
    not HAVE_SIMULATOR, reason="tacmesh.sim.run (run_scenario) is not importable yet"
)


def stand_in(scenario_path: str, point: dict[str, object]) -> dict[str, object]:
    """A runner for the executor tests: a row computed from the point, or an error."""
    if point == FAILING:
        raise ValueError(f"no route at sf {point['sf']}")
    sf, every, seed = point["sf"], point["every_s"], point["seed"]
    assert isinstance(sf, int) and isinstance(every, float) and isinstance(seed, int)
    return {
        **point,
        "delivery_ratio": 1.0 - sf / 100 - seed / 1000,
        "latency_p90_s": every * sf / 10,
        "scenario": scenario_path,
    }


def expected_rows() -> list[dict[str, object]]:
    rows = []
    for point in plan(GRID, SEEDS):
        if point == FAILING:
            rows.append({**point, "error": "ValueError: no route at sf 12"})
        else:
            rows.append(stand_in("scenario.toml", point))
    return rows


# --- plan ----------------------------------------------------------------------------------


def test_plan_is_the_product_with_seeds_innermost() -> None:
    points = plan({"a": [1, 2], "b": ["x", "y", "z"]}, [5, 6])
    assert len(points) == 2 * 3 * 2
    assert points[:3] == [
        {"a": 1, "b": "x", "seed": 5},
        {"a": 1, "b": "x", "seed": 6},
        {"a": 1, "b": "y", "seed": 5},
    ]
    assert points[-1] == {"a": 2, "b": "z", "seed": 6}
    assert all(list(p) == ["a", "b", "seed"] for p in points)
    assert plan({}, [3, 1]) == [{"seed": 3}, {"seed": 1}]


@pytest.mark.parametrize(
    ("grid", "seeds", "message"),
    [
        ({"seed": [1]}, [1], "seed"),
        ({"a": [1]}, [], "no seeds"),
        ({"a": []}, [1], "'a' has no values"),
    ],
)
def test_plan_refuses_an_empty_or_confused_grid(
    grid: dict[str, list[object]], seeds: list[int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        plan(grid, seeds)


# --- executors -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_rows() -> tuple[list[dict[str, object]], list[tuple[int, int]]]:
    calls: list[tuple[int, int]] = []
    rows = sweep(
        "scenario.toml",
        GRID,
        SEEDS,
        workers=2,
        runner=stand_in,
        progress=lambda done, total: calls.append((done, total)),
    )
    return rows, calls


def test_local_pool_rows_in_plan_order_with_exact_values(
    local_rows: tuple[list[dict[str, object]], list[tuple[int, int]]],
) -> None:
    rows, _ = local_rows
    assert rows == expected_rows()


def test_a_failed_run_is_an_error_row_and_the_others_finish(
    local_rows: tuple[list[dict[str, object]], list[tuple[int, int]]],
) -> None:
    rows, _ = local_rows
    failed = [row for row in rows if "error" in row]
    assert failed == [{**FAILING, "error": "ValueError: no route at sf 12"}]
    assert sum("delivery_ratio" in row for row in rows) == len(plan(GRID, SEEDS)) - 1


def test_progress_counts_every_run_once(
    local_rows: tuple[list[dict[str, object]], list[tuple[int, int]]],
) -> None:
    _, calls = local_rows
    total = len(plan(GRID, SEEDS))
    assert calls == [(done, total) for done in range(total + 1)]


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    cluster = LocalCluster(  # type: ignore[no-untyped-call]  # distributed is unannotated here
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
    )
    try:
        yield cluster
    finally:
        cluster.close()


def test_dask_cluster_gives_the_same_rows(
    cluster: LocalCluster,
    local_rows: tuple[list[dict[str, object]], list[tuple[int, int]]],
) -> None:
    address = cluster.scheduler_address
    assert address.startswith("tcp://127.0.0.1:")
    rows = sweep("scenario.toml", GRID, SEEDS, scheduler=address, runner=stand_in)
    assert rows == local_rows[0]


# --- results to rows, table and plot -------------------------------------------------------


def test_headline_reads_the_results_dict() -> None:
    results = {
        "run": {"frames_sent": 812},
        "delivery": {"overall": {"ratio": 0.75, "latency_s": {"p50": 1.5, "p90": None}}},
        "sos": {},
        "overhead": {
            "lora": {"control_bytes": 300, "data_bytes": 700},
            "air": {"control_bytes": 100, "data_bytes": 900},
        },
        "failures": [
            {"failover_s": 12.0, "affected_flows": 4, "recovered_flows": 3},
            {"failover_s": None, "affected_flows": 4, "recovered_flows": 0},
            {"failover_s": 30.5, "affected_flows": 2, "recovered_flows": 2},
        ],
    }
    row = headline(results, wall_s=2.5)
    assert list(row) == list(METRICS)
    assert row == {
        "delivery_ratio": 0.75,
        "latency_p50_s": 1.5,
        "latency_p90_s": None,
        "sos_ratio": None,
        "sos_latency_p90_s": None,
        "worst_failover_s": 30.5,
        "recovered_share": 5 / 10,
        "control_share": 400 / 2000,
        "frames_sent": 812,
        "wall_s": 2.5,
    }
    empty = headline({"failures": [], "overhead": {}}, wall_s=0.1)
    assert empty["worst_failover_s"] is None and empty["recovered_share"] is None
    assert empty["control_share"] is None and empty["delivery_ratio"] is None


def test_write_table_reads_back_equal(tmp_path: Path) -> None:
    rows = expected_rows()
    path = write_table(rows, tmp_path / "sweep.csv")
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        back = list(reader)
    assert reader.fieldnames == [
        *GRID,
        "seed",
        "delivery_ratio",
        "latency_p90_s",
        "scenario",
        "error",
    ]
    assert len(back) == len(rows)
    for row, read in zip(rows, back, strict=True):
        assert read == {k: "" if row.get(k) is None else str(row.get(k, "")) for k in read}
        for key in ("delivery_ratio", "latency_p90_s"):
            if key in row:  # floats round-trip exactly
                assert float(read[key]) == row[key]


def test_plot_sweep_writes_a_png(tmp_path: Path) -> None:
    rows = expected_rows()
    by_sf = plot_sweep(rows, "every_s", "delivery_ratio", tmp_path / "a.png")
    assert by_sf.read_bytes().startswith(PNG_MAGIC)
    labels = [{**row, "sf": f"SF{row['sf']}"} for row in rows]  # text on the x axis
    categorical = plot_sweep(labels, "sf", "latency_p90_s", tmp_path / "b.png")
    assert categorical.read_bytes().startswith(PNG_MAGIC)
    nothing = plot_sweep(
        [{"seed": 1, "error": "boom"}], "seed", "delivery_ratio", tmp_path / "c.png"
    )
    assert nothing.read_bytes().startswith(PNG_MAGIC)


# --- CLI -----------------------------------------------------------------------------------


def sweep_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tacmesh sim")
    add_sweep_parser(parser.add_subparsers(dest="sim_command", required=True))
    return parser


def test_seeds_accept_ranges_and_lists() -> None:
    assert parse_seeds("1-5") == [1, 2, 3, 4, 5]
    assert parse_seeds("1,2,7") == [1, 2, 7]
    assert parse_seeds("1-3, 10") == [1, 2, 3, 10]
    for bad, says in (("5-1", "goes down"), ("a", "1-5"), ("1,,2", "1-5"), ("1-3,2", "twice")):
        with pytest.raises(argparse.ArgumentTypeError, match=says):
            parse_seeds(bad)


def test_param_values_are_typed() -> None:
    assert parse_param("radio.lora.spreading_factor=7,9,12") == (
        "radio.lora.spreading_factor",
        [7, 9, 12],
    )
    assert parse_param("traffic.position.every_s=15, 2.5") == (
        "traffic.position.every_s",
        [15, 2.5],
    )
    assert parse_param("failure.0.silent=true,False") == ("failure.0.silent", [True, False])
    assert parse_param("radio.lora-long.coding_rate=4") == ("radio.lora-long.coding_rate", [4])
    assert parse_param("name=valley") == ("name", ["valley"])


def test_the_parser_builds_the_grid(tmp_path: Path) -> None:
    args = sweep_parser().parse_args(
        ["sweep", "s.toml", "--seeds", "1-3", "--param", "radio.lora.spreading_factor=7,9",
         "--param", "traffic.position.every_s=15,30", "--workers", "2",
         "--scheduler", "tcp://127.0.0.1:8786", "--out", str(tmp_path)]
    )  # fmt: skip
    assert args.scenario == Path("s.toml") and args.seeds == [1, 2, 3]
    assert args.grid == {
        "radio.lora.spreading_factor": [7, 9],
        "traffic.position.every_s": [15, 30],
    }
    assert (args.workers, args.scheduler, args.out) == (2, "tcp://127.0.0.1:8786", tmp_path)
    assert callable(args.handler)
    defaults = sweep_parser().parse_args(["sweep", "s.toml"])
    assert (defaults.seeds, defaults.grid, defaults.workers, defaults.scheduler) == (
        None,
        {},
        None,
        None,
    )


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--param", "spreading_factor"], "is not PATH=VALUE[,VALUE...], e.g. --param radio."),
        (["--param", "sf=7,,9"], "is not PATH=VALUE"),
        (["--param", "=7"], "is not PATH=VALUE"),
        (["--param", "sf=7", "--param", "sf=9"], "sf is given twice"),
        (["--param", "seed=1,2"], "use --seeds"),
        (["--seeds", "3-1"], "goes down"),
        (["--workers", "0"], "at least 1"),
        (["--run-timeout", "0"], "number of seconds above 0"),
        (["--run-timeout", "soon"], "number of seconds above 0"),
    ],
)
def test_bad_arguments_say_the_expected_form(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        sweep_parser().parse_args(["sweep", "s.toml", *argv])
    assert exit_.value.code == 2
    assert says in capsys.readouterr().err


def test_terminal_headers_are_short_but_unambiguous() -> None:
    paths = ["radio.lora.spreading_factor", "traffic.position.every_s", "traffic.status.every_s"]
    assert short_names(paths) == {
        "radio.lora.spreading_factor": "spreading_\nfactor",
        "traffic.position.every_s": "position.\nevery_s",
        "traffic.status.every_s": "status.\nevery_s",
    }


def test_help_teaches_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        sweep_parser().parse_args(["sweep", "--help"])
    out = capsys.readouterr().out
    assert "tacmesh sim sweep flood.toml --seeds 1-5" in out
    assert "--param" in out and "--scheduler" in out and "traffic.<kind>.<field>" in out


# --- real runs -----------------------------------------------------------------------------

TINY = """\
schema = 1
name = "tiny"
seed = 1
duration_s = 300

[site]
lat = 31.05
lon = 103.42

[[team]]
name = "t1"
center = [300, 0]
radius_m = 100

[[node]]
name = "cp"
role = "command_post"
radios = ["wifi-mesh"]
position = [150, 0]

[[node]]
name = "gw"
role = "gateway"
team = "t1"
radios = [{ profile = "lora", channel = "team" }, "wifi-mesh"]
position = [300, 0]

[[node]]
name = "hh"
role = "handheld"
team = "t1"
count = 3
radios = [{ profile = "lora", channel = "team" }]

[[traffic]]
kind = "position"
from = "role:handheld"
every_s = 30

[[traffic]]
kind = "sos"
from = "hh-01"
at_s = 120
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    return path


@needs_simulator
def test_a_real_sweep_carries_delivery_figures(tiny: Path) -> None:
    grid: dict[str, list[object]] = {"radio.lora.spreading_factor": [7, 9]}
    rows = sweep(tiny, grid, [1, 2], workers=2)
    assert [(r["radio.lora.spreading_factor"], r["seed"]) for r in rows] == [
        (7, 1),
        (7, 2),
        (9, 1),
        (9, 2),
    ]
    for row in rows:
        assert "error" not in row, row.get("error")
        assert set(METRICS) <= set(row)
        ratio, frames = row["delivery_ratio"], row["frames_sent"]
        assert isinstance(ratio, float) and 0.0 < ratio <= 1.0
        assert isinstance(frames, int) and frames > 0
        assert row["sos_ratio"] is not None and row["worst_failover_s"] is None


@needs_simulator
def test_grid_check_catches_paths_that_change_nothing(tiny: Path) -> None:
    from tacmesh.sim.scenario import load_scenario
    from tacmesh.sim.sweep_grid import check_grid

    scenario = load_scenario(tiny)
    assert check_grid(scenario, {"radio.lora.spreading_factor": [7, 9]}) == []
    assert check_grid(scenario, {"traffic.position.every_s": [15, 30]}) == []
    (problem,) = check_grid(scenario, {"traffic.vitals.every_s": [15]})
    assert "has no vitals traffic" in problem  # apply_overrides names what is missing
    (problem,) = check_grid(scenario, {"radio.lora.spreading_fctor": [9]})
    assert "spreading_fctor" in problem
    # a period of 0 would hang a worker: refused before any run
    (problem,) = check_grid(scenario, {"traffic.position.every_s": [30, 0]})
    assert problem == "traffic.position.every_s=0: must be above zero"


@needs_simulator
def test_the_command_writes_table_and_plot(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = sweep_parser().parse_args(
        ["sweep", str(tiny), "--seeds", "1-2", "--param", "traffic.position.every_s=30,60",
         "--workers", "2", "--out", str(out)]
    )  # fmt: skip
    assert args.handler(args) == 0
    with (out / "sweep.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["traffic.position.every_s"], r["seed"]) for r in rows] == [
        ("30", "1"),
        ("30", "2"),
        ("60", "1"),
        ("60", "2"),
    ]
    assert all(0.0 < float(r["delivery_ratio"]) <= 1.0 for r in rows)
    assert (out / "sweep.png").read_bytes().startswith(PNG_MAGIC)
    printed = capsys.readouterr().out
    assert "every_s" in printed and "SOS" in printed and "4 runs, 0 failed" in printed


@needs_simulator
def test_the_command_refuses_a_bad_grid_before_running(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = sweep_parser().parse_args(
        ["sweep", str(tiny), "--param", "traffic.vitals.every_s=15", "--out", str(tmp_path)]
    )
    assert args.handler(args) == 2
    assert "traffic.vitals.every_s" in capsys.readouterr().err
    assert not (tmp_path / "sweep.csv").exists()


@needs_simulator
def test_a_run_past_its_time_limit_becomes_an_error_row_and_the_sweep_ends(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 300 simulated s in 60-s steps: the limit is checked after the first step, long past.
    rows = sweep(tiny, {}, [1, 2], workers=2, run_timeout_s=1e-6)
    assert [r["seed"] for r in rows] == [1, 2]
    for row in rows:
        error = str(row["error"])
        assert error.startswith("RunTimeoutError: stopped after") and "limit 1e-06 s" in error
        assert "at 60 of 300 simulated s" in error
    assert all("error" not in r for r in sweep(tiny, {}, [1], workers=1, run_timeout_s=600))
    args = sweep_parser().parse_args(
        ["sweep", str(tiny), "--seeds", "1", "--run-timeout", "0.000001", "--out", str(tmp_path)]
    )
    assert args.handler(args) == 1  # a failed run
    assert "1 runs, 1 failed" in capsys.readouterr().out


def test_a_time_limit_needs_the_default_runner() -> None:
    with pytest.raises(ValueError, match="default runner"):
        sweep("any.toml", {}, [1], runner=stand_in, run_timeout_s=5)
