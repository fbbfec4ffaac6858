"""The mission directory kept at the command post: the authority key, the network key of
each epoch, every certificate issued and the latest revocation list (SPEC.md §7.2, §7.3).

Rules kept here: serials are handed out under a lock on the directory and never reused
(a revocation names serials, so two certificates sharing one would fall together); every
file read from the directory is checked against the authority key, because a bad
certificate here would be copied into every bundle issued after it.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from tacmesh.node.keys.bundle import BUNDLE_NAMES, NodeKeys, write_bundle
from tacmesh.node.keys.files import (
    KeyFileError,
    hex_lines,
    locked,
    make_private_dir,
    parse_hex,
    read_bytes,
    read_cert_files,
    read_secret_hex,
    refuse_overwrite,
    remove_matching,
    seed_of,
    write_file,
    write_text,
)
from tacmesh.node.keys.text import (
    cert_file_name,
    check_callsign,
    check_team,
    format_mission_id,
    parse_mission_id,
)
from tacmesh.node.keys.tomlfile import Fields, Value, dump_toml
from tacmesh.protocol.addresses import Role, is_unicast
from tacmesh.protocol.crypto.certificates import (
    Certificate,
    MissionAuthority,
    Revocation,
    decode_certificate,
    decode_revocation,
)
from tacmesh.protocol.crypto.identity import NodeIdentity, raw_public
from tacmesh.protocol.crypto.keys import NetworkKeyring
from tacmesh.protocol.crypto.suite import NETWORK_KEY_LEN, PUBLIC_KEY_LEN, mission_id_of
from tacmesh.protocol.errors import FrameError

AUTHORITY_FILE = "authority.key"
INFO_FILE = "mission.toml"
CERTS_DIR = "certs"
REVOCATION_FILE = "revocations.bin"
MISSION_NAMES = (AUTHORITY_FILE, INFO_FILE, CERTS_DIR, REVOCATION_FILE)

DAY_S = 86_400
CLOCK_MARGIN_S = 3600
"""Certificates start an hour before issue: field devices' clocks run behind or ahead."""

FIX = "restore the mission directory from its backup"
OUT_FIX = "give another --out directory, or add --force to replace it"


def network_file(epoch: int) -> str:
    return f"network-{epoch}.key"


@dataclass(frozen=True)
class MissionInfo:
    """What mission.toml says, checked against itself."""

    path: Path
    name: str
    mission_id: int
    authority_public: bytes
    created: int
    """Unix seconds."""
    epoch: int
    """The network-key epoch in force; its key is in ``network-<epoch>.key``."""
    next_serial: int


@dataclass(frozen=True)
class IssuedCertificate:
    """One file of ``certs/`` with what it says and whether the latest list revokes it."""

    file: Path
    certificate: Certificate
    revoked: bool


def create_mission(path: str | Path, name: str, now: float, *, force: bool = False) -> MissionInfo:
    """A new authority key, network key of epoch 0 and empty certs/ in ``path``."""
    root = Path(path)
    if not name or not name.isprintable():
        raise ValueError(f"mission name {name!r} must be printable and not empty")
    refuse_overwrite(
        root,
        MISSION_NAMES,
        what="a mission",
        fix="choose another directory, or add --force to replace it (the old authority key "
        "is then lost and every node must get a new bundle)",
        force=force,
    )
    make_private_dir(root)
    (root / CERTS_DIR).mkdir(exist_ok=True)
    # Only with --force is anything there: the old mission's files would not verify.
    remove_matching(root / CERTS_DIR, "*.cert")
    remove_matching(root, "network-*.key")
    (root / REVOCATION_FILE).unlink(missing_ok=True)
    key = Ed25519PrivateKey.generate()
    info = MissionInfo(
        path=root,
        name=name,
        mission_id=mission_id_of(raw_public(key)),
        authority_public=raw_public(key),
        created=int(now),
        epoch=0,
        next_serial=1,
    )
    write_text(root / AUTHORITY_FILE, hex_lines(seed_of(key)), secret=True)
    write_text(root / network_file(0), hex_lines(secrets.token_bytes(NETWORK_KEY_LEN)), secret=True)
    _write_info(info)  # last: a mission.toml means the mission is complete
    return info


