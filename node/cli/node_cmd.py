"""``tacmesh node run|check`` and the field commands that talk to a running node:
``tacmesh status``, ``neighbors``, ``routes``, ``queues``, ``send``, ``sos``.

The field commands are thin clients of the local API (node/api/PROTOCOL.md): a table for
people by default, ``--json`` for scripts, and an error that says what to do when the
node cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any, Literal

from rich.console import Console
from rich.table import Table

from tacmesh.node.api.client import DEFAULT_SOCKET, ApiClientError, NodeClient

_SOCKET_HELP = f"the node's API socket or host:port (default $TACMESH_SOCKET or {DEFAULT_SOCKET})"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    node = sub.add_parser(
        "node",
        help="run the ground node daemon, or check its configuration",
        description="The ground node daemon: relays every responder's traffic between "
        "its links, keeps messages in custody across power loss, and serves local apps.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  tacmesh node check --config examples/node/relay.toml\n"
        "  tacmesh node run --config /etc/tacmesh/node.toml",
    )
    cmds = node.add_subparsers(dest="node_command", metavar="COMMAND", required=True)
    run = cmds.add_parser("run", help="run the daemon until SIGTERM (systemd: Type=notify)")
    check = cmds.add_parser("check", help="read the configuration and keys, report problems")
    for p in (run, check):
        p.add_argument("--config", required=True, help="node.toml (see examples/node/)")
    run.add_argument(
        "--log-level", choices=("debug", "info", "warning", "error"), help="override [log] level"
    )
    run.set_defaults(handler=_run)
    check.add_argument("--json", action="store_true", help="print the result as JSON")
    check.set_defaults(handler=_check)
    _field_commands(sub)


def _field_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name, text in (
        ("status", "this node: address, links, counts"),
        ("neighbors", "neighbours heard on each link and their link quality"),
        ("routes", "where each address block is reached through"),
        ("queues", "frames waiting per interface, and what was shed"),
    ):
        p = sub.add_parser(name, help=text, description=f"Show {text}.")
        _client_args(p)
        p.set_defaults(handler=_query, op=name)
    send = sub.add_parser(
        "send",
        help="send a message (text, position, status, vitals, order, ...)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  tacmesh send text 0x0203 --text 'water at the north gate'\n"
        '  tacmesh send position team:3 --body \'{"lat": 31.2, "lon": 103.5}\'\n'
        '  tacmesh send status 0x0001 --body \'{"state": "INJURED", "battery_pct": 40}\'',
    )
    send.add_argument("type", help="message type: text, position, status, vitals, order, ...")
    send.add_argument("to", help="0x0203, team:3, role:command_post or all")
    send.add_argument("--text", help="the text of a text message")
    send.add_argument("--body", help="the body as JSON (node/api/PROTOCOL.md lists fields)")
    send.add_argument("--priority", help="override the type's priority class")
    _client_args(send)
    send.set_defaults(handler=_send)
    depart = sub.add_parser(
        "depart",
        help="announce that this node leaves soon (routes move away before it goes)",
        epilog="example: tacmesh depart --in 300   # the UAV returns to base in 5 minutes",
    )
    depart.add_argument("--in", dest="in_s", type=float, required=True, metavar="SECONDS")
    _client_args(depart)
    depart.set_defaults(handler=_depart)
    listen = sub.add_parser(
        "listen",
        help="print messages as the node receives them (SOS, positions, orders, ...)",
        epilog="examples:\n  tacmesh listen --types sos,order\n  tacmesh listen --json | jq .",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    listen.add_argument("--types", help="comma-separated message types (default: all)")
    listen.add_argument("--teams", help="comma-separated team numbers of the senders")
    _client_args(listen)
    listen.set_defaults(handler=_listen)
    sos = sub.add_parser(
        "sos",
        help="raise an SOS (signed, highest priority, kept until acknowledged)",
        epilog="example: tacmesh sos --kind trapped --lat 31.2 --lon 103.5 "
        "--note 'two under rubble'",
    )
    sos.add_argument("--to", default="role:command_post", help="default: the command post")
    sos.add_argument(
        "--kind", default="manual", help="manual, man_down, trapped, medical, fire, low_air, hazmat"
    )
    sos.add_argument("--lat", type=float)
    sos.add_argument("--lon", type=float)
    sos.add_argument("--note", default="")
    sos.add_argument("--casualties", type=int, default=0)
    _client_args(sos)
    sos.set_defaults(handler=_sos)


def _client_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--socket", default=os.environ.get("TACMESH_SOCKET", str(DEFAULT_SOCKET)), help=_SOCKET_HELP
    )
    p.add_argument("--json", action="store_true", help="print JSON for scripts")


# -- daemon --------------------------------------------------------------------------


EX_CONFIG = 78
"""sysexits' configuration error: the config, the key bundle or the store cannot be used."""


