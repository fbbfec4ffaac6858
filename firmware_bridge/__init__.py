"""tacmesh.firmware_bridge: see ../shared/DESIGN.md; filled in by its issue."""