def _write_info(info: MissionInfo) -> None:
    values: dict[str, Value | None] = {
        "name": info.name,
        "mission_id": format_mission_id(info.mission_id),
        "authority_public": info.authority_public.hex(),
        "created": info.created,
        "epoch": info.epoch,
        "next_serial": info.next_serial,
    }
    header = (
        "tacmesh mission, kept at the command post. Layout: node/keys/README.md\n"
        "authority.key is the root of trust: keep this directory offline and backed up."
    )
    write_text(info.path / INFO_FILE, dump_toml(values, header), secret=False)


def load_mission(path: str | Path) -> MissionInfo:
    root = _existing(Path(path))
    if not (root / INFO_FILE).exists():
        raise KeyFileError(
            root, "holds no mission (no mission.toml)", "create one with 'tacmesh keys init DIR'"
        )
    fields = Fields(root / INFO_FILE, FIX)
    public = parse_hex(
        fields.path, fields.text("authority_public"), PUBLIC_KEY_LEN, "authority_public", FIX
    )
    try:
        mission_id = parse_mission_id(fields.text("mission_id"))
    except ValueError as exc:
        raise fields.error("mission_id", f"is wrong: {exc}") from None
    if mission_id != mission_id_of(public):
        raise fields.error("mission_id", "does not match authority_public (one was edited)")
    return MissionInfo(
        path=root,
        name=fields.optional_text("name"),
        mission_id=mission_id,
        authority_public=public,
        created=fields.integer("created"),
        epoch=fields.integer("epoch"),
        next_serial=fields.integer("next_serial", minimum=1),
    )


def load_authority(info: MissionInfo) -> MissionAuthority:
    """The signing key, checked against the public key that every node holds."""
    path = info.path / AUTHORITY_FILE
    (seed,) = read_secret_hex(path, ("authority seed",), FIX)
    authority = MissionAuthority(Ed25519PrivateKey.from_private_bytes(seed))
    if authority.public_key != info.authority_public:
        raise KeyFileError(path, "does not match authority_public in mission.toml", FIX)
    return authority


def network_key(info: MissionInfo, epoch: int | None = None) -> bytes:
    """The network key of ``epoch`` (default: the one in force)."""
    path = info.path / network_file(info.epoch if epoch is None else epoch)
    (key,) = read_secret_hex(path, ("network key",), FIX)
    return key


def issued_certificates(info: MissionInfo) -> dict[str, Certificate]:
    """Every file of certs/ by name, each verified against the authority."""
    files = read_cert_files(info.path / CERTS_DIR, FIX)
    return {name: _decode(info, info.path / CERTS_DIR / name, data) for name, data in files.items()}


def _decode(info: MissionInfo, path: Path, data: bytes) -> Certificate:
    authority = Ed25519PublicKey.from_public_bytes(info.authority_public)
    try:
        return decode_certificate(data, authority, info.mission_id)
    except FrameError as err:
        raise KeyFileError(
            path, f"is not a valid certificate of this mission ({err})", f"{FIX}, or remove it"
        ) from None


def list_certificates(path: str | Path) -> list[IssuedCertificate]:
    """Every certificate issued, by serial, each marked if revoked."""
    info = load_mission(path)
    revoked = latest_revocation(info)
    serials = revoked.serials if revoked is not None else frozenset()
    issued = [
        IssuedCertificate(info.path / CERTS_DIR / name, cert, cert.serial in serials)
        for name, cert in issued_certificates(info).items()
    ]
    return sorted(issued, key=lambda c: c.certificate.serial)


def latest_revocation(info: MissionInfo) -> Revocation | None:
    path = info.path / REVOCATION_FILE
    if not path.exists():
        return None
    authority = Ed25519PublicKey.from_public_bytes(info.authority_public)
    try:
        return decode_revocation(read_bytes(path, FIX), authority, info.mission_id)
    except FrameError as err:
        raise KeyFileError(path, f"is not a valid revocation list ({err})", FIX) from None


