"""The local application API (PROTOCOL.md): the server in the daemon, a client for apps."""

from __future__ import annotations

from tacmesh.node.api.client import ApiClientError, NodeClient

__all__ = ["ApiClientError", "NodeClient"]
