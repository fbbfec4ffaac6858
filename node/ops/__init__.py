"""tacmesh.node.ops: what a daemon needs to live under an init system, not on a desk.

The systemd notify protocol (readiness, reload, stopping, watchdog pings), structured
logs for the journal or a log shipper, and an opt-in Prometheus endpoint bound to the
loopback interface. Nothing in here knows about the protocol engines: the runtime hands
in status text and metric values, and these modules only carry them out of the process.
"""
