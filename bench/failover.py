"""Silent relay failure and planned hand-off in a backbone, in virtual time.

Usage: python bench/failover.py [--seeds N]
Prints hello_interval_s, control_bytes_per_s_per_interface (100 prefixes announced),
planned_handoff_lost_packets and, last, silent_failover_s (worst over the seeds).
Goals (engines issue): silent_failover_s <= 1.5 with control traffic <= 100 B/s per
interface; planned_handoff_lost_packets: 0. The scenario is in tacmesh/sim/backbone.py.
"""

from __future__ import annotations

import argparse

from tacmesh.sim.backbone import planned_handoff, silent_failover


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="runs with other jitter (default 5)")
    args = parser.parse_args()
    runs = [silent_failover(seed) for seed in range(1, args.seeds + 1)]
    lost = [planned_handoff(seed) for seed in range(1, args.seeds + 1)]
    for seed, (r, handoff) in enumerate(zip(runs, lost, strict=True), start=1):
        print(
            f"seed {seed}: silent failover {r.silent_failover_s:.3f} s, "
            f"control {r.control_bytes_per_s_per_interface:.1f} B/s per interface, "
            f"lost in the silent failure {r.lost_packets}, lost in the hand-off {handoff}"
        )
    control = max(r.control_bytes_per_s_per_interface for r in runs)
    print(f"hello_interval_s: {runs[0].hello_interval_s}")
    print(f"control_bytes_per_s_per_interface: {control:.1f}")
    print(f"planned_handoff_lost_packets: {max(lost)}")
    print(f"silent_failover_s: {max(r.silent_failover_s for r in runs):.3f}")


if __name__ == "__main__":
    main()
