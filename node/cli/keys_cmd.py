"""``tacmesh keys ...``: create a mission, issue node bundles, revoke lost devices.

Handlers read the clock (the library below takes ``now``) and turn every user mistake
(bad address, unknown role, missing or broken file) into one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.console import Console
from rich.table import Table

from tacmesh.node.keys import (
    KeyFileError,
    NodeKeys,
    create_mission,
    issue_node,
    list_certificates,
    load_bundle,
    load_mission,
    refresh_bundle,
    revoke,
)
from tacmesh.node.keys.mission import IssuedCertificate, latest_revocation
from tacmesh.node.keys.text import (
    format_mission_id,
    format_node_address,
    parse_node_address,
    parse_role,
    role_name,
    role_names,
)
from tacmesh.protocol.crypto.certificates import Certificate, decode_revocation

Handler = Callable[[argparse.Namespace], int]

KEYS_EPILOG = """\
examples:
  tacmesh keys init cp/valley --name "Valley flood"
  tacmesh keys issue cp/valley --address 0x0102 --role gateway --callsign BRAVO-GW \\
      --team 3 --out /media/usb/bravo-gw
  tacmesh keys list cp/valley
  tacmesh keys revoke cp/valley --serial 7
  tacmesh keys refresh cp/valley /media/usb/bravo-gw
  tacmesh keys show /etc/tacmesh/keys

The mission directory holds the authority key: keep it at the command post, offline and
backed up. File formats: node/keys/README.md.
"""
ISSUE_EPILOG = f"""\
examples:
  tacmesh keys issue cp/valley --address 0x0102 --role gateway --callsign BRAVO-GW \\
      --team 3 --out /media/usb/bravo-gw
  tacmesh keys issue cp/valley --address 0x0103 --role handheld --days 7 --out b3 --force

roles: {role_names()}
Node addresses are 0x0001..0xdfff; teams 1..4095. Copy the bundle directory onto the
node (e.g. /etc/tacmesh/keys) and keep identity.key and network.key at mode 0600.
"""
REVOKE_EPILOG = """\
examples:
  tacmesh keys revoke cp/valley --serial 7
  tacmesh keys revoke cp/valley --serial 7 --serial 12 --json

