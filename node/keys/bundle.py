"""A node's key bundle: the directory the command post writes and the node daemon loads.

Loading checks everything that can be checked offline (files present, modes, hex, lengths,
the certificate's signature and that it binds this bundle's keys and address), so that a
node with a broken bundle refuses to start with one line saying which file and what to
do, instead of failing later on the air. Peer certificates are checked when a trust
store is built for a given ``now``; unusable ones are skipped and reported, never fatal.
The layout is documented for operators in README.md next to this file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tacmesh.node.keys.files import (
    KeyFileError,
    hex_lines,
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
    format_mission_id,
    format_node_address,
    parse_mission_id,
    parse_node_address,
    parse_role,
    role_name,
)
from tacmesh.node.keys.tomlfile import Fields, Value, dump_toml
from tacmesh.protocol.addresses import Role
from tacmesh.protocol.crypto.certificates import (
    Certificate,
    decode_certificate,
    decode_revocation,
    parse_pb,
)
from tacmesh.protocol.crypto.identity import NodeIdentity
from tacmesh.protocol.crypto.keys import NetworkKeyring
from tacmesh.protocol.crypto.suite import NETWORK_KEY_LEN, PUBLIC_KEY_LEN, mission_id_of
from tacmesh.protocol.crypto.trust import TrustStore
from tacmesh.protocol.errors import FrameError, Reject
from tacmesh.protocol.pb import security_pb2 as pb

log = logging.getLogger(__name__)

IDENTITY_FILE = "identity.key"
CERT_FILE = "node.cert"
INFO_FILE = "mission.toml"
NETWORK_FILE = "network.key"
CERTS_DIR = "certs"
REVOCATION_FILE = "revocations.bin"
BUNDLE_NAMES = (IDENTITY_FILE, CERT_FILE, INFO_FILE, NETWORK_FILE, CERTS_DIR, REVOCATION_FILE)

FIX = (
    "issue a new bundle at the command post "
    "('tacmesh keys issue MISSION_DIR ... --out DIR --force') and copy it onto the node"
)


@dataclass(frozen=True)
class UnusableCertificate:
    """A certificate of the bundle that does not vouch for anyone at ``now``."""

    serial: int | None
    """Its serial, when the bytes parse at all."""
    reason: Reject
    """EXPIRED, REVOKED, or why it failed to verify (MALFORMED_BODY, BAD_SIGNATURE...)."""
    detail: str


@dataclass(frozen=True)
class NodeKeys:
    """Everything a node needs to speak in its mission, as loaded from its bundle."""

    address: int
    role: Role
    callsign: str
    team: int | None
    mission_id: int
    authority_public: bytes
    identity: NodeIdentity
    certificate: bytes
    """This node's own certificate (``Signed`` bytes), for its CERTIFICATE frames."""
    keyring: NetworkKeyring
    """Holds the bundle's epoch; the daemon owns it from here (key updates install into it)."""
    certificates: tuple[bytes, ...]
    """Every certificate of the bundle, this node's included, as issued."""
    revocation: bytes | None

    @property
    def epoch(self) -> int:
        return self.keyring.current

    def own_certificate(self) -> Certificate:
        """The decoded certificate (verified when the bundle was loaded)."""
        return decode_certificate(self.certificate, self._authority(), self.mission_id)

    def revoked_serials(self) -> frozenset[int]:
        if self.revocation is None:
            return frozenset()
        return decode_revocation(self.revocation, self._authority(), self.mission_id).serials

    def trust(self, now: float) -> TrustStore:
        """A trust store for ``now``; each unusable certificate is logged (see trust_report)."""
        store, unusable = self.trust_report(now)
        for cert in unusable:
            log.warning(
                "certificate %s not usable: %s %s",
                "?" if cert.serial is None else cert.serial,
                cert.reason.name.lower(),
                cert.detail,
            )
        return store

    def trust_report(self, now: float) -> tuple[TrustStore, tuple[UnusableCertificate, ...]]:
        """The authority's key, every certificate that verifies, then the revocation list.

        Certificates are added before the list is applied so that revoked ones stay held:
        their holder's messages are then rejected as REVOKED, and no older certificate
        for the same address can take their place (see TrustStore.apply_revocation)."""
        store = TrustStore(self.authority_public)
        unusable: list[UnusableCertificate] = []
        held: list[bytes] = []
        for data in self.certificates:
            try:
                store.add_certificate(data, now)
                held.append(data)
            except FrameError as err:
                unusable.append(UnusableCertificate(_peek_serial(data), err.reason, err.detail))
        if self.revocation is not None:
            store.apply_revocation(self.revocation)
            for data in held:
                serial = _peek_serial(data)
                if serial in store.revoked:
                    detail = f"by revocation list #{store.revocation_number}"
                    unusable.append(UnusableCertificate(serial, Reject.REVOKED, detail))
        return store, tuple(unusable)

    def _authority(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(self.authority_public)


def _peek_serial(data: bytes) -> int | None:
    """The serial a certificate claims, unverified: for reports only."""
    try:
        signed = parse_pb(pb.Signed, data, "certificate")
        return parse_pb(pb.CertificateBody, signed.body, "certificate").serial
    except FrameError:
        return None


def load_bundle(path: str | Path) -> NodeKeys:
    """Load and check a bundle; every problem is a KeyFileError naming the file and fix."""
    return _load(Path(path), check_modes=True)


def inspect_bundle(path: str | Path) -> NodeKeys:
    """Load a bundle that is not in use on a node (a stick at the command post), checking
    everything but the secret files' modes, which FAT/exFAT sticks cannot hold. A node
    loads its keys with :func:`load_bundle`, never this."""
    return _load(Path(path), check_modes=False)


def _load(root: Path, *, check_modes: bool) -> NodeKeys:
    if not root.is_dir():
        raise KeyFileError(root, "is not a bundle directory (it does not exist)", FIX)
    info = Fields(root / INFO_FILE, FIX)
    authority_public = parse_hex(
        info.path, info.text("authority_public"), PUBLIC_KEY_LEN, "authority_public", FIX
    )
    mission_id = _mission_id(info, authority_public)
    sign_seed, dh_seed = read_secret_hex(
        root / IDENTITY_FILE, ("sign seed", "dh seed"), FIX, check_mode=check_modes
    )
    (network_key,) = read_secret_hex(
        root / NETWORK_FILE, ("network key",), FIX, check_mode=check_modes
    )
    certificate = read_bytes(root / CERT_FILE, FIX)
    peers = tuple(read_cert_files(root / CERTS_DIR, FIX).values())
    keys = NodeKeys(
        address=_field(info, "address", parse_node_address),
        role=_field(info, "role", parse_role),
        callsign=info.optional_text("callsign"),
        team=info.optional_integer("team", minimum=1),
        mission_id=mission_id,
        authority_public=authority_public,
        identity=NodeIdentity.from_seeds(sign_seed, dh_seed),
        certificate=certificate,
        keyring=NetworkKeyring(mission_id, network_key, info.integer("epoch")),
        certificates=peers if certificate in peers else (*peers, certificate),
        revocation=_read_revocation(root / REVOCATION_FILE, authority_public, mission_id),
    )
    _check_own_certificate(root / CERT_FILE, keys)
    return keys


_T = TypeVar("_T")


def _field(info: Fields, key: str, parse: Callable[[str], _T]) -> _T:
    try:
        return parse(info.text(key))
    except ValueError as exc:
        raise info.error(key, f"is wrong: {exc}") from None


def _mission_id(info: Fields, authority_public: bytes) -> int:
    stated = _field(info, "mission_id", parse_mission_id)
    derived = mission_id_of(authority_public)
    if stated != derived:
        raise info.error(
            "mission_id",
            f"is {format_mission_id(stated)} but authority_public gives "
            f"{format_mission_id(derived)} (one of them was edited)",
        )
    return stated


def _read_revocation(path: Path, authority_public: bytes, mission_id: int) -> bytes | None:
    """The list, verified: a corrupt list silently ignored would trust revoked devices."""
    if not path.exists():
        return None
    data = read_bytes(path, FIX)
    authority = Ed25519PublicKey.from_public_bytes(authority_public)
    try:
        decode_revocation(data, authority, mission_id)
    except FrameError as err:
        raise KeyFileError(
            path,
            f"is not a valid revocation list of this mission ({err})",
            "copy it from the command post again ('tacmesh keys refresh MISSION_DIR DIR')",
        ) from None
    return data


def _check_own_certificate(path: Path, keys: NodeKeys) -> None:
    authority = Ed25519PublicKey.from_public_bytes(keys.authority_public)
    try:
        cert = decode_certificate(keys.certificate, authority, keys.mission_id)
    except FrameError as err:
        raise KeyFileError(path, _certificate_problem(err), FIX) from None
    if (cert.sign_key, cert.dh_key) != (keys.identity.sign_public, keys.identity.dh_public):
        raise KeyFileError(
            path,
            f"certifies other keys than those in {IDENTITY_FILE} (files from two bundles?)",
            FIX,
        )
    certified = (cert.address, cert.role, cert.callsign, cert.team or None)
    stated = (keys.address, keys.role, keys.callsign, keys.team)
    if certified != stated:  # the signed certificate is right: mission.toml was edited
        raise KeyFileError(
            path.with_name(INFO_FILE),
            f"says {_describe(*stated)} but {CERT_FILE} certifies {_describe(*certified)}",
            FIX,
        )


def _certificate_problem(err: FrameError) -> str:
    if err.reason is Reject.WRONG_MISSION:
        return f"was issued by another mission authority ({err.detail})"
    if err.reason is Reject.BAD_SIGNATURE:
        return (
            "does not verify against authority_public in mission.toml "
            "(altered, or signed by another authority)"
        )
    return f"is not a valid certificate ({err})"


def _describe(address: int, role: Role, callsign: str, team: int | None) -> str:
    team_text = "no team" if team is None else f"team {team}"
    return f"{format_node_address(address)} {role_name(role)} {callsign!r} {team_text}"


def write_bundle(
    out: Path,
    keys: NodeKeys,
    *,
    network_key: bytes,
    cert_files: Mapping[str, bytes],
    mission_name: str,
    force: bool,
) -> None:
    """Write the bundle of ``keys`` into ``out``; ``cert_files`` are the mission's certs/."""
    refuse_overwrite(
        out,
        BUNDLE_NAMES,
        what="a key bundle",
        fix="give another --out directory, or add --force to replace it",
        force=force,
    )
    make_private_dir(out)
    certs = out / CERTS_DIR
    certs.mkdir(exist_ok=True)
    remove_matching(certs, "*.cert")  # a forced rewrite must not keep another mission's certs
    for name, data in cert_files.items():
        write_file(certs / name, data, secret=False)
    write_revocation(out, keys.revocation)
    seeds = (seed_of(keys.identity.sign_key), seed_of(keys.identity.dh_key))
    write_text(out / IDENTITY_FILE, hex_lines(*seeds), secret=True)
    write_network_key(out, keys, mission_name, keys.epoch, network_key)
    write_file(out / CERT_FILE, keys.certificate, secret=False)


def write_revocation(out: Path, revocation: bytes | None) -> None:
    if revocation is None:
        (out / REVOCATION_FILE).unlink(missing_ok=True)
    else:
        write_file(out / REVOCATION_FILE, revocation, secret=False)


def write_network_key(
    out: Path, keys: NodeKeys, mission_name: str, epoch: int, network_key: bytes
) -> None:
    """network.key, then the epoch in mission.toml. A crash between the two leaves a
    mismatch that the next 'tacmesh keys refresh' repairs (it compares epochs)."""
    if len(network_key) != NETWORK_KEY_LEN:
        raise ValueError("a network key is 32 bytes")
    write_text(out / NETWORK_FILE, hex_lines(network_key), secret=True)
    values: dict[str, Value | None] = {
        "name": mission_name,
        "mission_id": format_mission_id(keys.mission_id),
        "authority_public": keys.authority_public.hex(),
        "epoch": epoch,
        "address": format_node_address(keys.address),
        "role": role_name(keys.role),
        "callsign": keys.callsign,
        "team": keys.team,
    }
    header = "tacmesh node bundle, written by 'tacmesh keys'. Layout: node/keys/README.md"
    write_text(out / INFO_FILE, dump_toml(values, header), secret=False)
