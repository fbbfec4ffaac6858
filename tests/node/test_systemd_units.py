"""The unit files in systemd/: systemd's own checker accepts them, and the hardening holds.

``systemd-analyze verify`` checks that ExecStart's binary exists, so each unit is
verified as a copy in tmp_path whose ExecStart points at this environment's ``tacmesh``.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SYSTEMD_DIR = Path(__file__).resolve().parents[2] / "systemd"
UNITS = ("tacmesh-node.service", "tacmesh-gateway.service", "tacmesh-uav-relay.service")
PLACEHOLDERS = ("tacmesh-gateway.service", "tacmesh-uav-relay.service")
INSTALLED_BINARY = "/usr/local/bin/tacmesh"
ANALYZE = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"
needs_analyze = pytest.mark.skipif(
    not Path(ANALYZE).exists(), reason="systemd-analyze is not installed on this host"
)

HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6 AF_NETLINK",
    "CapabilityBoundingSet": "",
    "AmbientCapabilities": "",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "RestrictRealtime": "yes",
    "SystemCallArchitectures": "native",
    "UMask": "0077",
}
LIFECYCLE = {
    "Type": "notify",
    "NotifyAccess": "main",
    "ExecReload": "/bin/kill -HUP $MAINPID",
    "WatchdogSec": "30s",
    "Restart": "on-failure",
    "RestartSec": "2s",
    "StateDirectory": "tacmesh",
    "ConfigurationDirectory": "tacmesh",
    "User": "tacmesh",
    "SupplementaryGroups": "dialout",
}
SERIAL_DEVICES = {"char-ttyACM rw", "char-ttyUSB rw"}


def _tacmesh_script() -> Path:
    found = shutil.which("tacmesh")
    script = Path(found) if found else Path(sys.executable).parent / "tacmesh"
    assert script.exists(), "the tacmesh console script is not installed in this environment"
    return script


def _parse(unit: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(unit, encoding="utf-8")
    return parser


def _values(unit: Path, key: str) -> list[str]:
    """Every value of a key that may repeat (configparser keeps only the last)."""
    prefix = key + "="
    lines = unit.read_text(encoding="utf-8").splitlines()
    return [line[len(prefix) :] for line in lines if line.startswith(prefix)]


def _testable_copy(unit: str, tmp_path: Path, extra: str = "") -> Path:
    text = (SYSTEMD_DIR / unit).read_text(encoding="utf-8")
    assert f"ExecStart={INSTALLED_BINARY} " in text
    copy = tmp_path / unit
    copy.write_text(text.replace(INSTALLED_BINARY, str(_tacmesh_script())) + extra)
    return copy


def _analyze(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SYSTEMD_LOG_COLOR": "0", "SYSTEMD_COLORS": "0", "LC_ALL": "C.UTF-8"}
    return subprocess.run(
        [ANALYZE, *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )


def _complaints_about(unit: Path) -> tuple[int, list[str]]:
    """Exit status and the verify output lines that name our unit (the host's own units
    may draw unrelated warnings)."""
    done = _analyze("verify", str(unit))
    output = (done.stdout + done.stderr).splitlines()
    return done.returncode, [line for line in output if unit.name in line]


@needs_analyze
@pytest.mark.parametrize("unit", UNITS)
def test_systemd_analyze_verify_is_clean(unit: str, tmp_path: Path) -> None:
    code, complaints = _complaints_about(_testable_copy(unit, tmp_path))
    assert complaints == []
    assert code == 0


@needs_analyze
def test_verify_filter_does_catch_a_bad_unit(tmp_path: Path) -> None:
    # Guards the test above against passing because the filter matches nothing.
    broken = _testable_copy("tacmesh-node.service", tmp_path, "[Service]\nProtectSytem=strict\n")
    _, complaints = _complaints_about(broken)
    assert any("ProtectSytem" in line for line in complaints)


@needs_analyze
@pytest.mark.parametrize("unit", UNITS)
def test_security_exposure_stays_low(unit: str, tmp_path: Path) -> None:
    # systemd's own score (0 best .. 10 worst); 2.0 leaves room for network access and
    # serial ports, which a relay needs, and fails if a hardening line is lost.
    done = _analyze(
        "security", "--offline=true", "--threshold=20", str(_testable_copy(unit, tmp_path))
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.mark.parametrize("unit", UNITS)
def test_hardening_and_lifecycle_keys(unit: str) -> None:
    service = _parse(SYSTEMD_DIR / unit)["Service"]
    for key, value in {**HARDENING, **LIFECYCLE}.items():
        assert service.get(key) == value, f"{unit}: {key}"
    assert "@system-service" in _values(SYSTEMD_DIR / unit, "SystemCallFilter")
    assert set(_values(SYSTEMD_DIR / unit, "DeviceAllow")) >= SERIAL_DEVICES
    assert service.get("DevicePolicy") == "closed"
    assert service.get("PrivateDevices", "no") == "no"  # it would hide the serial ports


@pytest.mark.parametrize("unit", UNITS)
def test_never_gives_up_restarting_and_has_an_install_section(unit: str) -> None:
    parsed = _parse(SYSTEMD_DIR / unit)
    assert parsed["Unit"].get("StartLimitIntervalSec") == "0"
    assert parsed["Install"].get("WantedBy") == "multi-user.target"


def test_node_unit_runs_the_node_daemon() -> None:
    service = _parse(SYSTEMD_DIR / "tacmesh-node.service")["Service"]
    assert service["ExecStart"] == (f"{INSTALLED_BINARY} node run --config /etc/tacmesh/node.toml")
    assert service["RuntimeDirectory"] == "tacmesh"  # /run/tacmesh/node.sock
    text = (SYSTEMD_DIR / "tacmesh-node.service").read_text(encoding="utf-8")
    assert "systemctl enable --now tacmesh-node" in text


@pytest.mark.parametrize(
    ("unit", "command"), [(PLACEHOLDERS[0], "gateway run"), (PLACEHOLDERS[1], "uav run")]
)
def test_placeholders_are_marked_and_keep_their_own_runtime_dir(unit: str, command: str) -> None:
    text = (SYSTEMD_DIR / unit).read_text(encoding="utf-8")
    assert text.startswith("# PLACEHOLDER")
    service = _parse(SYSTEMD_DIR / unit)["Service"]
    assert service["ExecStart"].startswith(f"{INSTALLED_BINARY} {command} ")
    # systemd deletes a RuntimeDirectory= on stop: sharing the node's would delete its socket.
    assert service["RuntimeDirectory"] != "tacmesh"


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None, reason="no systemd-sysusers")
def test_sysusers_file_creates_the_user(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    done = subprocess.run(
        ["systemd-sysusers", f"--root={tmp_path}", str(SYSTEMD_DIR / "tacmesh.sysusers.conf")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    passwd = (tmp_path / "etc" / "passwd").read_text(encoding="utf-8")
    assert passwd.startswith("tacmesh:x:")
    assert ":/var/lib/tacmesh:" in passwd
    assert (tmp_path / "etc" / "group").read_text(encoding="utf-8").startswith("tacmesh:x:")


MDWE_PROBE = """
import ctypes, mmap, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN (Linux >= 6.3)
    sys.exit(77)
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    sys.exit("the kernel still allows W+X memory")
except OSError:
    pass
import tacmesh.node.cli, tacmesh.node.runtime.service
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
Ed25519PrivateKey.generate().sign(b"hello")
ChaCha20Poly1305(bytes(32)).encrypt(bytes(12), b"hello", None)
import psutil, sqlite3
psutil.net_if_addrs()
sqlite3.connect(":memory:").execute("select 1")
"""


def test_daemon_code_runs_without_writable_executable_memory() -> None:
    # MemoryDenyWriteExecute=yes makes every W+X mapping fail (libffi callbacks, a JIT).
    # The kernel's per-process form of the same rule (PR_SET_MDWE) lets us check that the
    # daemon's imports and crypto work under it, without systemd.
    done = subprocess.run(
        [sys.executable, "-c", MDWE_PROBE],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode == 77:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux < 6.3)")
    assert done.returncode == 0, done.stderr