Lists are cumulative: the new revocations.bin names every serial revoked so far.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = sub.add_parser(
        "keys",
        help="mission authority and node key bundles: init, issue, revoke, list, show",
        description="Create a mission at the command post, issue a key bundle for each node "
        "(copied onto its SD card or USB stick), and revoke lost devices (SPEC.md §7.2-§7.3).",
        epilog=KEYS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmds = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    _add_init(cmds)
    _add_issue(cmds)
    _add_revoke(cmds)
    _add_list(cmds)
    _add_show(cmds)
    _add_refresh(cmds)


def _parser(
    cmds: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    handler: Handler,
    help_text: str,
    epilog: str | None = None,
) -> argparse.ArgumentParser:
    parser = cmds.add_parser(
        name,
        help=help_text,
        description=help_text[0].upper() + help_text[1:] + ".",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.set_defaults(handler=_user_errors(f"tacmesh keys {name}", handler))
    return parser


def _user_errors(command: str, handler: Handler) -> Handler:
    """Bad input and broken files are the operator's to fix: one line, exit 2."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except (KeyFileError, ValueError) as err:
            print(f"{command}: error: {err}", file=sys.stderr)
        except OSError as err:  # a read-only stick, a full disk
            where = f" {err.filename}" if err.filename else ""
            print(f"{command}: error:{where}: {err.strerror}", file=sys.stderr)
        return 2

    return run


def _add_init(cmds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    init = _parser(
        cmds,
        "init",
        _init,
        "create a mission: authority key, network key and empty certificate store",
        "example:\n  tacmesh keys init cp/valley --name 'Valley flood'",
    )
    init.add_argument("mission_dir", type=Path, metavar="MISSION_DIR")
    init.add_argument("--name", help="mission name (default: the directory's name)")
    init.add_argument("--force", action="store_true", help="replace a mission already there")


def _add_issue(cmds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    issue = _parser(
        cmds, "issue", _issue, "certify a new node and write its key bundle", ISSUE_EPILOG
    )
    issue.add_argument("mission_dir", type=Path, metavar="MISSION_DIR")
    issue.add_argument("--address", required=True, help="node address, e.g. 0x0102")
    issue.add_argument("--role", required=True, help="node role, e.g. gateway, handheld")
    issue.add_argument("--callsign", default="", help="shown in place of the address")
    issue.add_argument("--team", type=int, help="team number 1..4095")
    issue.add_argument("--days", type=float, default=30.0, help="validity (default 30)")
    issue.add_argument("--out", type=Path, required=True, metavar="BUNDLE_DIR")
    issue.add_argument("--force", action="store_true", help="replace a bundle already there")


def _add_revoke(cmds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rev = _parser(
        cmds, "revoke", _revoke, "revoke certificates of lost or captured devices", REVOKE_EPILOG
    )
    rev.add_argument("mission_dir", type=Path, metavar="MISSION_DIR")
    rev.add_argument(
        "--serial", type=int, action="append", required=True, help="serial to revoke (repeat)"
    )


def _add_list(cmds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listing = _parser(
        cmds,
        "list",
        _list,
        "list every certificate issued in a mission",
        "example:\n  tacmesh keys list cp/valley --json",
    )
    listing.add_argument("mission_dir", type=Path, metavar="MISSION_DIR")


def _add_show(cmds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    show = _parser(
        cmds,
        "show",
        _show,
        "check a node's bundle and say what it holds",
        "example:\n  tacmesh keys show /etc/tacmesh/keys\n\n"
        "Exit status 1 if the node's own certificate is expired, not yet valid or revoked.",
    )
    show.add_argument("bundle_dir", type=Path, metavar="BUNDLE_DIR")


def _add_refresh(cmds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    refresh = _parser(
        cmds,
        "refresh",
        _refresh,
        "copy new certificates, the revocation list and any new network key into a bundle",
        "example:\n  tacmesh keys refresh cp/valley /media/usb/bravo-gw",
    )
    refresh.add_argument("mission_dir", type=Path, metavar="MISSION_DIR")
    refresh.add_argument("bundle_dir", type=Path, metavar="BUNDLE_DIR")


def _when(unix_s: float, *, short: bool = False) -> str:
    return datetime.fromtimestamp(unix_s, UTC).strftime(
        "%Y-%m-%d %H:%MZ" if short else "%Y-%m-%d %H:%M UTC"
    )


def _emit(args: argparse.Namespace, doc: dict[str, Any], lines: list[str]) -> None:
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print("\n".join(lines))


def _init(args: argparse.Namespace) -> int:
    name = args.name or args.mission_dir.resolve().name
    info = create_mission(args.mission_dir, name, time.time(), force=args.force)
    doc = {
        "mission_dir": str(info.path),
        "name": info.name,
        "mission_id": format_mission_id(info.mission_id),
        "authority_public": info.authority_public.hex(),
        "epoch": info.epoch,
        "created": info.created,
    }
    _emit(
        args,
        doc,
        [
            f"mission {info.name!r} created in {info.path}",
            f"  mission id  {doc['mission_id']}",
            f"  authority   {doc['authority_public']}",
            f"{info.path / 'authority.key'} is the root of trust: keep this directory at the "
            "command post, offline, and back it up (losing it means re-issuing every node).",
            f"next: tacmesh keys issue {info.path} --address 0x0101 --role handheld --out DIR",
        ],
    )
    return 0


def _issue(args: argparse.Namespace) -> int:
    address = parse_node_address(args.address)
    role = parse_role(args.role)
    now = time.time()
    live = [c for c in list_certificates(args.mission_dir) if _vouches(c, address, now)]
    keys = issue_node(
        args.mission_dir,
        address=address,
        role=role,
        callsign=args.callsign,
        team=args.team,
        days=args.days,
        out=args.out,
        now=now,
        force=args.force,
    )
    cert = keys.own_certificate()
    for old in live:  # two devices answering to one address confuse routing
        print(
            f"warning: {format_node_address(address)} also has certificate "
            f"{old.certificate.serial}; revoke it if that device is lost or retired",
            file=sys.stderr,
        )
    doc = {"bundle": str(args.out), **_cert_doc(cert), "certificates": len(keys.certificates)}
    _emit(
        args,
        doc,
        [
            f"bundle for {_who(cert)} written to {args.out}",
            f"  serial {cert.serial}, valid until {_when(cert.not_after)}, "
            f"{len(keys.certificates)} certificate(s) of the mission included",
            f"copy {args.out} onto the node (e.g. /etc/tacmesh/keys) keeping modes; "
            "identity.key and network.key must stay 0600.",
        ],
    )
    return 0


def _vouches(issued: IssuedCertificate, address: int, now: float) -> bool:
    cert = issued.certificate
    return cert.address == address and not issued.revoked and cert.valid_at(now)


def _cert_doc(cert: Certificate) -> dict[str, Any]:
    return {
        "serial": cert.serial,
        "address": format_node_address(cert.address),
        "role": role_name(cert.role),
        "callsign": cert.callsign,
        "team": cert.team or None,
        "not_before": cert.not_before,
        "not_after": cert.not_after,
    }


def _who(cert: Certificate) -> str:
    name = f" {cert.callsign}" if cert.callsign else ""
    return f"{format_node_address(cert.address)}{name} ({role_name(cert.role)})"


def _revoke(args: argparse.Namespace) -> int:
    info = load_mission(args.mission_dir)
    before = latest_revocation(info)
    data = revoke(args.mission_dir, list(args.serial), time.time())
    authority = Ed25519PublicKey.from_public_bytes(info.authority_public)
    after = decode_revocation(data, authority, info.mission_id)
    held = before.serials if before is not None else frozenset()
    new = sorted(after.serials - held)
    doc = {
        "revocation_number": after.number,
        "revoked": sorted(after.serials),
        "newly_revoked": new,
        "file": str(info.path / "revocations.bin"),
        "epoch": info.epoch,
    }
    _emit(args, doc, _revoke_lines(info.path, after.number, new, info.epoch))
    if args.json:  # the reminder matters even to scripts: keep it on stderr
        print(_KEY_UPDATE_REMINDER.format(epoch=info.epoch), file=sys.stderr)
    return 0


_KEY_UPDATE_REMINDER = (
    "reminder: revocation alone does not cut a device off. It still holds the network key "
    "of epoch {epoch} and can inject frames hop by hop until a key update that excludes it "
    "is sent and the old epoch retired (SPEC.md §7.3.5, §7.7)."
)


def _revoke_lines(mission: Path, number: int, new: list[int], epoch: int) -> list[str]:
    done = f"revoked serial(s) {', '.join(map(str, new))}" if new else "nothing new to revoke"
    return [
        f"{done}; revocation list #{number} written to {mission / 'revocations.bin'}",
        _KEY_UPDATE_REMINDER.format(epoch=epoch),
        "Push the list to nodes: 'tacmesh keys refresh "
        f"{mission} BUNDLE_DIR' for each bundle at hand, or copy revocations.bin into each "
        "node's bundle directory.",
    ]


def _list(args: argparse.Namespace) -> int:
    info = load_mission(args.mission_dir)
    issued = list_certificates(args.mission_dir)
    if args.json:
        rows = [{**_cert_doc(i.certificate), "revoked": i.revoked} for i in issued]
        doc = {"mission_id": format_mission_id(info.mission_id), "certificates": rows}
        print(json.dumps(doc, indent=2))
        return 0
    table = Table(title=f"{info.name} ({format_mission_id(info.mission_id)}), epoch {info.epoch}")
    for column in ("serial", "address", "role", "callsign", "team", "valid until", "revoked"):
        table.add_column(column, justify="right" if column == "serial" else "left", no_wrap=True)
    for i in issued:
        c = i.certificate
        table.add_row(
            str(c.serial),
            format_node_address(c.address),
            role_name(c.role),
            c.callsign or "-",
            str(c.team or "-"),
            _when(c.not_after, short=True),
            "REVOKED" if i.revoked else "",
        )
    Console().print(table)
    print(f"{len(issued)} certificate(s), {sum(i.revoked for i in issued)} revoked")
    return 0


def _show(args: argparse.Namespace) -> int:
    keys = load_bundle(args.bundle_dir)
    now = time.time()
    cert = keys.own_certificate()
    _, unusable = keys.trust_report(now)
    status = _status(keys, cert, now)
    peers = [c for c in keys.certificates if c != keys.certificate]
    doc = {
        **_cert_doc(cert),
        "mission_id": format_mission_id(keys.mission_id),
        "epoch": keys.epoch,
        "status": status,
        "peer_certificates": len(peers),
        "revoked": len(keys.revoked_serials()),
        "unusable": [
            {"serial": u.serial, "reason": u.reason.name.lower(), "detail": u.detail}
            for u in unusable
        ],
    }
    _emit(args, doc, _show_lines(keys, cert, doc))
    return 0 if status == "valid" else 1


def _status(keys: NodeKeys, cert: Certificate, now: float) -> str:
    if cert.serial in keys.revoked_serials():
        return "revoked"
    if now < cert.not_before:
        return "not yet valid"
    return "valid" if cert.valid_at(now) else "expired"


def _show_lines(keys: NodeKeys, cert: Certificate, doc: dict[str, Any]) -> list[str]:
    team = f", team {cert.team}" if cert.team else ""
    lines = [
        f"{_who(cert)}{team}, certificate {cert.serial}: {doc['status'].upper()}",
        f"  mission      {doc['mission_id']}, network key epoch {keys.epoch}",
        f"  valid        {_when(cert.not_before)} .. {_when(cert.not_after)}",
        f"  peers        {doc['peer_certificates']} certificate(s) of other nodes",
        f"  revocations  {doc['revoked']} serial(s) revoked",
    ]
    for u in doc["unusable"]:
        lines.append(f"  not usable   certificate {u['serial']}: {u['reason']} {u['detail']}")
    return lines


def _refresh(args: argparse.Namespace) -> int:
    changed = refresh_bundle(args.mission_dir, args.bundle_dir)
    _emit(
        args,
        {"bundle": str(args.bundle_dir), "changed": changed},
        [f"{changed} file(s) updated in {args.bundle_dir}"],
    )
    return 0