def _run(args: argparse.Namespace) -> int:
    from tacmesh.node.keys import KeyFileError
    from tacmesh.node.ops.logs import setup_logging
    from tacmesh.node.runtime.service import serve  # the daemon's imports, only when run
    from tacmesh.node.store import StoreError

    settings = _load(args.config)
    if settings is None:
        return EX_CONFIG
    fmt: Literal["text", "json"] = "json" if settings.log_format == "json" else "text"
    setup_logging(args.log_level or settings.log_level, fmt)
    try:
        return asyncio.run(serve(settings, args.log_level))
    except (KeyFileError, StoreError) as exc:  # their messages say what to do
        print(f"tacmesh node: {exc}", file=sys.stderr)
        return EX_CONFIG


def _check(args: argparse.Namespace) -> int:
    settings = _load(args.config)
    if settings is None:
        return 2
    from tacmesh.node.keys import KeyFileError, load_bundle

    try:
        keys = load_bundle(settings.keys)
    except KeyFileError as exc:
        print(f"tacmesh node check: {exc}", file=sys.stderr)
        return 2
    result = {
        "config": str(settings.source),
        "address": f"0x{keys.address:04x}",
        "role": keys.role.name.lower(),
        "links": [s.name for s in settings.links],
        "state": str(settings.state),
        "api_socket": str(settings.api_socket),
    }
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))
    return 0


def _load(path: str) -> Any:
    from tacmesh.node.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return None


# -- field commands --------------------------------------------------------------------


def _query(args: argparse.Namespace) -> int:
    reply = _ask(args, lambda c: c.request(args.op))
    if reply is None:
        return 1
    data = reply[args.op]
    if args.json:
        print(json.dumps(data, indent=2))
    elif isinstance(data, list):
        _table(args.op, data)
    else:
        _status(data)
    return 0


def _send(args: argparse.Namespace) -> int:
    try:
        body = json.loads(args.body) if args.body else {}
    except json.JSONDecodeError as exc:
        print(
            f"tacmesh send: --body is not JSON ({exc}); quote it: --body '{{\"k\": 1}}'",
            file=sys.stderr,
        )
        return 2
    if args.text is not None:
        body["body"] = args.text
    options = {"priority": args.priority} if args.priority else {}
    reply = _ask(
        args, lambda c: c.request("send", type=args.type, to=args.to, body=body, **options)
    )
    return _accepted(args, reply)


def _sos(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {
        "kind": f"SOS_{args.kind.upper()}",
        "note": args.note,
        "casualties": args.casualties,
    }
    if args.lat is not None and args.lon is not None:
        body["position"] = {"lat": args.lat, "lon": args.lon}
    reply = _ask(args, lambda c: c.request("send", type="sos", to=args.to, body=body))
    return _accepted(args, reply)


def _depart(args: argparse.Namespace) -> int:
    reply = _ask(args, lambda c: c.request("depart", in_s=args.in_s))
    if reply is None:
        return 1
    text = f"announced: this node leaves in {args.in_s:g} s; neighbours move their routes now"
    print(json.dumps(reply) if args.json else text)
    return 0


def _listen(args: argparse.Namespace) -> int:
    types = args.types.split(",") if args.types else None
    teams = [int(t) for t in args.teams.split(",")] if args.teams else None
    try:
        with NodeClient(args.socket, timeout_s=None) as client:
            client.subscribe(types, teams)
            for event in client.events():
                print(json.dumps(event) if args.json else _event_line(event), flush=True)
    except ApiClientError as exc:
        print(f"tacmesh listen: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


def _event_line(e: dict[str, Any]) -> str:
    if e.get("event") == "delivered":
        return f"delivered  message {e['msg_id']} reached {e['by']}"
    if e.get("event") == "lost":
        return f"lost       {e['count']} events: {e['fix']}"
    body = json.dumps(e.get("body"), separators=(",", ":"))
    return f"{e.get('type', '?'):<11}{e.get('from')} -> {e.get('to')}  {body}"


def _accepted(args: argparse.Namespace, reply: dict[str, Any] | None) -> int:
    if reply is None:
        return 1
    if args.json:
        print(json.dumps({"msg_id": reply["msg_id"]}))
    else:
        print(f"accepted: message {reply['msg_id']} is stored on the node and on its way")
    return 0


def _ask(args: argparse.Namespace, call: Any) -> dict[str, Any] | None:
    try:
        with NodeClient(args.socket) as client:
            return dict(call(client))
    except ApiClientError as exc:
        print(f"tacmesh {args.command}: {exc}", file=sys.stderr)
        return None


def _table(title: str, rows: list[dict[str, Any]]) -> None:
    console = Console()
    if not rows:
        console.print(f"no {title}")
        return
    table = Table(title=title)
    for key in rows[0]:
        table.add_column(key)
    for row in rows:
        table.add_row(*("-" if v is None else str(v) for v in row.values()))
    console.print(table)


def _status(data: dict[str, Any]) -> None:
    console = Console()
    for key in (
        "address",
        "callsign",
        "role",
        "team",
        "mission_id",
        "uptime_s",
        "neighbors",
        "routes",
        "held_messages",
        "queued_frames",
    ):
        console.print(f"[bold]{key}[/bold]: {data.get(key)}")
    _table("links", [{"link": k, **v} for k, v in data.get("links", {}).items()])
