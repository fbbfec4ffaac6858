"""The TacMesh Gateway Protocol, version 1: wire layer and (later) sans-I/O engines.

Nothing in this package reads a clock, sleeps, opens a socket or starts a thread: every
operation that depends on time takes ``now`` from its caller. ``SPEC.md`` beside this file
is the normative text; the code follows it section by section.
"""

PROTOCOL_VERSION = 1
