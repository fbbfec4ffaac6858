"""Print the on-air size of each hot message as a complete authenticated narrowband frame.

Usage: python bench/wire_budget.py
The last line is the figure the foundation issue tracks: position_report_on_air_bytes (goal <= 32).
"""

from __future__ import annotations

from tacmesh.protocol.budget import format_budget, wire_budget


def main() -> None:
    rows = wire_budget()
    print(format_budget(rows))
    position = next(r for r in rows if r.message == "position")
    print()
    print(f"position_report_on_air_bytes: {position.narrowband_bytes}")


if __name__ == "__main__":
    main()