def issue_node(
    mission_path: str | Path,
    *,
    address: int,
    role: Role,
    callsign: str,
    team: int | None,
    days: float,
    out: str | Path,
    now: float,
    force: bool = False,
) -> NodeKeys:
    """Certify a fresh identity for ``address`` and write its bundle into ``out``.

    The role's default permissions apply (SPEC.md §7.3.3). The certificate is valid from
    an hour before ``now`` for ``days``; its serial is the mission's next."""
    _check_request(address, callsign, team, days)
    out = Path(out)
    refuse_overwrite(  # before a serial is spent on a bundle that cannot be written
        out, BUNDLE_NAMES, what="a key bundle", fix=OUT_FIX, force=force
    )
    root = Path(mission_path)
    identity = NodeIdentity.generate()
    with locked(_existing(root)):
        info = load_mission(root)
        authority = load_authority(info)
        issued = issued_certificates(info)
        # next_serial alone could repeat one if mission.toml was restored from a backup
        serial = max([info.next_serial, *(c.serial + 1 for c in issued.values())])
        certificate = authority.issue(
            serial=serial,
            address=address,
            role=role,
            sign_key=identity.sign_public,
            dh_key=identity.dh_public,
            not_before=int(now) - CLOCK_MARGIN_S,
            not_after=int(now + days * DAY_S),
            callsign=callsign,
            team=team or 0,
        )
        _write_info(replace(info, next_serial=serial + 1))  # first: never hand it out twice
        name = cert_file_name(address, serial)
        write_file(root / CERTS_DIR / name, certificate, secret=False)
        files = {n: c.encoded for n, c in issued.items()} | {name: certificate}
        revocation = latest_revocation(info)
        key = network_key(info)
    keys = NodeKeys(
        address=address,
        role=role,
        callsign=callsign,
        team=team,
        mission_id=info.mission_id,
        authority_public=info.authority_public,
        identity=identity,
        certificate=certificate,
        keyring=NetworkKeyring(info.mission_id, key, info.epoch),
        certificates=tuple(files.values()),
        revocation=None if revocation is None else revocation.encoded,
    )
    write_bundle(out, keys, network_key=key, cert_files=files, mission_name=info.name, force=force)
    return keys


def _check_request(address: int, callsign: str, team: int | None, days: float) -> None:
    if not is_unicast(address):
        raise ValueError(f"0x{address:04x} is not a node address (0x0001..0xdfff)")
    check_team(team)
    check_callsign(callsign)
    if not (math.isfinite(days) and days > 0):
        raise ValueError(f"validity of {days} days: give a positive number of days")


def _existing(root: Path) -> Path:
    if not root.is_dir():
        raise KeyFileError(
            root,
            "does not exist (no mission directory here)",
            "check the path, or create a mission with 'tacmesh keys init DIR'",
        )
    return root


def revoke(mission_path: str | Path, serials: list[int], now: float) -> bytes:
    """Write the new cumulative revocation list and return it (``Signed`` bytes).

    Serials already revoked are accepted; if nothing is new the current list is returned
    unchanged, so a retried command does not bump the list number."""
    if not serials:
        raise ValueError("name at least one serial to revoke")
    root = Path(mission_path)
    with locked(_existing(root)):
        info = load_mission(root)
        authority = load_authority(info)
        issued = {c.certificate.serial for c in list_certificates(root)}
        unknown = sorted(set(serials) - issued)
        if unknown:
            raise ValueError(
                f"serial(s) {', '.join(map(str, unknown))} were never issued in this mission "
                f"(see 'tacmesh keys list {root}')"
            )
        current = latest_revocation(info)
        held = current.serials if current is not None else frozenset()
        if current is not None and set(serials) <= held:
            return current.encoded
        data = authority.revoke(
            number=(current.number if current is not None else 0) + 1,
            issued_at=int(now),
            serials=sorted(held | set(serials)),
        )
        write_file(root / REVOCATION_FILE, data, secret=False)
    return data
