"""Radio tables to profiles: the built-ins of ``profiles.toml`` and a scenario's tables.

A table is ``{"name": ..., "base": ..., field: value}``: a copy of an earlier profile with
fields replaced, or, without ``base``, every field its kind and model use. Everything a
table can get wrong is reported as a :class:`ProfileError` naming the profile, the field
and the fix, with a close match for a misspelt name.
"""

from __future__ import annotations

import difflib
import functools
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, fields
from importlib import resources
from typing import Any

from tacmesh.sim.radio import lora
from tacmesh.sim.radio.profile import LORA_FIELDS, ProfileError, RadioProfile, check_modem

_FIELDS = tuple(f for f in fields(RadioProfile) if f.init)
"""What a table may give: not what the profile works out itself (its ``budget``)."""
_FIELD_TYPES = {f.name: str(f.type) for f in _FIELDS}
"""Annotations as written (``from __future__ import annotations`` keeps them strings)."""
_REQUIRED = tuple(f.name for f in _FIELDS if f.default is MISSING)
MODEL_FIELDS = {
    "log_distance": ("ref_distance_m", "ref_loss_db", "exponent", "shadowing_db", "fade_db"),
    "range": ("range_m", "ramp_m"),
    "air_to_ground": ("shadowing_db", "fade_db", "los_a", "los_b", "eta_los_db", "eta_nlos_db"),
}
ALIASES = {
    "sf": "spreading_factor",
    "bw": "bandwidth_hz",
    "bandwidth": "bandwidth_hz",
    "cr": "coding_rate",
    "ldro": "low_data_rate_optimize",
    "preamble": "preamble_symbols",
    "power": "tx_power_dbm",
    "tx_power": "tx_power_dbm",
    "sensitivity": "sensitivity_dbm",
    "frequency": "frequency_hz",
    "range": "range_m",
    "sigma": "shadowing_db",
}
"""Common short names that difflib cannot match to the long ones (``sf`` is too short)."""
_TYPE_HINTS = {
    "float": ("a number", "write a number without quotes"),
    "int": ("a whole number", "write a whole number without quotes"),
    "bool": ("true or false", "write true or false without quotes"),
    "str": ("a string", "write it in quotes"),
    "str | bool": ('"auto", true or false', 'write "auto", true or false'),
}


def _typed(name: str, field: str, value: object) -> object:
    """The value of one table entry, checked against the field's type."""
    expected = _FIELD_TYPES.get(field)
    if expected is None or field == "name":
        known = sorted(set(_FIELD_TYPES) - {"name"} | {"base"})
        close = (
            [ALIASES[field]] if field in ALIASES else difflib.get_close_matches(field, known, n=1)
        )
        hint = f'; did you mean "{close[0]}"?' if close else ""
        listing = ", ".join(known)
        raise ProfileError(f'radio "{name}": unknown field "{field}"{hint} (fields: {listing})')
    if expected == "float" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    fits = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "str": isinstance(value, str),
        "str | bool": isinstance(value, str | bool),
    }
    if fits.get(expected, False):
        return value
    what, fix = _TYPE_HINTS[expected]
    raise ProfileError(
        f'radio "{name}": field "{field}" must be {what}, got {value!r} '
        f"({type(value).__name__}); {fix}"
    )


def _missing(values: Mapping[str, object]) -> list[str]:
    """Fields a table without ``base`` must give, by its kind and model."""
    kind, model = values.get("kind"), values.get("model")
    needed = [f for f in _REQUIRED if f != "name" and not (kind == "lora" and f == "bitrate_bps")]
    if kind == "lora":
        needed += LORA_FIELDS
    if isinstance(model, str):
        needed += MODEL_FIELDS.get(model, ())
    return [f for f in dict.fromkeys(needed) if f not in values]


