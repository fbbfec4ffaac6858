"""tacmesh.sim.radio: radio profiles and link models of the simulator.

For each frame the world asks a profile how long it occupies the air (``airtime_s``),
whether each receiver gets it (``delivery_probability`` with the pair's
``shadowing_db``, then a ``CollisionTracker`` on ALOHA channels) and when
(``propagation_delay_s``). ``load_profiles`` gives the built-ins of ``profiles.toml``
plus a scenario's own tables.
"""

from __future__ import annotations

from tacmesh.sim.radio import lora, propagation
from tacmesh.sim.radio.catalog import builtin_profiles, load_profiles, profile_from_table
from tacmesh.sim.radio.collisions import CollisionTracker
from tacmesh.sim.radio.profile import KINDS, MODELS, ProfileError, RadioProfile
from tacmesh.sim.radio.propagation import radio_horizon_m, shadowing_db

__all__ = [
    "KINDS",
    "MODELS",
    "CollisionTracker",
    "ProfileError",
    "RadioProfile",
    "builtin_profiles",
    "load_profiles",
    "lora",
    "profile_from_table",
    "propagation",
    "radio_horizon_m",
    "shadowing_db",
]
