"""Mission directories and node bundles on disk (node/keys/README.md, SPEC.md §7.2-§7.7):
bundles that two nodes load speak to each other, revocation reaches refreshed nodes, and
every broken or exposed file is refused with its name."""

from __future__ import annotations

import logging
import math
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
from tacmesh.node.keys.mission import _write_info
from tacmesh.protocol.addresses import UNICAST_FIRST, UNICAST_LAST, Role
from tacmesh.protocol.codec import WireCodec
from tacmesh.protocol.crypto.certificates import ROLE_PERMISSIONS
from tacmesh.protocol.errors import FrameError, Reject
from tacmesh.protocol.frame_types import DEFAULT_PRIORITY, FrameType
from tacmesh.protocol.header import Header
from tacmesh.protocol.pb import messages_pb2

NOW = 1_700_000_000
DAY = 86_400
GATEWAY, HANDHELD, MEDIC = 0x0102, 0x0103, 0x0104
SOS = messages_pb2.Sos(sos_id=3, kind=messages_pb2.SOS_MAN_DOWN)


@pytest.fixture
def mission(tmp_path: Path) -> Path:
    path = tmp_path / "valley"
    create_mission(path, "Valley flood", NOW)
    return path


def issue(
    mission: Path,
    address: int,
    out: Path,
    role: Role = Role.HANDHELD,
    *,
    callsign: str = "",
    team: int | None = None,
    days: float = 30.0,
    force: bool = False,
) -> NodeKeys:
    return issue_node(
        mission,
        address=address,
        role=role,
        callsign=callsign,
        team=team,
        days=days,
        out=out,
        now=NOW,
        force=force,
    )


def codec(keys: NodeKeys, now: float = NOW) -> WireCodec:
    return WireCodec(keys.address, keys.identity, keys.trust(now), keys.keyring)


def sos_frame(sender: NodeKeys, to: int, counter: int = 1) -> bytes:
    header = Header(
        FrameType.SOS, DEFAULT_PRIORITY[FrameType.SOS], 8, 0, sender.address, counter, to, to
    )
    return codec(sender).encode(header, SOS, tag_len=8)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- round trips -------------------------------------------------------------------------


def test_two_loaded_bundles_exchange_a_signed_sos(mission: Path, tmp_path: Path) -> None:
    issue(mission, GATEWAY, tmp_path / "gw", Role.GATEWAY, callsign="BRAVO-GW", team=3)
    issue(mission, HANDHELD, tmp_path / "hh", callsign="BRAVO-1", team=3)
    gateway, handheld = load_bundle(tmp_path / "gw"), load_bundle(tmp_path / "hh")

    got = codec(handheld).receive(sos_frame(gateway, HANDHELD), tag_len=8, now=NOW)
    assert got.body == SOS
    assert got.signed_by is not None
    assert (got.signed_by.address, got.signed_by.callsign) == (GATEWAY, "BRAVO-GW")
    assert got.signed_by.permissions == ROLE_PERMISSIONS[Role.GATEWAY]


def test_an_earlier_bundle_learns_later_nodes_by_refresh(mission: Path, tmp_path: Path) -> None:
    issue(mission, GATEWAY, tmp_path / "gw", Role.GATEWAY)
    issue(mission, HANDHELD, tmp_path / "hh")
    frame = sos_frame(load_bundle(tmp_path / "hh"), GATEWAY)

    with pytest.raises(FrameError) as err:  # the gateway's bundle predates the handheld
        codec(load_bundle(tmp_path / "gw")).receive(frame, tag_len=8, now=NOW)
    assert err.value.reason is Reject.UNKNOWN_SENDER

    assert refresh_bundle(mission, tmp_path / "gw") == 1
    got = codec(load_bundle(tmp_path / "gw")).receive(frame, tag_len=8, now=NOW)
    assert got.signed_by is not None and got.signed_by.address == HANDHELD
    assert refresh_bundle(mission, tmp_path / "gw") == 0  # nothing left to copy


