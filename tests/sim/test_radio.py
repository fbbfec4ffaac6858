"""Radio profiles: LoRa time on air, the engine's view of a profile, and profile tables.

Air times are checked against the Semtech formula written out again here (AN1200.13,
SX1276 datasheet §4.1.1.7) and against reference values. The reference values below are
what that formula gives, computed by hand; they agree with the Semtech LoRa calculator
to the 0.1 ms it shows (41.2 ms, 102.7 ms, 991.2 ms).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tacmesh.protocol.crypto.suite import IP_TAG_LEN, NARROWBAND_TAG_LEN
from tacmesh.protocol.engine.config import (
    COST_AIR,
    COST_IP,
    COST_NARROWBAND,
    COST_SATELLITE,
    InterfaceConfig,
)
from tacmesh.sim.radio import ProfileError, builtin_profiles, load_profiles, lora

PROFILES = builtin_profiles()


def semtech_airtime(
    sf: int, bw: float, cr: int, n_preamble: int, pl: int, *, ih: bool, crc: bool, de: bool
) -> float:
    t_sym = float(2**sf) / bw
    t_preamble = (n_preamble + 4.25) * t_sym
    numerator = 8 * pl - 4 * sf + 28 + 16 * crc - 20 * ih
    n_payload = 8 + max(math.ceil(numerator / (4 * (sf - 2 * de))) * (cr + 4), 0)
    return t_preamble + n_payload * t_sym


# -- LoRa time on air ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sf", "payload", "expected_s"),
    [
        (7, 10, 0.041216),  # 12.25 preamble + 28 payload symbols of 1.024 ms
        (7, 51, 0.102656),  # 12.25 + 88 symbols of 1.024 ms
        (12, 10, 0.991232),  # 12.25 + 18 symbols of 32.768 ms, LDRO on
        (12, 51, 2.465792),  # 12.25 + 63 symbols of 32.768 ms, LDRO on
    ],
)
def test_airtime_reference_values(sf: int, payload: int, expected_s: float) -> None:
    ldro = lora.ldro_required(sf, 125_000)
    assert lora.airtime_s(sf, 125_000, 1, 8, payload, ldro=ldro) == pytest.approx(expected_s)


@given(
    sf=st.integers(7, 12),
    bw=st.sampled_from([125_000.0, 250_000.0, 500_000.0]),
    cr=st.integers(1, 4),
    preamble=st.integers(6, 16),
    payload=st.integers(0, 255),
    header=st.booleans(),
    crc=st.booleans(),
    ldro=st.booleans(),
)
def test_airtime_matches_formula(
    *, sf: int, bw: float, cr: int, preamble: int, payload: int, header: bool, crc: bool, ldro: bool
) -> None:
    got = lora.airtime_s(sf, bw, cr, preamble, payload, explicit_header=header, crc=crc, ldro=ldro)
    assert got == pytest.approx(
        semtech_airtime(sf, bw, cr, preamble, payload, ih=not header, crc=crc, de=ldro)
    )


def test_low_data_rate_optimise_rule() -> None:
    assert lora.ldro_required(11, 125_000) and lora.ldro_required(12, 125_000)
    assert not lora.ldro_required(10, 125_000)
    assert lora.ldro_required(12, 250_000) and not lora.ldro_required(11, 250_000)
    assert not lora.ldro_required(12, 500_000)
    # "auto" applies it: SF12 with 51 bytes is 63 payload symbols with LDRO, 53 without
    auto = load_profiles([{"name": "sf12", "base": "lora", "spreading_factor": 12}])["sf12"]
    off = load_profiles(
        [{"name": "x", "base": "lora", "spreading_factor": 12, "low_data_rate_optimize": False}]
    )["x"]
    assert auto.ldro and not off.ldro
    assert auto.airtime_s(51) == pytest.approx((12.25 + 63) * 0.032768)
    assert off.airtime_s(51) == pytest.approx((12.25 + 53) * 0.032768)


def test_lora_bitrate_is_the_datasheet_rate() -> None:
    # SF * BW / 2**SF * 4/(4+CR): 5468.75 bit/s at SF7/125 kHz/4/5 (engine default 5470)
    assert PROFILES["lora"].bitrate_bps == pytest.approx(7 * 125_000 / 128 * 4 / 5)
    assert PROFILES["lora-long"].bitrate_bps == pytest.approx(10 * 125_000 / 1024 * 4 / 5)


def test_other_kinds_airtime_is_overhead_plus_bytes() -> None:
    wifi = PROFILES["wifi-mesh"]
    assert wifi.airtime_s(1000) == pytest.approx(wifi.frame_overhead_s + 8000 / 6e6)
    assert PROFILES["satellite"].airtime_s(340) == pytest.approx(340 * 8 / 2400)


# -- the engine's view ---------------------------------------------------------------------


def test_lora_interface_config_agrees_with_engine_narrowband() -> None:
    mine = PROFILES["lora"].interface_config("lora0")
    engine = InterfaceConfig.narrowband("lora0")
    for field in (
        "name",
        "tag_len",
        "mtu",
        "cost",
        "hello_interval_s",
        "dead_after_intervals",
        "heard_every",
        "duty_cycle",
        "airtime_burst_s",
        "custody_timeout_s",
    ):
        assert getattr(mine, field) == getattr(engine, field), field
    assert mine.bitrate_bps == pytest.approx(engine.bitrate_bps, rel=1e-3)


@pytest.mark.parametrize("spreading_factor", [7, 8, 9, 10, 11, 12])
@pytest.mark.parametrize("bandwidth_hz", [125_000.0, 500_000.0])
def test_engine_airtime_estimate_close_to_formula(
    spreading_factor: int, bandwidth_hz: float
) -> None:
    table = {
        "name": "x",
        "base": "lora",
        "spreading_factor": spreading_factor,
        "bandwidth_hz": bandwidth_hz,
    }
    profile = load_profiles([table])["x"]
    config = profile.interface_config("x")
    assert config.bitrate_bps is not None
    for size in range(30, 61):
        estimate = config.preamble_s + 8 * size / config.bitrate_bps
        # 15 % was the requirement; the half-block rounding term keeps it within 5 %
        assert estimate == pytest.approx(profile.airtime_s(size), rel=0.05), size


def test_ip_kinds_are_not_paced_and_narrowband_kinds_are() -> None:
    for name in ("wifi-mesh", "lte", "air"):
        config = PROFILES[name].interface_config(name)
        assert config.bitrate_bps is None and config.heard_every == 8
        assert config.tag_len == IP_TAG_LEN
    sat = PROFILES["satellite"].interface_config("sat")
    assert sat.bitrate_bps == 2400.0 and sat.heard_every == 1
    assert sat.custody_timeout_s == 120.0 and sat.mtu == 340


def test_builtin_costs_and_tags() -> None:
    assert PROFILES["lora"].tag_len == NARROWBAND_TAG_LEN
    assert PROFILES["lora"].cost == COST_NARROWBAND
    assert PROFILES["wifi-mesh"].cost == PROFILES["lte"].cost == COST_IP
    assert PROFILES["air"].cost == COST_AIR
    assert PROFILES["satellite"].cost == COST_SATELLITE
    assert PROFILES["satellite"].per_byte_cost > 0
    assert all(p.per_byte_cost == 0 for n, p in PROFILES.items() if n != "satellite")


def test_builtin_media() -> None:
    assert PROFILES["lora"].collisions and PROFILES["lora"].capture_db == 6.0
    assert not any(PROFILES[n].collisions for n in ("wifi-mesh", "lte", "air", "satellite"))
    assert all(PROFILES[n].shared for n in ("lora", "wifi-mesh", "lte", "air"))
    assert not PROFILES["satellite"].shared


def test_propagation_delay() -> None:
    c = 299_792_458.0
    assert PROFILES["lora"].propagation_delay_s(3000) == pytest.approx(3000 / c)
    assert PROFILES["lte"].propagation_delay_s(3000) == pytest.approx(0.03 + 3000 / c)
    assert PROFILES["satellite"].propagation_delay_s(10_000) >= 0.6


# -- tables --------------------------------------------------------------------------------


def test_override_of_a_base() -> None:
    profiles = load_profiles([{"name": "lora-sf9", "base": "lora", "spreading_factor": 9}])
    sf9, sf7 = profiles["lora-sf9"], profiles["lora"]
    assert sf9.spreading_factor == 9 and sf9.name == "lora-sf9"
    assert sf9.bitrate_bps == pytest.approx(9 * 125_000 / 512 * 4 / 5)
    # sensitivity follows the SNR limit: 2.5 dB per SF step (SX1276 table 13)
    assert sf9.sensitivity_dbm == pytest.approx(sf7.sensitivity_dbm - 5.0)
    assert sf9.reach_m(1.5, 1.5) > sf7.reach_m(1.5, 1.5)
    assert (sf9.tx_power_dbm, sf9.mtu, sf9.duty_cycle) == (sf7.tx_power_dbm, sf7.mtu, 0.1)
    assert "lora-sf9" not in builtin_profiles()


def test_explicit_sensitivity_is_kept() -> None:
    table = {"name": "x", "base": "lora", "spreading_factor": 9, "sensitivity_dbm": -130}
    assert load_profiles([table])["x"].sensitivity_dbm == -130.0


def test_unknown_field_names_field_and_suggests() -> None:
    with pytest.raises(ProfileError) as err:
        load_profiles([{"name": "lora-sf9", "base": "lora", "sf": 9}])
    message = str(err.value)
    assert 'radio "lora-sf9"' in message and 'unknown field "sf"' in message
    assert 'did you mean "spreading_factor"?' in message and "fields:" in message
    with pytest.raises(ProfileError, match='did you mean "tx_power_dbm"'):
        load_profiles([{"name": "x", "base": "lora", "tx_power_dmb": 20}])


def test_wrong_type_names_field_and_fix() -> None:
    with pytest.raises(
        ProfileError, match=r'radio "x": field "mtu" must be a whole number.*quotes'
    ):
        load_profiles([{"name": "x", "base": "wifi-mesh", "mtu": "1200"}])
    with pytest.raises(ProfileError, match='field "shared" must be true or false'):
        load_profiles([{"name": "x", "base": "wifi-mesh", "shared": 1}])


def test_impossible_values_are_refused() -> None:
    with pytest.raises(ProfileError, match='radio "x": field "duty_cycle" must be in'):
        load_profiles([{"name": "x", "base": "lora", "duty_cycle": 1.5}])
    with pytest.raises(ProfileError, match=r'field "spreading_factor" must be 6\.\.12'):
        load_profiles([{"name": "x", "base": "lora", "spreading_factor": 13}])
    with pytest.raises(ProfileError, match='field "tag_len"'):
        load_profiles([{"name": "x", "base": "lora", "tag_len": 5}])
    with pytest.raises(ProfileError, match='"bitrate_bps" is derived'):
        load_profiles([{"name": "x", "base": "lora", "bitrate_bps": 9000}])


def test_missing_fields_without_base() -> None:
    with pytest.raises(ProfileError) as err:
        load_profiles([{"name": "x", "kind": "wifi", "model": "range", "mtu": 100}])
    message = str(err.value)
    assert 'radio "x": no "base"' in message
    assert "bitrate_bps" in message and "range_m" in message and "mtu," not in message


def test_full_table_without_base() -> None:
    wifi = PROFILES["wifi-mesh"]
    given = [f.name for f in dataclasses.fields(wifi) if f.init]  # not its derived budget
    table: dict[str, object] = {f: getattr(wifi, f) for f in given}
    table["name"] = "my-wifi"
    mine = load_profiles([table])["my-wifi"]
    assert mine.airtime_s(500) == wifi.airtime_s(500)
    assert mine.rx_power_dbm(300, 2, 2, 0) == wifi.rx_power_dbm(300, 2, 2, 0)


def test_unknown_base_and_duplicates() -> None:
    with pytest.raises(ProfileError, match='unknown base "lora_long"; did you mean "lora-long"'):
        load_profiles([{"name": "x", "base": "lora_long"}])
    with pytest.raises(ProfileError, match='"x": defined twice'):
        load_profiles([{"name": "x", "base": "lora"}, {"name": "x", "base": "air"}])
    chained = load_profiles(
        [{"name": "a", "base": "lora", "tx_power_dbm": 20}, {"name": "b", "base": "a"}]
    )
    assert chained["b"].tx_power_dbm == 20.0
    replaced = load_profiles([{"name": "lora", "base": "lora", "tx_power_dbm": 27}])
    assert replaced["lora"].tx_power_dbm == 27.0


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profiles_survive_pickling_and_copying(name: str) -> None:
    """A sweep sends profiles to worker processes; the link budget (compiled in CI's second
    stage, where a native class has no default reconstruction) must come along."""
    profile = PROFILES[name]
    for twin in (pickle.loads(pickle.dumps(profile)), copy.deepcopy(profile)):
        assert twin == profile
        for d in (10.0, 800.0, 5000.0):
            assert twin.path_loss_db(d, 2.0, 120.0) == profile.path_loss_db(d, 2.0, 120.0)
            assert twin.delivery_probability(d, 2.0, 120.0, 1.5) == (
                profile.delivery_probability(d, 2.0, 120.0, 1.5)
            )
        assert twin.propagation_delay_s(900.0) == profile.propagation_delay_s(900.0)
