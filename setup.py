"""Map the top-level folders onto the ``tacmesh.*`` import namespace, and optionally compile
the hot path with mypyc.

pyproject.toml holds the metadata; this file only lists the packages, because setuptools
cannot express "every sub-package of every top-level folder, under a prefix" declaratively.
A loop over ``find_packages`` keeps new sub-packages from being silently left out of the
wheel (an explicit list would still import in editable mode and hide the omission).

``TACMESH_COMPILE=1 pip install --no-build-isolation .`` (with mypy installed) also
compiles :data:`COMPILED` with mypyc: the same source, as C extensions beside the ``.py``
files, which Python then prefers. README.md ("The compiled core") says what it gains.
"""

import os
import sys
from pathlib import Path

from setuptools import find_packages, setup

TOP_LEVEL = ("protocol", "node", "gateway", "uav", "firmware_bridge", "sim")

COMPILED = (
    "protocol/engine/*.py",
    "protocol/crypto/hop.py",
    "protocol/crypto/keys.py",
    "protocol/crypto/replay.py",
    "protocol/bits.py",
    "protocol/codec.py",
    "protocol/header.py",
    "protocol/heard.py",
    "protocol/messages.py",
    "sim/driver.py",
    "sim/kernel.py",
    "sim/medium.py",
    "sim/radio/budget.py",
    "sim/radio/collisions.py",
    "sim/radio/lora.py",
    "sim/radio/propagation.py",
)
"""Every frame sent or received passes through these: the engines, the header codec, hop
protection and body codecs (hellos' heard lists, compact bit layouts), and the simulator's
event loop, medium and engine driver, and the link budget and radio formulas that the
link refresh works out for every pair in range every few seconds. Left out: modules mypyc
cannot compile as written (``Prefix`` subclasses ``tuple``; the radio catalog reads
``RadioProfile``'s annotations, which mypyc replaces by ``type`` where they are not a plain
class: hence ``sim/radio/budget.py``), and those off the per-frame path (the world's
set-up, traffic and failures)."""

packages: list[str] = []
package_dir: dict[str, str] = {}
for folder in TOP_LEVEL:
    packages.append(f"tacmesh.{folder}")
    package_dir[f"tacmesh.{folder}"] = folder
    for sub in find_packages(folder):
        packages.append(f"tacmesh.{folder}.{sub}")
        package_dir[f"tacmesh.{folder}.{sub}"] = f"{folder}/{sub.replace('.', '/')}"


def compiled_core() -> list[object]:
    """The mypyc extensions, when asked for with TACMESH_COMPILE=1 and a wheel is being
    built; none otherwise (metadata steps do not need them, and mypyc takes a minute)."""
    if os.environ.get("TACMESH_COMPILE") != "1":
        return []
    if "editable_wheel" in sys.argv:
        sys.exit(
            "TACMESH_COMPILE=1 needs a regular install: in an editable one the compiled "
            "modules would shadow every later edit of their .py files. Use "
            "'TACMESH_COMPILE=1 pip install --no-build-isolation .' (or unset TACMESH_COMPILE)."
        )
    if not {"bdist_wheel", "build_ext", "build", "install"} & set(sys.argv):
        return []
    from mypyc.build import mypycify

    # mypyc names modules by their path under a package base: .mypy/tacmesh/<folder> are
    # symlinks to the top-level folders, so the modules come out as tacmesh.<folder>.*.
    root = Path(__file__).resolve().parent
    os.environ["MYPYPATH"] = str(root / ".mypy")
    paths = sorted(
        str(Path(".mypy/tacmesh") / p.relative_to(root))
        for pattern in COMPILED
        for p in root.glob(pattern)
    )
    return list(
        mypycify(
            ["--explicit-package-bases", *paths],
            group_name="tacmesh_core",
            target_dir="build/compiled/c",
        )
    )


extensions = compiled_core()
setup(
    packages=packages,
    package_dir=package_dir,
    ext_modules=extensions,
    # A compiled build keeps its own build tree: a later plain build must not pick up the
    # compiled modules left in build/lib and ship them as if they were pure Python.
    options={"build": {"build_base": "build/compiled"}} if extensions else {},
)
