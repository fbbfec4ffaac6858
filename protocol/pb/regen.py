"""Regenerate the committed ``*_pb2.py``/``*_pb2.pyi`` from ``protocol/proto/*.proto``.

Usage: ``python -m tacmesh.protocol.pb.regen`` (write) or ``... --check`` (exit 1 if the
committed files differ from what the .proto sources generate). Needs the ``test`` extra
(grpcio-tools, mypy-protobuf). The generated code is committed so that a field box
installs tacmesh without a protobuf compiler.

protoc runs in a staging tree shaped like the import path (``tacmesh/protocol/pb/``), so
generated imports read ``from tacmesh.protocol.pb import ...``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = HERE.parent / "proto"
STAGE_PKG = Path("tacmesh/protocol/pb")


def generate(out_dir: Path) -> list[Path]:
    """Run protoc on every source; return the generated files (copied into ``out_dir``)."""
    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp) / "src"
        gen = Path(tmp) / "gen"
        (stage / STAGE_PKG).mkdir(parents=True)
        gen.mkdir()
        protos = sorted(SOURCES.glob("*.proto"))
        for proto in protos:
            shutil.copy(proto, stage / STAGE_PKG / proto.name)
        env = dict(
            os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
        )
        cmd = [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{stage}",
            f"--python_out={gen}",
            f"--mypy_out={gen}",
            *[str(STAGE_PKG / p.name) for p in protos],
        ]
        subprocess.run(cmd, check=True, env=env)
        written = []
        for f in sorted((gen / STAGE_PKG).iterdir()):
            shutil.copy(f, out_dir / f.name)
            written.append(out_dir / f.name)
        return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    if not args.check:
        for path in generate(HERE):
            print(f"wrote {path.relative_to(HERE.parent.parent)}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        stale = [
            p.name for p in generate(Path(tmp)) if p.read_bytes() != (HERE / p.name).read_bytes()
        ]
    if stale:
        print(f"stale generated code: {', '.join(stale)}; run python -m tacmesh.protocol.pb.regen")
        return 1
    print("generated protobuf code matches protocol/proto/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
