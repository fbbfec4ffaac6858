"""tacmesh.node: the asyncio runtime, CLI and local API of a ground node."""
