"""``tacmesh protocol ...``: check, measure and dissect the wire protocol."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from tacmesh.protocol.budget import format_budget, wire_budget
from tacmesh.protocol.vectors.conformance import check, load

SPEC = "protocol/SPEC.md"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    proto = sub.add_parser(
        "protocol",
        help="check, measure and dissect the TacMesh Gateway Protocol",
        description=f"Tools for the wire protocol. The normative text is {SPEC}.",
    )
    cmds = proto.add_subparsers(dest="protocol_command", metavar="ACTION", required=True)

    selfcheck = cmds.add_parser(
        "selfcheck",
        help="run every conformance vector and print the narrowband wire budget",
        description="Check this build against the conformance vectors, then print the "
        "on-air size of each hot message. Exit status 1 if any vector fails.",
    )
    selfcheck.set_defaults(handler=_selfcheck)

    vectors = cmds.add_parser(
        "vectors",
        help="check (or list) the conformance vectors",
        description="The vectors (hex, JSON) hold every frame type, message and crypto "
        "operation with its keys and nonces, so another implementation can be verified "
        "against the same file.",
    )
    vectors.add_argument("--check", action="store_true", help="recompute and verify each vector")
    vectors.add_argument("--file", help="a vectors.json other than the built-in one")
    vectors.set_defaults(handler=_vectors)

    budget = cmds.add_parser("budget", help="print the wire budget table")
    budget.set_defaults(handler=_budget)

    dissect = cmds.add_parser(
        "dissect",
        help="print the tacmesh frames in a pcap file",
        description="Decode the header of every tacmesh frame in a pcap: UDP datagrams on "
        "the tacmesh port, and narrowband captures (link type 147). Payloads are "
        "encrypted; header fields are shown.",
    )
    dissect.add_argument("pcap", type=Path, help="capture file (pcap or pcapng)")
    dissect.add_argument("--port", type=int, default=4880, help="UDP port (default 4880)")
    dissect.add_argument("--tag-len", type=int, choices=(4, 8, 16), help="hop tag length")
    dissect.set_defaults(handler=_dissect)


def _run_vectors(path: str | None, verbose: bool) -> int:
    try:
        results = check(load(path))
    except (OSError, ValueError) as exc:
        print(f"error: cannot read vectors: {exc}", file=sys.stderr)
        return 2
    failed = [r for r in results if not r.ok]
    for r in results:
        if verbose or not r.ok:
            print(f"  {'ok  ' if r.ok else 'FAIL'} {r.name}{'' if r.ok else ': ' + r.detail}")
    print(f"conformance vectors: {len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def _selfcheck(args: argparse.Namespace) -> int:
    status = _run_vectors(None, verbose=False)
    print()
    print(format_budget(wire_budget()))
    return status


def _vectors(args: argparse.Namespace) -> int:
    if not args.check:
        for vector in load(args.file)["vectors"]:
            print(f"{vector['kind']:<12} {vector['name']}")
        return 0
    return _run_vectors(args.file, verbose=True)


def _budget(args: argparse.Namespace) -> int:
    print(format_budget(wire_budget()))
    return 0


def _dissect(args: argparse.Namespace) -> int:
    if not args.pcap.exists():
        print(f"error: {args.pcap} does not exist", file=sys.stderr)
        return 2
    from tacmesh.protocol.dissect import dissect_pcap, format_frame  # scapy loads slowly

    count = 0
    for frame in dissect_pcap(args.pcap, udp_port=args.port, tag_len=args.tag_len):
        if count == 0:  # frame times are Unix seconds, as tcpdump -tt shows them
            start = datetime.fromtimestamp(frame.time, UTC).isoformat(timespec="seconds")
            print(f"capture starts {start}")
        print(format_frame(frame))
        count += 1
    print(f"{count} tacmesh frame(s) in {args.pcap}")
    return 0
