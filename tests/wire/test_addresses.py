"""Addresses, groups, text form and prefixes (SPEC.md §3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tacmesh.protocol.addresses import (
    ALL_HANDS,
    Prefix,
    Role,
    check_address,
    format_address,
    is_group,
    is_unicast,
    parse_address,
    role_group,
    team_group,
)
from tacmesh.protocol.errors import FrameError, Reject

VALID = [*range(0x0001, 0xE000), *range(0xE000, 0xF100), ALL_HANDS]


def test_text_form_round_trips_for_every_address() -> None:
    for addr in VALID:
        assert parse_address(format_address(addr)) == addr


def test_ranges_partition_the_address_space() -> None:
    for addr in range(0x10000):
        valid = addr in (0xFFFF,) or 0x0001 <= addr <= 0xF0FF
        assert (is_unicast(addr) or is_group(addr)) == valid, hex(addr)
        assert not (is_unicast(addr) and is_group(addr))


@pytest.mark.parametrize(
    ("text", "addr"),
    [
        ("0x1203", 0x1203),
        ("  0X1203 ", 0x1203),
        ("4611", 0x1203),
        ("team:18", 0xE012),
        ("TEAM:0x12", 0xE012),
        ("team:4095", 0xEFFF),
        ("role:gateway", 0xF004),
        ("Role:Command_Post", 0xF007),
        ("role:4", 0xF004),
        ("role:0", 0xF000),
        ("role:255", 0xF0FF),
        ("all", ALL_HANDS),
        ("0xffff", ALL_HANDS),
    ],
)
def test_parse(text: str, addr: int) -> None:
    assert parse_address(text) == addr


NOT_ADDRESSES = ("", "0", "0x0000", "0xf100", "0xfffe", "65536", "team:4096", "team:-1")
NOT_ADDRESSES += ("team:x", "role:256", "role:pilot", "role:", "everyone", "0x12g4")


@pytest.mark.parametrize("text", NOT_ADDRESSES)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_address(text)


def test_format() -> None:
    assert [format_address(a) for a in (0x0001, 0xE012, 0xF004, 0xF00A, ALL_HANDS)] == [
        "0x0001",
        "team:18",
        "role:gateway",
        "role:10",
        "all",
    ]


def test_groups() -> None:
    assert [team_group(0), team_group(4095)] == [0xE000, 0xEFFF]
    assert [role_group(r) for r in (Role.HANDHELD, Role.MEDIC)] == [0xF001, 0xF009]
    for bad in (-1, 4096):
        with pytest.raises(ValueError):
            team_group(bad)


@pytest.mark.parametrize("addr", [0, 0xF100, 0xFFFE, 0x10000, -1])
def test_check_address_rejects_invalid(addr: int) -> None:
    with pytest.raises(FrameError) as err:
        check_address(addr, what="test")
    assert err.value.reason is Reject.BAD_FIELD


def test_check_address_groups() -> None:
    check_address(0xE001, what="destination")
    check_address(ALL_HANDS, what="destination")
    for addr in (0xE001, 0xF001, ALL_HANDS):
        with pytest.raises(FrameError):
            check_address(addr, what="transmitter", allow_group=False)


@st.composite
def prefixes(draw: st.DrawFn) -> Prefix:
    length = draw(st.integers(0, 16))
    host_bits = 16 - length
    return Prefix(draw(st.integers(0, 0xFFFF)) >> host_bits << host_bits, length)


@given(prefixes(), st.integers(0, 0xFFFF))
def test_prefix_contains(prefix: Prefix, addr: int) -> None:
    shift = 16 - prefix.length
    assert prefix.contains(addr) == (addr >> shift == prefix.base >> shift)


def test_prefix_examples() -> None:
    team = Prefix(0x1200, 8)
    assert str(team) == "0x1200/8"
    assert team.contains(0x1200)
    assert team.contains(0x12FF)
    assert not team.contains(0x1300)
    assert not team.contains(0x11FF)
    assert Prefix(0, 0).contains(0xFFFF)
    assert Prefix(0x1203, 16).contains(0x1203)
    assert not Prefix(0x1203, 16).contains(0x1202)


@pytest.mark.parametrize(("base", "length"), [(0x1201, 8), (0x0001, 15), (0, 17), (0, -1)])
def test_prefix_rejects_host_bits_and_bad_lengths(base: int, length: int) -> None:
    with pytest.raises(ValueError):
        Prefix(base, length)
