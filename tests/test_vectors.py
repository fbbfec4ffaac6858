"""The conformance vectors hold the code, and a wrong byte anywhere in them is caught."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tacmesh.protocol.frame_types import FrameType
from tacmesh.protocol.messages import PROTOBUF_BODIES
from tacmesh.protocol.vectors.conformance import KINDS, check, load
from tacmesh.protocol.vectors.generate import KEYS, cases


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return load()


def test_every_vector_passes(doc: dict[str, Any]) -> None:
    failed = [r for r in check(doc) if not r.ok]
    assert not failed, failed


def test_file_matches_generator_inputs(doc: dict[str, Any]) -> None:
    """The committed file was generated from the current cases (no hand edits, no drift)."""
    assert doc["keys"] == json.loads(json.dumps(KEYS))
    names = {v["name"] for v in doc["vectors"]}
    assert {c["name"] for c in cases()} <= names


def test_every_message_and_operation_is_covered(doc: dict[str, Any]) -> None:
    kinds = {v["kind"] for v in doc["vectors"]}
    assert kinds == set(KINDS)
    body_types = {v["type"] for v in doc["vectors"] if v["kind"] == "body"}
    expected = {t.name for t in FrameType if t in PROTOBUF_BODIES or t.is_data}
    expected -= {"CERTIFICATE", "REVOCATION", "KEY_UPDATE"}  # have vectors of their own kind
    assert expected <= body_types


@pytest.mark.parametrize("name", [v["name"] for v in load()["vectors"]])
def test_a_flipped_byte_fails_the_vector(doc: dict[str, Any], name: str) -> None:
    bad = copy.deepcopy(doc)
    (v,) = [x for x in bad["vectors"] if x["name"] == name]
    raw = bytearray.fromhex(v["hex"])
    raw[len(raw) // 2] ^= 0x01
    v["hex"] = raw.hex()
    bad["vectors"] = [v]
    (result,) = check(bad)
    assert not result.ok, v["name"]


def test_a_changed_input_fails_the_vector(doc: dict[str, Any]) -> None:
    bad = copy.deepcopy(doc)
    (v,) = [x for x in bad["vectors"] if x["name"] == "frame/position-narrowband"]
    v["body"]["lat_e5"] += 1
    bad["vectors"] = [v]
    (result,) = check(bad)
    assert not result.ok and "computed" in result.detail
