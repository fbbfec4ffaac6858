"""The ``tacmesh`` command: one entry point, a subcommand per job.

Each subcommand lives in its own module and registers itself with :func:`build_parser`;
handlers return the process exit code (0 ok, 1 a check failed, 2 bad usage or input).
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import PackageNotFoundError, version

from tacmesh.node.cli import keys_cmd, node_cmd, protocol_cmd, sim_cmd


def _version() -> str:
    try:
        return version("tacmesh")
    except PackageNotFoundError:  # running from a source tree without installing
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tacmesh",
        description=(
            "tacmesh: the emergency tactical internet. Ground and UAV relay daemons, "
            "gateways to team radios, and a network simulator, all speaking the TacMesh "
            "Gateway Protocol v1."
        ),
        epilog="Start with 'tacmesh protocol selfcheck'. Every subcommand has its own --help.",
    )
    parser.add_argument(
        "--version", action="version", version=f"tacmesh {_version()} (protocol v1)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    keys_cmd.register(sub)
    node_cmd.register(sub)
    protocol_cmd.register(sub)
    sim_cmd.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args))
    except BrokenPipeError:  # output piped into head: not an error
        return 0


if __name__ == "__main__":
    sys.exit(main())
