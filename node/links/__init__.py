"""The daemon's links: UDP over IP (``udp.py``) and which OS interfaces exist (``oswatch.py``).

A link moves whole frames between the engine and one bearer. It knows nothing of the
protocol beyond the transmitter field it uses to learn where a neighbour's frames come
from; the engine decides everything else. Serial radios join here through
``firmware_bridge`` with the same small surface: open, send, close, frames in.
"""
