"""The sans-I/O protocol engines (SPEC.md §8, §9): one node's behaviour as a state machine.

A :class:`~tacmesh.protocol.engine.node.NodeEngine` is fed received frames, link-down
signals, local send requests and timer expiries, each with an explicit ``now``; it returns
frames to send, deliveries and its next deadline. The daemons drive it with sockets and
the event loop's clock, the simulator with virtual links and virtual time, the tests with
bytes. Nothing here reads a clock, sleeps, opens a socket or starts a thread.
"""

COMPILED = not __file__.endswith(".py")
"""Whether these engines run as compiled by mypyc (setup.py, ``TACMESH_COMPILE=1``): the
same source, as C extensions. Figures of speed name it (bench/sim_speed.py)."""
