"""tacmesh.sim: the network simulator (virtual time, the same engines as the daemons)."""
