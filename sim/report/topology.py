"""Map-like plots of topology snapshots (``topology-<t>.png``).

Positions are the scenario's local plane (metres east and north of the site origin),
drawn in kilometres with equal aspect and a scale bar, so distances can be read off as on
a map. Nodes are coloured and shaped by role; dead nodes are grey and crossed out. Links
are coloured by quality (delivery probability, red to green, fainter when poor) with one
line style per radio profile.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.lines import Line2D
from matplotlib.offsetbox import AnchoredOffsetbox, AuxTransformBox, TextArea, VPacker
from matplotlib.patches import Rectangle
from matplotlib.typing import LineStyleType

from tacmesh.sim.report.data import FailureMark, number
from tacmesh.sim.report.figure import new_figure, save

MAX_SNAPSHOTS: Final = 4
ROLE_STYLE: Final = {
    "command_post": ("tab:red", "s"),
    "gateway": ("tab:purple", "D"),
    "ground_backbone": ("tab:brown", "P"),
    "uav_relay": ("tab:cyan", "^"),
    "team_relay": ("tab:orange", "h"),
    "handheld": ("tab:blue", "o"),
    "sensor": ("tab:olive", "v"),
}
"""Colour and marker per role, backbone first; other roles get ``OTHER_STYLE``."""
OTHER_STYLE: Final = ("tab:gray", "o")
DEAD_COLOUR: Final = "0.8"
LINE_STYLES: Final[tuple[LineStyleType, ...]] = ("-", "--", ":", "-.")
QUALITY = colormaps["RdYlGn"]
MAX_LABELLED_NODES: Final = 60
"""Above this many nodes, names would cover the map: they are left out."""


def pick_snapshots(
    snapshots: Sequence[dict[str, Any]], marks: Sequence[FailureMark], limit: int = MAX_SNAPSHOTS
) -> list[dict[str, Any]]:
    """The snapshots worth a map (``snapshots`` in time order): the first, the first one
    at or after each failure (its effect), and the last; at most ``limit``, keeping the
    first and last and the earliest failures."""
    if not snapshots:
        return []
    times = [_t(s) for s in snapshots]
    last = len(times) - 1
    after = [next((i for i, t in enumerate(times) if t >= m.at_s), last) for m in marks]
    middle = [i for i in dict.fromkeys(after) if i not in (0, last)]
    chosen = {0, last, *middle[: max(limit - 2, 0)]}
    return [snapshots[i] for i in sorted(chosen)]


def _t(snapshot: Mapping[str, Any]) -> float:
    return float(snapshot.get("t_s") or 0.0)


def snapshot_file(t_s: float) -> str:
    """``topology-1800.png``; a fractional time keeps one decimal: ``topology-12.5.png``."""
    text = f"{t_s:.0f}" if float(t_s).is_integer() else f"{t_s:.1f}"
    return f"topology-{text}.png"


def write_topology_plots(
    snapshots: Sequence[dict[str, Any]], marks: Sequence[FailureMark], run_dir: Path
) -> list[Path]:
    paths = {run_dir / snapshot_file(_t(s)): s for s in pick_snapshots(snapshots, marks)}
    return [plot_topology(snapshot, path) for path, snapshot in paths.items()]


def plot_topology(snapshot: Mapping[str, Any], path: Path) -> Path:
    """One snapshot as a map: links under nodes, legend and quality colour bar beside."""
    nodes = [n for n in snapshot.get("nodes") or [] if isinstance(n, Mapping)]
    links = [link for link in snapshot.get("links") or [] if isinstance(link, Mapping)]
    fig, (ax,) = new_figure(1, height=7.0, width=10.0)
    alive = sum(1 for n in nodes if n.get("alive", True))
    ax.set_title(
        f"Topology at t = {_t(snapshot):g} s: "
        f"{alive} of {len(nodes)} nodes alive, {len(links)} links"
    )
    ax.set_xlabel("east (km)")
    ax.set_ylabel("north (km)")
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(True, alpha=0.3)
    where = {str(n.get("name")): (_km(n.get("x")), _km(n.get("y"))) for n in nodes}
    handles = _draw_nodes(ax, nodes, where) + _draw_links(ax, links, where)
    ax.margins(0.08)
    _scale_bar(ax, where.values())
    fig.colorbar(
        ScalarMappable(norm=Normalize(0.0, 1.0), cmap=QUALITY),
        ax=ax,
        shrink=0.6,
        label="link quality (delivery probability)",
    )
    if handles:
        fig.legend(handles=handles, loc="outside right upper", fontsize=8)
    return save(fig, path)


def _km(metres: object) -> float:
    found = number(metres)
    return math.nan if found is None else found / 1000.0


def _draw_nodes(
    ax: Axes, nodes: Sequence[Mapping[str, Any]], where: Mapping[str, tuple[float, float]]
) -> list[Line2D]:
    """Scatter the nodes by role; the legend handles (one per role, and ``dead``)."""
    handles, any_dead = [], False
    roles = sorted({str(n.get("role")) for n in nodes}, key=_role_rank)
    for role in roles:
        colour, marker = ROLE_STYLE.get(role, OTHER_STYLE)
        for alive in (True, False):
            group = [n for n in nodes if str(n.get("role")) == role and _alive(n) == alive]
            if not group:
                continue
            x, y = np.array([where[str(n.get("name"))] for n in group]).T
            face = colour if alive else DEAD_COLOUR
            ax.scatter(
                x, y, s=45, c=face, marker=marker, edgecolors="black", linewidths=0.5, zorder=3
            )
            if not alive:
                any_dead = True
                ax.scatter(x, y, s=60, c="black", marker="x", linewidths=1.2, zorder=4)
        handles.append(_handle(role.replace("_", " "), colour, marker))
    if any_dead:
        handles.append(_handle("dead", "black", "x"))
    if len(nodes) <= MAX_LABELLED_NODES:
        for n in nodes:
            x, y = where[str(n.get("name"))]
            ax.annotate(
                str(n.get("name")), (x, y), xytext=(4, 4), textcoords="offset points", fontsize=6
            )
    return handles


def _role_rank(role: str) -> tuple[int, str]:
    order = list(ROLE_STYLE)
    return (order.index(role) if role in order else len(order), role)


def _alive(node: Mapping[str, Any]) -> bool:
    return node.get("alive") is not False


def _handle(label: str, colour: str, marker: str) -> Line2D:
    return Line2D([], [], color=colour, marker=marker, linestyle="None", label=label)


def _draw_links(
    ax: Axes, links: Sequence[Mapping[str, Any]], where: Mapping[str, tuple[float, float]]
) -> list[Line2D]:
    """One line collection per profile, coloured by quality; the profiles' legend handles."""
    handles = []
    profiles = sorted({str(link.get("profile")) for link in links})
    for i, profile in enumerate(profiles):
        style = LINE_STYLES[i % len(LINE_STYLES)]
        mine = [
            link
            for link in links
            if str(link.get("profile")) == profile
            and str(link.get("a")) in where
            and str(link.get("b")) in where
        ]
        segments = [(where[str(link["a"])], where[str(link["b"])]) for link in mine]
        quality = np.array([_quality(link) for link in mine])
        colours = QUALITY(quality)
        colours[:, 3] = 0.3 + 0.7 * quality  # a poor link is also a faint one
        ax.add_collection(
            LineCollection(segments, colors=colours, linestyles=style, linewidths=1.6, zorder=1)
        )
        handles.append(Line2D([], [], color="0.3", linestyle=style, label=f"{profile} link"))
    return handles


