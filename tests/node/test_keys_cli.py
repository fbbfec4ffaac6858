"""``tacmesh keys ...`` as operators and scripts run it: JSON that parses, exit codes, and one
line (no traceback) for every mistake."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tacmesh.node.cli import main


class Run:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *args: str | Path) -> tuple[int, str, str]:
        code = main(["keys", *map(str, args)])
        out = self.capsys.readouterr()
        return code, out.out, out.err

    def json(self, *args: str | Path) -> Any:
        code, out, err = self(*args, "--json")
        assert code == 0, err
        return json.loads(out)


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    return Run(capsys)


@pytest.fixture
def mission(run: Run, tmp_path: Path) -> Path:
    path = tmp_path / "valley"
    doc = run.json("init", path, "--name", "Valley flood")
    assert doc["name"] == "Valley flood" and doc["epoch"] == 0
    assert doc["mission_id"].startswith("0x") and len(doc["mission_id"]) == 10
    return path


def test_issue_list_revoke_show_refresh(run: Run, mission: Path, tmp_path: Path) -> None:
    gw = run.json(
        "issue", mission, "--address", "0x0102", "--role", "gateway",
        "--callsign", "BRAVO-GW", "--team", "3", "--days", "10", "--out", tmp_path / "gw",
    )  # fmt: skip
    assert (gw["serial"], gw["address"], gw["role"], gw["team"]) == (1, "0x0102", "gateway", 3)
    assert gw["not_after"] - gw["not_before"] == 10 * 86_400 + 3600
    hh = run.json(
        "issue", mission, "--address", "0x0103", "--role", "team-leader", "--out", tmp_path / "hh"
    )
    assert (hh["serial"], hh["role"], hh["team"], hh["certificates"]) == (2, "team_leader", None, 2)

    listed = run.json("list", mission)
    assert [(c["serial"], c["callsign"], c["revoked"]) for c in listed["certificates"]] == [
        (1, "BRAVO-GW", False),
        (2, "", False),
    ]

    revoked = run.json("revoke", mission, "--serial", "2")
    assert (revoked["revocation_number"], revoked["newly_revoked"]) == (1, [2])
    assert [c["revoked"] for c in run.json("list", mission)["certificates"]] == [False, True]

    assert run.json("refresh", mission, tmp_path / "gw")["changed"] == 2  # a cert, the list
    shown = run.json("show", tmp_path / "gw")
    assert (shown["address"], shown["status"], shown["peer_certificates"]) == ("0x0102", "valid", 1)
    assert shown["revoked"] == 1
    assert shown["unusable"] == [
        {"serial": 2, "reason": "revoked", "detail": "by revocation list #1"}
    ]


def test_revoke_reminds_of_the_key_update(run: Run, mission: Path, tmp_path: Path) -> None:
    run.json("issue", mission, "--address", "0x0102", "--role", "handheld", "--out", tmp_path / "b")
    code, out, _ = run("revoke", mission, "--serial", "1")
    assert code == 0
    assert "key update" in out and "7.3.5" in out and "tacmesh keys refresh" in out
    code, out, err = run("revoke", mission, "--serial", "1", "--json")
    assert json.loads(out)["newly_revoked"] == [] and "key update" in err


def test_show_fails_the_check_for_a_revoked_node(run: Run, mission: Path, tmp_path: Path) -> None:
    run.json("issue", mission, "--address", "0x0102", "--role", "handheld", "--out", tmp_path / "b")
    run.json("revoke", mission, "--serial", "1")
    code, _, err = run("refresh", mission, tmp_path / "b")
    assert code == 2 and "revoked" in err
    (tmp_path / "b/revocations.bin").write_bytes((mission / "revocations.bin").read_bytes())
    code, out, _ = run("show", tmp_path / "b")
    assert code == 1 and "REVOKED" in out


def test_readable_output_names_the_node(run: Run, mission: Path, tmp_path: Path) -> None:
    run.json(
        "issue", mission, "--address", "0x0102", "--role", "gateway", "--callsign", "BRAVO-GW",
        "--out", tmp_path / "gw",
    )  # fmt: skip
    code, out, _ = run("list", mission)
    assert code == 0 and "BRAVO-GW" in out and "0x0102" in out and "1 certificate(s)" in out
    code, out, _ = run("show", tmp_path / "gw")
    assert code == 0 and "0x0102 BRAVO-GW (gateway)" in out and "VALID" in out


def one_line_error(result: tuple[int, str, str], *words: str) -> None:
    code, out, err = result
    assert code == 2, (out, err)
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in err


@pytest.mark.parametrize(
    ("address", "words"),
    [("0xFFFF", ["not a node address", "0x0001..0xdfff"]), ("0102", ["not hex"]), ("zz", ["hex"])],
)
def test_bad_address_is_one_line(
    run: Run, mission: Path, tmp_path: Path, address: str, words: list[str]
) -> None:
    result = run(
        "issue", mission, "--address", address, "--role", "gateway", "--out", tmp_path / "b"
    )
    one_line_error(result, *words)
    assert not (tmp_path / "b").exists()


def test_unknown_role_lists_the_valid_ones(run: Run, mission: Path, tmp_path: Path) -> None:
    result = run(
        "issue", mission, "--address", "0x0102", "--role", "pilot", "--out", tmp_path / "b"
    )
    one_line_error(result, "unknown role 'pilot'", "handheld", "uav_relay", "medic")


def test_missing_directories_are_one_line(run: Run, tmp_path: Path) -> None:
    one_line_error(run("list", tmp_path / "nowhere"), "does not exist", "tacmesh keys init")
    one_line_error(run("show", tmp_path / "nowhere"), "does not exist", "tacmesh keys issue")
    one_line_error(
        run("issue", tmp_path / "nowhere", "--address", "0x0102", "--role", "handheld",
            "--out", tmp_path / "b"),
        "does not exist",
    )  # fmt: skip


def test_loose_permissions_tell_to_chmod(run: Run, mission: Path, tmp_path: Path) -> None:
    run.json("issue", mission, "--address", "0x0102", "--role", "handheld", "--out", tmp_path / "b")
    (tmp_path / "b/network.key").chmod(0o644)
    one_line_error(run("show", tmp_path / "b"), "network.key", f"chmod 600 {tmp_path / 'b'}")


def test_force_is_needed_to_replace(run: Run, mission: Path, tmp_path: Path) -> None:
    issue = ("issue", mission, "--address", "0x0102", "--role", "handheld", "--out", tmp_path / "b")
    first = run.json(*issue)
    one_line_error(run(*issue), "already holds a key bundle", "--force")
    assert run.json(*issue, "--force")["serial"] == first["serial"] + 1
    one_line_error(run("init", mission), "already holds a mission", "--force")
    assert run.json("init", mission, "--force")["name"] == "valley"  # default: directory name


def test_help_has_examples(run: Run) -> None:
    with pytest.raises(SystemExit):
        main(["keys", "issue", "--help"])
    out = run.capsys.readouterr().out
    assert "examples:" in out and "--address 0x0102" in out and "uav_relay" in out
