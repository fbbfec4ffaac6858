"""Bring a node's bundle up to date with the mission: new peers' certificates, the latest
revocation list, and the network key if the mission has moved to a new epoch.

The node keeps its identity and certificate; only public files and, for a node still in
good standing, the network key change. A revoked node's bundle is refused: it must never
be handed a newer network key (SPEC.md §7.3.5).
"""

from __future__ import annotations

from pathlib import Path

from tacmesh.node.keys.bundle import (
    CERTS_DIR,
    inspect_bundle,
    write_network_key,
    write_revocation,
)
from tacmesh.node.keys.files import KeyFileError, write_file
from tacmesh.node.keys.mission import (
    issued_certificates,
    latest_revocation,
    load_mission,
    network_key,
)
from tacmesh.node.keys.text import format_mission_id


def refresh_bundle(mission_path: str | Path, bundle_path: str | Path) -> int:
    """Copy what changed from the mission into the bundle; return how many files changed."""
    info = load_mission(mission_path)
    bundle = Path(bundle_path)
    keys = inspect_bundle(bundle)  # often on a FAT stick, where modes cannot be 0600
    if keys.authority_public != info.authority_public:
        raise KeyFileError(
            bundle,
            f"belongs to mission {format_mission_id(keys.mission_id)}, not "
            f"{format_mission_id(info.mission_id)} ({info.name})",
            "refresh it from its own mission directory, or issue a new bundle from this one",
        )
    revocation = latest_revocation(info)
    serial = keys.own_certificate().serial
    if revocation is not None and serial in revocation.serials:
        raise KeyFileError(
            bundle,
            f"holds certificate {serial}, which the mission has revoked",
            "issue the device a new bundle ('tacmesh keys issue ... --force') if it is trusted "
            "again; never refresh a revoked device",
        )
    changed = 0
    certs = bundle / CERTS_DIR
    certs.mkdir(exist_ok=True)
    for name, cert in issued_certificates(info).items():
        target = certs / name
        if not target.is_file() or target.read_bytes() != cert.encoded:
            write_file(target, cert.encoded, secret=False)
            changed += 1
    if revocation is not None and revocation.encoded != keys.revocation:
        write_revocation(bundle, revocation.encoded)
        changed += 1
    if info.epoch != keys.epoch:
        write_network_key(bundle, keys, info.name, info.epoch, network_key(info))
        changed += 2  # network.key and mission.toml
    return changed