def test_revoked_sender_is_rejected_by_a_refreshed_node(mission: Path, tmp_path: Path) -> None:
    lost = issue(mission, HANDHELD, tmp_path / "lost")
    issue(mission, GATEWAY, tmp_path / "gw", Role.GATEWAY)
    serial = lost.own_certificate().serial
    frame = sos_frame(load_bundle(tmp_path / "lost"), GATEWAY)
    assert codec(load_bundle(tmp_path / "gw")).receive(frame, tag_len=8, now=NOW).body == SOS

    revoke(mission, [serial], NOW + 60)
    assert refresh_bundle(mission, tmp_path / "gw") == 1  # revocations.bin
    gateway = load_bundle(tmp_path / "gw")
    with pytest.raises(FrameError) as err:
        codec(gateway).receive(sos_frame(lost, GATEWAY, counter=2), tag_len=8, now=NOW + 60)
    assert err.value.reason is Reject.REVOKED
    assert gateway.revoked_serials() == {serial}
    assert [c.revoked for c in list_certificates(mission)] == [True, False]


@given(
    address=st.integers(UNICAST_FIRST, UNICAST_LAST),
    role=st.sampled_from(Role),
    # letters, digits, punctuation (quotes, backslashes), symbols (emoji), spaces: the
    # characters TOML must quote; Python's isprintable() rejects the other space kinds
    callsign=st.text(st.characters(categories=["L", "N", "P", "S"]) | st.just(" "), max_size=32),
    team=st.none() | st.integers(1, 4095),
)
def test_any_node_round_trips_through_its_bundle(
    shared_mission: Path, address: int, role: Role, callsign: str, team: int | None
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bundle"
        issued = issue(shared_mission, address, out, role, callsign=callsign, team=team)
        loaded = load_bundle(out)
    assert (loaded.address, loaded.role, loaded.callsign, loaded.team) == (
        address,
        role,
        callsign,
        team,
    )
    assert loaded.certificate == issued.certificate
    assert loaded.identity.sign_public == issued.identity.sign_public
    assert loaded.identity.dh_public == issued.identity.dh_public
    assert loaded.keyring.hop_key(0) == issued.keyring.hop_key(0)
    cert = loaded.own_certificate()
    assert (cert.address, cert.role, cert.callsign, cert.team) == (
        address,
        role,
        callsign,
        team or 0,
    )


@pytest.fixture(scope="module")
def shared_mission() -> Iterator[Path]:
    """One mission for every hypothesis example (a function-scoped tmp_path is not reset
    between examples); each example writes its bundle to a fresh directory."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m"
        create_mission(path, "shared", NOW)
        yield path


# --- files and modes ---------------------------------------------------------------------


def test_secret_files_are_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)  # the most permissive umask: modes must come from the code
    try:
        create_mission(tmp_path / "m", "m", NOW)
        issue(tmp_path / "m", GATEWAY, tmp_path / "b")
    finally:
        os.umask(old)
    for secret in ("m/authority.key", "m/network-0.key", "b/identity.key", "b/network.key"):
        assert mode(tmp_path / secret) == 0o600, secret
    assert mode(tmp_path / "b") == 0o700
    assert mode(tmp_path / "b/node.cert") == 0o644


def test_force_replaces_a_loose_secret_with_a_0600_one(mission: Path, tmp_path: Path) -> None:
    out = tmp_path / "b"
    issue(mission, GATEWAY, out)
    (out / "identity.key").chmod(0o644)
    issue(mission, GATEWAY, out, force=True)
    assert mode(out / "identity.key") == 0o600


def test_bundle_layout_matches_the_readme(mission: Path, tmp_path: Path) -> None:
    issue(mission, GATEWAY, tmp_path / "gw", Role.GATEWAY, callsign="BRAVO-GW", team=3)
    keys = issue(mission, HANDHELD, tmp_path / "hh")
    names = sorted(p.relative_to(tmp_path / "hh").as_posix() for p in (tmp_path / "hh").rglob("*"))
    assert names == [
        "certs",
        "certs/0102-1.cert",
        "certs/0103-2.cert",
        "identity.key",
        "mission.toml",
        "network.key",
        "node.cert",
    ]
    assert (tmp_path / "hh/certs/0103-2.cert").read_bytes() == keys.certificate
    assert (mission / "certs/0103-2.cert").read_bytes() == keys.certificate
    text = (tmp_path / "hh/mission.toml").read_text()
    assert 'address = "0x0103"' in text and 'role = "handheld"' in text and "team" not in text
    assert len((tmp_path / "hh/identity.key").read_text().split()) == 2
    info = load_mission(mission)
    assert info.next_serial == 3
    assert f'mission_id = "0x{info.mission_id:08x}"' in (mission / "mission.toml").read_text()


# --- refusing broken bundles -------------------------------------------------------------


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01  # inside the signature
    path.write_bytes(bytes(data))


def _write_secret(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o600)


BREAKAGES = {
    "tampered certificate": ("node.cert", _flip_last_byte, "does not verify"),
    "bad hex": (
        "identity.key",
        lambda p: _write_secret(p, "zz" * 32 + "\n" + "00" * 32 + "\n"),
        "sign seed is not hex",
    ),
    "short key": (
        "network.key",
        lambda p: _write_secret(p, "00" * 31 + "\n"),
        "network key is 31 bytes, not 32",
    ),
    "one line missing": (
        "identity.key",
        lambda p: _write_secret(p, "00" * 32 + "\n"),
        "has 1 line(s)",
    ),
    "loose permissions": ("identity.key", lambda p: p.chmod(0o644), "chmod 600"),
    "group-readable network key": ("network.key", lambda p: p.chmod(0o640), "chmod 600"),
    "missing file": ("network.key", Path.unlink, "missing"),
    "edited mission id": (
        "mission.toml",
        lambda p: p.write_text(p.read_text().replace('mission_id = "0x', 'mission_id = "0x1')),
        "mission_id is wrong",
    ),
    "edited address": (
        "mission.toml",
        lambda p: p.write_text(p.read_text().replace('"0x0102"', '"0x0105"')),
        "says 0x0105 handheld '' no team but node.cert certifies 0x0102",
    ),
    "damaged revocation list": (
        "revocations.bin",
        lambda p: p.write_bytes(b"\x0a\x03abc"),
        "not a valid revocation list",
    ),
}


@pytest.mark.parametrize("breakage", BREAKAGES, ids=str)
def test_broken_bundle_is_refused_naming_the_file(
    mission: Path, tmp_path: Path, breakage: str
) -> None:
    out = tmp_path / "b"
    issue(mission, GATEWAY, out)
    name, damage, words = BREAKAGES[breakage]
    damage(out / name)
    with pytest.raises(KeyFileError) as err:
        load_bundle(out)
    assert err.value.path == out / name
    assert name in str(err.value) and words in str(err.value)


def test_certificate_of_another_authority_is_refused(mission: Path, tmp_path: Path) -> None:
    create_mission(tmp_path / "other", "other", NOW)
    issue(mission, GATEWAY, tmp_path / "ours")
    issue(tmp_path / "other", GATEWAY, tmp_path / "theirs")
    (tmp_path / "ours/node.cert").write_bytes((tmp_path / "theirs/node.cert").read_bytes())
    with pytest.raises(KeyFileError, match="another mission authority") as err:
        load_bundle(tmp_path / "ours")
    assert err.value.path.name == "node.cert"


def test_certificate_of_another_node_is_refused(mission: Path, tmp_path: Path) -> None:
    issue(mission, GATEWAY, tmp_path / "a")
    issue(mission, GATEWAY, tmp_path / "b")  # same address, a new device: other keys
    (tmp_path / "a/node.cert").write_bytes((tmp_path / "b/node.cert").read_bytes())
    with pytest.raises(KeyFileError, match=r"other keys than those in identity\.key"):
        load_bundle(tmp_path / "a")


def test_missing_bundle_directory_says_so(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="does not exist") as err:
        load_bundle(tmp_path / "nowhere")
    assert "tacmesh keys issue" in str(err.value)


# --- peers that are not usable -----------------------------------------------------------


def test_trust_skips_and_reports_unusable_peers(
    mission: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    issue(mission, MEDIC, tmp_path / "short", Role.MEDIC, days=1)
    issue(mission, HANDHELD, tmp_path / "lost")
    issue(mission, GATEWAY, tmp_path / "gw", Role.GATEWAY, days=30)
    revoke(mission, [2], NOW)
    refresh_bundle(mission, tmp_path / "gw")
    (tmp_path / "gw/certs/0999-9.cert").write_bytes(b"not a certificate")
    keys = load_bundle(tmp_path / "gw")

    store, unusable = keys.trust_report(NOW + 2 * DAY)
    reasons = sorted((u.serial, u.reason) for u in unusable if u.serial is not None)
    assert reasons == [(1, Reject.EXPIRED), (2, Reject.REVOKED)]
    assert [u.reason for u in unusable if u.serial is None] == [Reject.MALFORMED_BODY]
    assert store.sender(GATEWAY, NOW + 2 * DAY).serial == 3
    with pytest.raises(FrameError) as err:  # kept, so its holder is told apart from a stranger
        store.sender(HANDHELD, NOW + 2 * DAY)
    assert err.value.reason is Reject.REVOKED

    with caplog.at_level(logging.WARNING, logger="tacmesh.node.keys.bundle"):
        keys.trust(NOW + 2 * DAY)
    assert len(caplog.records) == 3


# --- --force, serials, revocation --------------------------------------------------------


def test_existing_bundle_needs_force(mission: Path, tmp_path: Path) -> None:
    out = tmp_path / "b"
    first = issue(mission, GATEWAY, out)
    with pytest.raises(KeyFileError, match="already holds a key bundle") as err:
        issue(mission, HANDHELD, out)
    assert "--force" in str(err.value)
    assert load_mission(mission).next_serial == 2  # the refused issue spent no serial
    assert load_bundle(out).certificate == first.certificate

    (out / "certs/ffff-99.cert").write_bytes(b"left over from another mission")
    second = issue(mission, HANDHELD, out, force=True)
    loaded = load_bundle(out)
    assert loaded.certificate == second.certificate != first.certificate
    assert loaded.address == HANDHELD
    assert not (out / "certs/ffff-99.cert").exists()


def test_existing_mission_needs_force(mission: Path, tmp_path: Path) -> None:
    before = load_mission(mission)
    issue(mission, GATEWAY, tmp_path / "b")
    revoke(mission, [1], NOW)
    with pytest.raises(KeyFileError, match="already holds a mission"):
        create_mission(mission, "again", NOW)
    assert load_mission(mission) == replace(before, next_serial=2)

    after = create_mission(mission, "again", NOW, force=True)
    assert after.mission_id != before.mission_id
    assert list_certificates(mission) == []
    assert not (mission / "revocations.bin").exists()


def test_serials_are_never_reused_after_a_restored_mission_toml(
    mission: Path, tmp_path: Path
) -> None:
    issue(mission, GATEWAY, tmp_path / "a")
    issue(mission, HANDHELD, tmp_path / "b")
    _write_info(replace(load_mission(mission), next_serial=1))  # an old backup
    keys = issue(mission, MEDIC, tmp_path / "c", Role.MEDIC)
    assert keys.own_certificate().serial == 3
    assert [c.certificate.serial for c in list_certificates(mission)] == [1, 2, 3]


def test_revocation_lists_are_cumulative_and_numbered(mission: Path, tmp_path: Path) -> None:
    for n, address in enumerate((GATEWAY, HANDHELD, MEDIC)):
        issue(mission, address, tmp_path / str(n))
    first = revoke(mission, [1], NOW)
    second = revoke(mission, [3], NOW + 1)
    assert revoke(mission, [1, 3], NOW + 2) == second  # nothing new: the same list
    keys = load_bundle(tmp_path / "1")
    store = keys.trust(NOW)
    assert store.apply_revocation(first).number == 1
    assert store.apply_revocation(second).number == 2
    assert store.revoked == {1, 3}
    with pytest.raises(ValueError, match="never issued"):
        revoke(mission, [42], NOW)
    with pytest.raises(ValueError, match="at least one"):
        revoke(mission, [], NOW)


BAD_REQUESTS: dict[str, tuple[Callable[[Path, Path], object], str]] = {
    "all hands": (lambda m, out: issue(m, 0xFFFF, out), "not a node address"),
    "unspecified": (lambda m, out: issue(m, 0x0000, out), "not a node address"),
    "team 0": (lambda m, out: issue(m, GATEWAY, out, team=0), "number teams from 1"),
    "team 4096": (lambda m, out: issue(m, GATEWAY, out, team=4096), "outside 1..4095"),
    "long callsign": (lambda m, out: issue(m, GATEWAY, out, callsign="X" * 33), "at most 32"),
    "newline": (lambda m, out: issue(m, GATEWAY, out, callsign="A\nB"), "printable"),
    "no days": (lambda m, out: issue(m, GATEWAY, out, days=0.0), "positive number of days"),
    "nan days": (lambda m, out: issue(m, GATEWAY, out, days=math.nan), "positive number"),
}


@pytest.mark.parametrize("case", BAD_REQUESTS, ids=str)
def test_bad_requests_spend_nothing(mission: Path, tmp_path: Path, case: str) -> None:
    request, words = BAD_REQUESTS[case]
    with pytest.raises(ValueError, match=words):
        request(mission, tmp_path / "b")
    assert load_mission(mission).next_serial == 1
    assert not (tmp_path / "b").exists()


# --- refresh -----------------------------------------------------------------------------


def test_refresh_works_on_a_stick_without_unix_modes(mission: Path, tmp_path: Path) -> None:
    """FAT/exFAT sticks show every file as 0644 or 0755: refresh at the command post must
    still work there, while the node itself refuses such files (tested above)."""
    out = tmp_path / "stick"
    issue(mission, GATEWAY, out)
    issue(mission, HANDHELD, tmp_path / "other")
    for secret in ("identity.key", "network.key"):
        (out / secret).chmod(0o755)
    assert refresh_bundle(mission, out) == 1
    assert (out / "certs/0103-2.cert").exists()
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_bundle(out)


def test_refresh_refuses_a_revoked_device(mission: Path, tmp_path: Path) -> None:
    issue(mission, HANDHELD, tmp_path / "lost")
    revoke(mission, [1], NOW)
    with pytest.raises(KeyFileError, match="revoked"):
        refresh_bundle(mission, tmp_path / "lost")
    assert not (tmp_path / "lost/revocations.bin").exists()


def test_refresh_refuses_a_bundle_of_another_mission(mission: Path, tmp_path: Path) -> None:
    create_mission(tmp_path / "other", "other", NOW)
    issue(tmp_path / "other", GATEWAY, tmp_path / "b")
    with pytest.raises(KeyFileError, match="belongs to mission"):
        refresh_bundle(mission, tmp_path / "b")


def test_refresh_carries_a_new_epoch_to_nodes(mission: Path, tmp_path: Path) -> None:
    issue(mission, GATEWAY, tmp_path / "old", Role.GATEWAY)
    # Another tool (a key update at the command post) moved the mission to epoch 1.
    (mission / "network-1.key").write_text("11" * 32 + "\n")
    (mission / "network-1.key").chmod(0o600)
    _write_info(replace(load_mission(mission), epoch=1))
    issue(mission, HANDHELD, tmp_path / "new")

    assert refresh_bundle(mission, tmp_path / "old") == 3  # new cert, network.key, mission.toml
    old, new = load_bundle(tmp_path / "old"), load_bundle(tmp_path / "new")
    assert old.epoch == new.epoch == 1
    assert mode(tmp_path / "old/network.key") == 0o600
    got = codec(old).receive(sos_frame(new, GATEWAY), tag_len=8, now=NOW)
    assert got.header.key_phase == 1 and got.body == SOS
