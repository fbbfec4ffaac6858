"""``tacmesh sim ...``: run, check, generate and sweep network simulations."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from tacmesh.node.cli.sim_sweep import add_sweep_parser

if TYPE_CHECKING:
    from tacmesh.sim.scenario.model import Scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RUN_EPILOG = """\
examples:
  tacmesh sim run examples/earthquake-valley.toml --out runs/valley
  tacmesh sim run op.toml --out runs/op --pcap team-01-gw --pcap cp
  tacmesh sim run op.toml --seed 4 --duration 600 --quiet --json

The run directory gets results.json (schema: sim/report/RESULTS.md), series.csv,
topology.json, PNG plots and report.html; with --pcap, frames-*.pcap for Wireshark.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sim = sub.add_parser(
        "sim",
        help="simulate a whole operation: scenarios, failures, metrics, reports",
        description="The network simulator runs the protocol engines the daemons ship, in "
        "virtual time, over modelled radios, movement, traffic and failures.",
    )
    cmds = sim.add_subparsers(dest="sim_command", metavar="ACTION", required=True)
    run = cmds.add_parser(
        "run",
        help="run a scenario and write its results, plots and report",
        description="Run SCENARIO.toml (schema: sim/scenario/SCHEMA.md) to its end, show "
        "progress, print a summary and write the run directory.",
        epilog=RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("scenario", type=Path, metavar="SCENARIO.toml")
    run.add_argument("--out", type=Path, metavar="DIR", help="run directory (default: none)")
    run.add_argument(
        "--pcap",
        action="append",
        default=[],
        metavar="NODE",
        help="capture this node's frames into DIR/frames-*.pcap (repeat)",
    )
    run.add_argument("--seed", type=int, help="replace the scenario's seed")
    run.add_argument("--duration", type=float, metavar="S", help="replace its duration (s)")
    run.add_argument("--no-plots", action="store_true", help="write data files only")
    run.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    run.add_argument("--json", action="store_true", help="print results.json to stdout")
    run.set_defaults(handler=_run)

    check = cmds.add_parser(
        "validate",
        help="check a scenario file and say what it holds",
        description="Load SCENARIO.toml and report every problem with its line and fix. "
        "Exit status 2 if there are problems.",
    )
    check.add_argument("scenario", type=Path, metavar="SCENARIO.toml")
    check.set_defaults(handler=_validate)

    gen = cmds.add_parser(
        "generate",
        help="write the scenario of a large operation (N teams of M responders)",
        description="Print (or write) the TOML of an operation: a command post, ground "
        "backbone, UAV relays, and N teams each with a gateway and M handhelds reporting "
        "position and vitals. Edit it, then run it.",
        epilog="example:\n  tacmesh sim generate --teams 90 --responders 10 -o op.toml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    gen.add_argument("--teams", type=int, required=True)
    gen.add_argument("--responders", type=int, required=True, help="handhelds per team")
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--area", type=float, default=10_000.0, metavar="M", help="side (m)")
    gen.add_argument("--duration", type=float, default=3600.0, metavar="S")
    gen.add_argument("--uavs", type=int, default=2)
    gen.add_argument("-o", "--output", type=Path, metavar="FILE", help="default: stdout")
    gen.set_defaults(handler=_generate)
    add_sweep_parser(cmds)
    _add_emulate_parser(cmds)


EMULATE_EPILOG = """\
examples:
  tacmesh sim emulate examples/failover-square.toml --out runs/square-emu
  tacmesh sim emulate op.toml --out runs/op-emu --duration 60 --loopback
  tacmesh sim run examples/failover-square.toml --out runs/square   # to compare

As root (with iproute2) each daemon runs in its own network namespace joined to the
channel by a veth, on 198.18.0.0/15; otherwise (or with --loopback) on 127.0.0.1 ports.
DIR gets results.json (the simulator's fields plus emulated, mode and the channel's
per-link counters), plan.json, channel.json, keys/ and nodes/ (configs, logs, stores).
"""


def _add_emulate_parser(cmds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    emu = cmds.add_parser(
        "emulate",
        help="run a small scenario with the real daemons and measure the same figures",
        description="Run SCENARIO.toml (at most 16 nodes, IP radios) with one `tacmesh node "
        "run` process per node, joined through a channel process that applies the "
        "scenario's link model, traffic and failures in real time.",
        epilog=EMULATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    emu.add_argument("scenario", type=Path, metavar="SCENARIO.toml")
    emu.add_argument("--out", type=Path, required=True, metavar="DIR", help="run directory")
    emu.add_argument(
        "--duration",
        type=float,
        metavar="S",
        help="wall-clock seconds to run (default: the scenario's, at most 120)",
    )
    emu.add_argument(
        "--loopback", action="store_true", help="127.0.0.1 ports even when root could use netns"
    )
    emu.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    emu.add_argument("--json", action="store_true", help="print results.json to stdout")
    emu.set_defaults(handler=_emulate)


def _load(path: Path, console: Console) -> Scenario | None:
    from tacmesh.sim.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(path)
    except FileNotFoundError:
        console.print(
            f"[red]no such scenario file: {path}[/red] (built-in examples are in {EXAMPLES})"
        )
    except ScenarioError as err:
        console.print(f"[red]{err}[/red]", highlight=False)
    return None


def _run(args: argparse.Namespace) -> int:
    import dataclasses

    from tacmesh.sim.report import write_report
    from tacmesh.sim.report.summary import print_summary

    err = Console(stderr=True)
    scenario = _load(args.scenario, err)
    if scenario is None:
        return 2
    if args.seed is not None:
        scenario = dataclasses.replace(scenario, seed=args.seed)
    if args.duration is not None:
        scenario = dataclasses.replace(scenario, duration_s=args.duration)
    missing = [n for n in args.pcap if not _has_node(scenario, n)]
    if missing:
        err.print(f"[red]--pcap names no node of the scenario: {', '.join(missing)}[/red]")
        return 2
    if args.pcap and args.out is None:
        err.print("[red]--pcap needs --out DIR to write the capture into[/red]")
        return 2
    results = _with_progress(scenario, args, err)
    if args.out is not None and not args.no_plots:
        write_report(args.out)
    if not args.quiet:
        print_summary(results, Console(stderr=args.json))
        if args.out is not None:
            Console(stderr=args.json).print(f"report: {args.out / 'report.html'}")
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


def _with_progress(
    scenario: Scenario, args: argparse.Namespace, console: Console
) -> dict[str, Any]:
    from tacmesh.sim.run import run_scenario

    if args.quiet:
        return run_scenario(scenario, out_dir=args.out, pcap_nodes=tuple(args.pcap))
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} s simulated"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(scenario.name, total=scenario.duration_s)
        return run_scenario(
            scenario,
            out_dir=args.out,
            pcap_nodes=tuple(args.pcap),
            progress=lambda t: bar.update(task, completed=t),
        )


def _has_node(scenario: Scenario, name: str) -> bool:
    from tacmesh.sim.build import expand

    return any(name in expand(spec) for spec in scenario.nodes)


def _validate(args: argparse.Namespace) -> int:
    console = Console()
    scenario = _load(args.scenario, Console(stderr=True))
    if scenario is None:
        return 2
    from tacmesh.sim.build import expand

    nodes = sum(len(expand(n)) for n in scenario.nodes)
    console.print(
        f"{args.scenario}: ok — {scenario.name!r}, {nodes} nodes in "
        f"{len(scenario.teams)} teams, {len(scenario.traffic)} traffic and "
        f"{len(scenario.failures)} failure entries, {scenario.duration_s:g} s"
    )
    return 0


def _generate(args: argparse.Namespace) -> int:
    from tacmesh.sim.scenario import generate_operation

    try:
        text = generate_operation(
            args.teams,
            args.responders,
            seed=args.seed,
            area_m=args.area,
            duration_s=args.duration,
            uavs=args.uavs,
        )
    except ValueError as err:
        print(f"tacmesh sim generate: {err}", file=sys.stderr)
        return 2
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text)
    return 0


def _emulate(args: argparse.Namespace) -> int:
    import signal

    from tacmesh.sim.emulate import EmulationError
    from tacmesh.sim.emulate.netns import NetnsError
    from tacmesh.sim.report.summary import print_summary

    err = Console(stderr=True)
    scenario = _load(args.scenario, err)
    if scenario is None:
        return 2
    # SIGTERM unwinds like Ctrl-C, so the run ends its processes and namespaces.
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        results = _emulate_with_progress(scenario, args, err)
    except (EmulationError, NetnsError) as exc:
        err.print(f"[red]cannot emulate: {exc}[/red]", highlight=False)
        return 2
    except KeyboardInterrupt:
        err.print("[yellow]interrupted: processes and namespaces cleaned up[/yellow]")
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    if not args.quiet:
        out = Console(stderr=args.json)
        print_summary(results, out)
        out.print(f"emulated with real daemons ({results['mode']}); results: {args.out}")
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


def _emulate_with_progress(
    scenario: Scenario, args: argparse.Namespace, console: Console
) -> dict[str, Any]:
    from tacmesh.sim.emulate import emulate

    options: dict[str, Any] = {"duration_s": args.duration, "loopback": args.loopback}
    if args.quiet:
        return emulate(scenario, args.out, **options)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} s emulated"),
        TimeElapsedColumn(),
    )
    total = args.duration or min(scenario.duration_s, 120.0)
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(scenario.name, total=total)
        return emulate(
            scenario, args.out, progress=lambda t: bar.update(task, completed=t), **options
        )
