"""The wire layer is sans-I/O: no clocks, sockets, threads or hidden randomness.

Every time-dependent call takes ``now`` from its caller and randomness is injected
(``tacmesh/protocol/__init__.py``), so the simulator can run the real code on virtual time
and tests are reproducible. This guard reads every module's syntax tree.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tacmesh.protocol

PROTOCOL = Path(tacmesh.protocol.__file__).parent
BANNED_MODULES = {"asyncio", "socket", "threading", "selectors", "time", "datetime"}


def sources() -> list[Path]:
    return sorted(
        p
        for p in PROTOCOL.rglob("*.py")
        if not (p.parent.name == "pb" and (p.name.endswith("_pb2.py") or p.name == "regen.py"))
    )


def banned_imports(tree: ast.Module, name: str) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [
                f"{name}:{node.lineno}: imports {alias.name}"
                for alias in node.names
                if alias.name.split(".")[0] in BANNED_MODULES
            ]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            module = node.module or ""
            if module.split(".")[0] in BANNED_MODULES:
                found.append(f"{name}:{node.lineno}: imports from {module}")
    return found


def random_calls(tree: ast.Module, name: str) -> list[str]:
    modules: set[str] = set()  # local names bound to the random module
    functions: set[str] = set()  # local names bound to its functions
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(a.asname or a.name for a in node.names if a.name == "random")
        elif isinstance(node, ast.ImportFrom) and node.module == "random" and node.level == 0:
            functions.update(a.asname or a.name for a in node.names)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if func.value.id in modules:
                found.append(f"{name}:{node.lineno}: calls random.{func.attr}()")
        elif isinstance(func, ast.Name) and func.id in functions:
            found.append(f"{name}:{node.lineno}: calls random's {func.id}()")
    return found


def violations(source: str, name: str = "<test>") -> list[str]:
    """``file:line: what`` for each banned import and each call into the random module."""
    tree = ast.parse(source, name)
    return banned_imports(tree, name) + random_calls(tree, name)


def test_sources_are_found() -> None:
    names = {p.relative_to(PROTOCOL).as_posix() for p in sources()}
    assert {"codec.py", "header.py", "crypto/hop.py", "crypto/replay.py"} <= names
    assert "pb/regen.py" not in names
    assert not any(n.endswith("_pb2.py") for n in names)


@pytest.mark.parametrize("path", sources(), ids=lambda p: p.relative_to(PROTOCOL).as_posix())
def test_module_is_sans_io(path: Path) -> None:
    found = violations(path.read_text(encoding="utf-8"), str(path.relative_to(PROTOCOL.parent)))
    assert not found, "\n".join(found)


def test_the_guard_catches_what_it_should() -> None:
    bad = """
import time
import asyncio.events
from datetime import datetime
import socket as s
from threading import Thread
import selectors
import random
import random as rnd
from random import randint as pick

def f(rng: random.Random) -> int:
    rng.random()
    random.shuffle([])
    rnd.getrandbits(8)
    return pick(1, 6)
"""
    found = violations(bad, "bad.py")
    assert [line.split(": ", 1)[1] for line in found] == [
        "imports time",
        "imports asyncio.events",
        "imports from datetime",
        "imports socket",
        "imports from threading",
        "imports selectors",
        "calls random.shuffle()",
        "calls random.getrandbits()",
        "calls random's pick()",
    ]
    assert found[0].startswith("bad.py:2:")
    good = "from random import Random\nimport timeit\nfrom .time import x\n"
    assert violations(good + "def f(r: Random) -> float:\n    return r.random()\n") == []
