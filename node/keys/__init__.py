"""Mission authority and node key bundles (SPEC.md §7.2, §7.3, §7.7) on disk.

The command post keeps a mission directory (``mission``); each node gets a bundle
directory (``bundle``) that its daemon loads with :func:`load_bundle`. The formats are
documented for operators in README.md next to this file; ``tacmesh keys`` drives it all.
"""

from __future__ import annotations

from tacmesh.node.keys.bundle import NodeKeys, UnusableCertificate, inspect_bundle, load_bundle
from tacmesh.node.keys.files import KeyFileError
from tacmesh.node.keys.mission import (
    IssuedCertificate,
    MissionInfo,
    create_mission,
    issue_node,
    list_certificates,
    load_mission,
    revoke,
)
from tacmesh.node.keys.refresh import refresh_bundle

__all__ = [
    "IssuedCertificate",
    "KeyFileError",
    "MissionInfo",
    "NodeKeys",
    "UnusableCertificate",
    "create_mission",
    "inspect_bundle",
    "issue_node",
    "list_certificates",
    "load_bundle",
    "load_mission",
    "refresh_bundle",
    "revoke",
]