def _quality(link: Mapping[str, Any]) -> float:
    """Clamped to 0..1; a link without a quality is drawn as the worst."""
    return min(max(number(link.get("quality")) or 0.0, 0.0), 1.0)


def _scale_bar(ax: Axes, points: Iterable[tuple[float, float]]) -> None:
    """A bar of a round length (about a fifth of the map's width) in the lower left."""
    xs = [x for x, _ in points if math.isfinite(x)]
    span = max(xs) - min(xs) if xs else 0.0
    length = nice_length(span / 5 if span > 0 else 0.1)
    bar = AuxTransformBox(ax.transData)
    bar.add_artist(Rectangle((0, 0), length, 0, edgecolor="black", linewidth=2))
    label = f"{length:g} km" if length >= 1 else f"{length * 1000:g} m"
    packed = VPacker(children=[bar, TextArea(label)], align="center", pad=0, sep=4)
    ax.add_artist(AnchoredOffsetbox(loc="lower left", child=packed, pad=0.4, borderpad=0.6))


def nice_length(km: float) -> float:
    """The largest 1, 2 or 5 times a power of ten not above ``km`` (km > 0)."""
    power = 10.0 ** math.floor(math.log10(km))
    return max(step * power for step in (1.0, 2.0, 5.0) if step * power <= km * (1 + 1e-9))
