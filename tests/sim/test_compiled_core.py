"""The compiled core (setup.py, ``TACMESH_COMPILE=1``) is the same code as the source: a
scenario run with it gives byte for byte the results of the same run in pure Python.

Meaningful only where the installed core is compiled (CI's second stage, .ci/run); in an
editable install it skips and says why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tacmesh.protocol.engine import COMPILED

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

MACHINE_FIELDS = ("wall_s", "realtime_factor", "core")

RUN = """
import json, sys
import tacmesh.protocol.engine.node as engine
from tacmesh.node.cli import main
print(json.dumps({"engine": engine.__file__}))
main(["sim", "run", *sys.argv[1:], "--quiet", "--json", "--no-plots"])
"""


def _run(args: list[str], pure: bool) -> tuple[str, str, dict[str, Any]]:
    """(the engine module's file, the core results.json names, results.json without what
    depends on the machine) of ``tacmesh sim run ARGS`` in a subprocess;
    with ``pure``, the source tree comes first on the import path (.mypy/tacmesh links to
    it), ahead of the installed compiled modules."""
    env = dict(os.environ)
    if pure:
        env["PYTHONPATH"] = str(ROOT / ".mypy")
    out = subprocess.run(
        [sys.executable, "-c", RUN, *args],
        capture_output=True, text=True, check=True, timeout=600, env=env, cwd=ROOT,
    )  # fmt: skip
    first, _, rest = out.stdout.partition("\n")
    results = json.loads(rest)
    return json.loads(first)["engine"], results["run"]["core"], _same_everywhere(results)


def _same_everywhere(x: Any) -> Any:
    """Results less the fields of the machine and the core (wall time, speed, core)."""
    if isinstance(x, dict):
        return {k: _same_everywhere(v) for k, v in x.items() if k not in MACHINE_FIELDS}
    if isinstance(x, list):
        return [_same_everywhere(v) for v in x]
    return x


@pytest.mark.slow
@pytest.mark.skipif(
    not COMPILED,
    reason="the installed core is pure Python (TACMESH_COMPILE=1 pip install "
    "--no-build-isolation . installs the compiled one, as CI's second stage does)",
)
@pytest.mark.parametrize(
    "args",
    [
        ["earthquake-valley.toml"],  # the whole half hour: a UAV leaves, a mast is destroyed
        ["operation-1000.toml", "--duration", "60"],  # a thousand nodes meeting
    ],
    ids=["valley", "operation-60s"],
)
def test_the_compiled_core_gives_the_results_of_the_source(args: list[str]) -> None:
    args = [str(EXAMPLES / args[0]), *args[1:]]
    compiled_file, compiled_core, compiled = _run(args, pure=False)
    pure_file, pure_core, pure = _run(args, pure=True)
    assert compiled_file.endswith(".so") and pure_file.endswith(".py")
    assert (compiled_core, pure_core) == ("compiled", "pure")
    assert compiled["delivery"] == pure["delivery"]  # the headline first, for a short diff
    assert compiled == pure
