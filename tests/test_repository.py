"""Repository invariants: README and CI agree, generated code is fresh, lint and types pass."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*cmd: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, check=False, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env
    )


def test_ci_runs_the_readme_test_command() -> None:
    blocks = re.findall(r"```sh\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S)
    setup_and_run, setup_and_test = blocks[0], blocks[1]
    # the main job is the built-in example scenario, and the example exists
    scenario = re.search(r"tacmesh sim run (\S+)", setup_and_run)
    assert scenario is not None and (ROOT / scenario.group(1)).is_file()
    assert setup_and_test in (ROOT / ".ci" / "run").read_text()


def test_generated_protobuf_code_is_fresh() -> None:
    out = _run(sys.executable, "-m", "tacmesh.protocol.pb.regen", "--check")
    assert out.returncode == 0, out.stdout + out.stderr


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(BIN))
    if path is None:
        pytest.fail(f"{name} is missing: install the test extra (pip install -e '.[test]')")
    return path


def test_ruff_lint_and_format() -> None:
    lint = _run(_tool("ruff"), "check", ".")
    assert lint.returncode == 0, lint.stdout
    fmt = _run(_tool("ruff"), "format", "--check", ".")
    assert fmt.returncode == 0, fmt.stdout


def test_mypy_strict() -> None:
    import os

    env = dict(os.environ, MYPYPATH=str(ROOT / ".mypy"))
    out = _run(_tool("mypy"), "-p", "tacmesh", env=env)
    assert out.returncode == 0, out.stdout


def _clean_copy(dest: Path) -> Path:
    """The files git would commit (tracked, and new ones not ignored), as they are now:
    a wheel built in the working tree reuses its ``build/``, where modules left from an
    earlier build would hide one the packaging now leaves out."""
    listed = _run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    if listed.returncode != 0:
        pytest.skip(f"not a git checkout, so no clean copy to build from: {listed.stderr}")
    for name in filter(None, listed.stdout.split("\0")):
        src = ROOT / name
        if src.is_file():  # a tracked file deleted in the working tree is not shipped
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def test_wheel_contains_every_package_and_data(tmp_path: Path) -> None:
    source = _clean_copy(tmp_path / "source")
    wheels = tmp_path / "wheels"
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), "."],
        check=False, cwd=source, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    import zipfile

    (wheel,) = wheels.glob("tacmesh-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "tacmesh/protocol/SPEC.md",
        "tacmesh/protocol/vectors/vectors.json",
        "tacmesh/protocol/pb/messages_pb2.py",
        "tacmesh/protocol/crypto/hop.py",
        "tacmesh/node/cli/__init__.py",
    ):
        assert required in names, required
    modules = {f"tacmesh/{p.relative_to(ROOT).as_posix()}" for p in _modules()}
    assert sorted(modules - names) == []


TOP_LEVEL = ("protocol", "node", "gateway", "uav", "firmware_bridge", "sim")


def _modules() -> list[Path]:
    return [
        p
        for folder in TOP_LEVEL
        for p in (ROOT / folder).rglob("*.py")
        if "__pycache__" not in p.parts
    ]


def test_every_folder_of_modules_is_a_package() -> None:
    """setup.py lists packages with find_packages, which skips a folder without
    __init__.py: whether its modules still reach the wheel depends on the setuptools
    version (a --no-build-isolation install lost protocol/vectors/generate.py)."""
    assert sorted({str(p.parent.relative_to(ROOT)) for p in _modules()
                   if not (p.parent / "__init__.py").is_file()}) == []  # fmt: skip