def _inherit(
    name: str, base: object, values: dict[str, Any], known: Mapping[str, RadioProfile]
) -> dict[str, Any]:
    """Fields of ``base`` with the table's replacements.

    A LoRa table that changes the spreading factor or bandwidth but not the sensitivity
    gets the base's sensitivity moved by the SNR-limit rule (``lora.sensitivity_shift_db``):
    a slower modem keeping the faster one's range would be a silent error.
    """
    parent = known.get(base) if isinstance(base, str) else None
    if parent is None:
        close = difflib.get_close_matches(str(base), list(known), n=1)
        hint = f'; did you mean "{close[0]}"?' if close else ""
        listing = ", ".join(known)
        raise ProfileError(f'radio "{name}": unknown base "{base}"{hint} (profiles: {listing})')
    merged: dict[str, Any] = {f.name: getattr(parent, f.name) for f in _FIELDS}
    merged.update(values)
    sf, bw = merged["spreading_factor"], merged["bandwidth_hz"]
    moved = (sf, bw) != (parent.spreading_factor, parent.bandwidth_hz)
    if parent.kind == merged["kind"] == "lora" and moved and "sensitivity_dbm" not in values:
        check_modem(name, merged)
        shift = lora.sensitivity_shift_db(parent.spreading_factor, parent.bandwidth_hz, sf, bw)
        merged["sensitivity_dbm"] = parent.sensitivity_dbm + shift
    return merged


def profile_from_table(
    table: Mapping[str, object], known: Mapping[str, RadioProfile]
) -> RadioProfile:
    """One profile from a table: a copy of ``known[table["base"]]`` with the other entries
    replaced, or (without ``base``) every field its kind and model use."""
    name = table.get("name")
    if not isinstance(name, str) or not name:
        raise ProfileError(f'radio table {dict(table)!r}: no "name"; add name = "my-radio"')
    values: dict[str, Any] = {
        key: _typed(name, key, value) for key, value in table.items() if key not in ("name", "base")
    }
    if "base" in table:
        merged = _inherit(name, table["base"], values, known)
    else:
        missing = _missing(values)
        if missing:
            raise ProfileError(
                f'radio "{name}": no "base", so it must give {", ".join(missing)}; '
                f'or start from a built-in, e.g. base = "lora" ({", ".join(known)})'
            )
        merged = values
    merged["name"] = name
    if merged["kind"] == "lora":
        if "bitrate_bps" in values:
            raise ProfileError(
                f'radio "{name}": field "bitrate_bps" is derived from spreading_factor, '
                "bandwidth_hz and coding_rate for kind lora; remove it"
            )
        check_modem(name, merged)
        ldro = merged["low_data_rate_optimize"]
        sf, bw = merged["spreading_factor"], merged["bandwidth_hz"]
        ldro_on = lora.ldro_required(sf, bw) if ldro == "auto" else ldro
        merged["bitrate_bps"] = lora.bitrate_bps(sf, bw, merged["coding_rate"], ldro_on)
    return RadioProfile(**merged)


def _add(
    profiles: dict[str, RadioProfile], tables: Iterable[Mapping[str, object]]
) -> dict[str, RadioProfile]:
    """Resolve tables in order (a table may name an earlier one as base); a table may
    replace a built-in of the same name, but two tables may not share one."""
    given: set[str] = set()
    for table in tables:
        profile = profile_from_table(table, profiles)
        if profile.name in given:
            raise ProfileError(f'radio "{profile.name}": defined twice; rename one of them')
        given.add(profile.name)
        profiles[profile.name] = profile
    return profiles


@functools.cache
def _builtin_tables() -> tuple[dict[str, object], ...]:
    text = resources.files("tacmesh.sim.radio").joinpath("profiles.toml").read_text("utf-8")
    tables = tomllib.loads(text)
    for key, table in tables.items():
        if not isinstance(table, dict):
            raise ProfileError(f'profiles.toml: "{key}" must be a [table] of fields')
    return tuple({"name": key, **table} for key, table in tables.items())


def builtin_profiles() -> dict[str, RadioProfile]:
    """The profiles of ``profiles.toml`` by name (a fresh dict: callers may add to it)."""
    return _add({}, _builtin_tables())


def load_profiles(extra: Iterable[Mapping[str, object]] = ()) -> dict[str, RadioProfile]:
    """Built-ins plus a scenario's tables (``{"name": ..., "base": ..., field: value}``).

    Unknown fields, wrong types and impossible values raise :class:`ProfileError` naming
    the profile, the field and the fix. For kind lora ``bitrate_bps`` is always derived
    from the modem settings; see ``_inherit`` for the sensitivity rule.
    """
    return _add(builtin_profiles(), extra)
