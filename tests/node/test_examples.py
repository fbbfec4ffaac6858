"""Every example node.toml under examples/node/ loads as it stands."""

from __future__ import annotations

from pathlib import Path

import pytest

from tacmesh.node.config import load_config

EXAMPLES = sorted((Path(__file__).parents[2] / "examples" / "node").glob("*.toml"))


def test_there_is_an_example_per_role() -> None:
    names = {p.stem for p in EXAMPLES}
    assert {"relay", "team-relay", "command-post", "gateway", "uav-relay"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_loads(path: Path) -> None:
    settings = load_config(path)
    assert settings.links and settings.keys.is_absolute()
