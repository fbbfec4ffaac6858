"""Distance-vector routing with feasibility (SPEC.md §8.2), after Babel (RFC 8966).

Loop-freedom at all times comes from the feasibility condition: a node accepts a route
from a neighbour only if the neighbour's advertised metric is smaller than the best metric
this node has itself advertised for that source and sequence number (its feasibility
distance), or if the sequence number is newer. When a node loses its last feasible route
it retracts, and asks the source for a newer sequence number; the source bumps it, and
the new number makes a fresh route feasible everywhere.

This module is pure bookkeeping; ``node.py`` turns its results into frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import attrgetter

from tacmesh.protocol.addresses import Prefix
from tacmesh.protocol.engine.neighbours import INFINITY, NeighbourKey
from tacmesh.protocol.pb import control_pb2

SEQNO_MOD = 1 << 16
DEFAULT = Prefix(0, 0)
"""The default route: a gateway offers it on its sub-net interfaces (SPEC.md §8.2.5)."""
DEPARTING_PENALTY = 16
"""Routes through a departing neighbour cost this many times more: still usable, never
preferred. The penalty applies only to seqnos newer than those held when the departure was
announced: a metric rise under an old seqno would be unfeasible downstream and break
routes there, while under a new seqno it is feasible everywhere (SPEC.md §8.3)."""


def seqno_newer(a: int, b: int) -> bool:
    """``a`` is after ``b`` in 16-bit modular order."""
    return a != b and (a - b) % SEQNO_MOD < SEQNO_MOD // 2


@dataclass(slots=True)
class LearnedRoute:
    prefix: Prefix
    router_id: int
    seqno: int
    advertised: int
    """The neighbour's metric, as it announced it."""
    via: NeighbourKey
    link_cost: int
    """Change it through :meth:`cost`, which keeps ``metric`` in step."""
    refreshed_at: float
    metric: int = field(init=False)
    """Through this neighbour: kept, not computed, as selection asks it of every candidate."""

    def __post_init__(self) -> None:
        self.metric = _total(self.advertised, self.link_cost)

    def cost(self, link_cost: int) -> None:
        """Set the link cost (after ``advertised``, if both change), and so the metric."""
        self.link_cost = link_cost
        self.metric = _total(self.advertised, link_cost)


def _total(advertised: int, link_cost: int) -> int:
    if advertised >= INFINITY or link_cost >= INFINITY:
        return INFINITY
    return min(INFINITY - 1, advertised + link_cost)


@dataclass(slots=True)
class Selected:
    """The route a node uses and advertises for a prefix."""

    prefix: Prefix
    router_id: int
    seqno: int
    metric: int
    via: NeighbourKey | None
    """None for a prefix this node originates."""

    def __init__(  # as engine.events.Transmit's
        self, prefix: Prefix, router_id: int, seqno: int, metric: int, via: NeighbourKey | None
    ) -> None:
        self.prefix = prefix
        self.router_id = router_id
        self.seqno = seqno
        self.metric = metric
        self.via = via


class RoutingTable:
    def __init__(
        self, address: int, prefixes: tuple[Prefix, ...], *, serves_default: bool = False
    ) -> None:
        self.address = address
        self.seqno = 0
        self.own: list[Prefix] = [Prefix(address, 16), *prefixes]
        if serves_default:
            self.own.append(DEFAULT)
        self._owned = set(self.own)
        """``own`` as a set: asked of every entry of every update heard."""
        self.learned: dict[Prefix, dict[NeighbourKey, LearnedRoute]] = {}
        """Routes heard, by prefix, then by the neighbour that announced them. Changed only
        through ``_learn`` and ``_unlearn``, which keep ``through`` in step."""
        self.through: dict[NeighbourKey, dict[Prefix, LearnedRoute]] = {}
        """The same routes by neighbour: a link's cost or loss touches only its own routes
        (a gateway holds a hundred prefixes from its relay and ten from each teammate)."""
        self.selected: dict[Prefix, Selected] = {
            p: Selected(p, address, 0, 0, None) for p in self.own
        }
        self._lengths: list[int] = []
        """Every prefix length ever selected, longest first: lookup probes these."""
        for p in self.own:
            self._note_length(p)
        self.feasibility: dict[tuple[Prefix, int], tuple[int, int]] = {}
        """(prefix, router id) -> (seqno, metric) this node advertised best."""
        self.wanted: dict[Prefix, int] = {}
        """Prefixes lost and the seqno asked for, until a route comes back."""
        self.lost_at: dict[Prefix, float] = {}
        self.now = 0.0
        """Time of the input being processed (set by the control plane)."""
        self.urgent: set[Prefix] = set()
        """Changed prefixes with a new source or seqno (a hand-off, a repair): told at once."""
        self.minor: set[Prefix] = set()
        """Changed prefixes whose change is too small to tell about at all."""
        self.found: set[Prefix] = set()
        """Changed prefixes that had no route before: with ``urgent``, what narrowband
        interfaces hear at once (SPEC.md §8.2.3.1)."""
        self.departing: dict[NeighbourKey, dict[Prefix, int]] = {}
        """Departing neighbours, with the seqno each prefix had when the news came."""

    # -- inputs ------------------------------------------------------------------------

    def on_update(
        self, now: float, via: NeighbourKey, cost: int, entries: list[control_pb2.RouteEntry]
    ) -> set[Prefix]:
        """Record a neighbour's advertisements; return the prefixes whose selection changed."""
        touched = set()
        owned, learned = self._owned, self.learned
        for e in entries:
            # the cache inline first: nearly every entry hits it, and a call costs as much
            prefix = _PREFIXES.get((e.prefix, e.host_bits)) or _prefix(e)
            if prefix is None or prefix in owned:
                continue
            router, metric, seqno = e.router_id or prefix.base, e.metric, e.seqno % SEQNO_MOD
            if metric >= INFINITY:
                if self._retracted(prefix, via, router, seqno):
                    touched.add(prefix)
                continue
            routes = learned.get(prefix)
            known = None if routes is None else routes.get(via)
            if (
                known is not None
                and known.advertised == metric
                and known.seqno == seqno
                and known.link_cost == cost
                and known.router_id == router
            ):
                # A periodic repeat: only its freshness changes, never the selection.
                known.refreshed_at = now
                continue
            if known is not None:  # news of a route held: changed in place, still indexed
                route = known
                route.router_id, route.seqno, route.advertised = router, seqno, metric
                route.cost(cost)
                route.refreshed_at = now
            else:
                route = LearnedRoute(prefix, router, seqno, metric, via, cost, now)
                self._learn(route)
            if not self._outranked(prefix, via, route):
                touched.add(prefix)
        return {p for p in touched if self._select(p)}

    def _retracted(self, prefix: Prefix, via: NeighbourKey, router: int, seqno: int) -> bool:
        """``via`` retracted ``prefix``: forget its route; True if the selection may change."""
        self._unlearn(prefix, via)
        if router != via[1]:
            return not self._outranked(prefix, via, None)
        # The originator itself withdrew it: the source is gone, so routes others told us
        # of (with that seqno or older) are stale.
        routes = self.learned.get(prefix, {})
        for v in [
            v
            for v, r in routes.items()
            if r.router_id == router and not seqno_newer(r.seqno, seqno)
        ]:
            self._unlearn(prefix, v)
        return True

    def _outranked(self, prefix: Prefix, via: NeighbourKey, route: LearnedRoute | None) -> bool:
        """Whether news of the route heard from ``via`` (``None``: withdrawn) cannot change
        the selection, so that selection need not run. With no departure pending, the
        selected route is the best feasible one by (metric, neighbour); a route that is not
        it and stays behind it changes nothing: the selected route, its feasibility and
        every other candidate are as they were. On a shared channel where a hundred
        neighbours advertise every prefix, this is nearly every entry of every update."""
        if self.departing:
            return False
        sel = self.selected.get(prefix)
        if sel is None or sel.via is None or sel.via == via or sel.metric >= INFINITY:
            return False
        if route is None or route.metric >= INFINITY or not self._feasible(route):
            return True
        return (route.metric, via) > (sel.metric, sel.via)

    def on_cost(self, via: NeighbourKey, cost: int) -> set[Prefix]:
        touched = set()
        for prefix, route in self.through.get(via, {}).items():
            if route.link_cost != cost:
                route.cost(cost)
                if not self._outranked(prefix, via, route):
                    touched.add(prefix)
        # A link's quality wanders with every lost hello; a selection that moves only a
        # little with it is not news anywhere (it is in the next periodic update). Left
        # unchecked, a hundred neighbours on one channel re-advertise their tables for
        # ever (SPEC.md §8.2.3).
        return {p for p in touched if self._select(p) and p not in self.minor}

    def on_departure(self, via: NeighbourKey) -> None:
        """``via`` announced it will leave. Nothing changes until the seqno requests the
        control plane sends bring newer seqnos; routes through ``via`` then pay the penalty."""
        self.departing[via] = {p: r.seqno for p, r in self.through.get(via, {}).items()}

    def on_neighbour_lost(self, via: NeighbourKey) -> set[Prefix]:
        self.departing.pop(via, None)
        touched = set(self.through.get(via, ()))
        for prefix in touched:
            self._unlearn(prefix, via)
        return {p for p in touched if self._select(p)}

    def expire(self, now: float, hold_s: float) -> set[Prefix]:
        """Drop routes no update has refreshed for ``hold_s`` (a neighbour that went quiet
        about a prefix without retracting it)."""
        touched = set()
        for prefix, routes in self.learned.items():
            for via in [v for v, r in routes.items() if now - r.refreshed_at >= hold_s]:
                self._unlearn(prefix, via)
                touched.add(prefix)
        return {p for p in touched if self._select(p)}

    def on_request(self, prefix: Prefix, seqno: int) -> bool:
        """A neighbour lost ``prefix`` and asks for ``seqno`` or newer. True if this node can
        answer with an update (it has such a route, bumping its own seqno if it originates
        the prefix); False if the request must travel on toward the source."""
        if prefix in self._owned:
            if seqno_newer(seqno, self.seqno):
                self.seqno = seqno
                for p in self.own:
                    self.selected[p] = Selected(p, self.address, self.seqno, 0, None)
            return True
        sel = self.selected.get(prefix)
        return sel is not None and sel.metric < INFINITY and not seqno_newer(seqno, sel.seqno)

    def originate(self, prefix: Prefix) -> bool:
        """Start announcing ``prefix`` (a gateway took on a team); True if that is news."""
        if prefix in self._owned:
            return False
        self.own.append(prefix)
        self._owned.add(prefix)
        for via in list(self.learned.get(prefix, ())):  # our own announcement wins
            self._unlearn(prefix, via)
        self.learned.pop(prefix, None)
        self.selected[prefix] = Selected(prefix, self.address, self.seqno, 0, None)
        self._note_length(prefix)
        self.wanted.pop(prefix, None)
        return True

    def withdraw(self, prefix: Prefix) -> bool:
        """Stop announcing ``prefix``: advertise a retraction, as fast as an announcement."""
        if prefix not in self._owned or prefix == self.own[0]:
            return False
        self.own.remove(prefix)
        self._owned.discard(prefix)
        self.selected[prefix] = Selected(prefix, self.address, self.seqno, INFINITY, None)
        # Our own old announcements may still echo back: a feasibility distance of metric 0
        # at our seqno makes every one of them unfeasible (RFC 8966 §3.5.1).
        self.feasibility[(prefix, self.address)] = (self.seqno, 0)
        self.lost_at[prefix] = self.now
        return True

    def _learn(self, route: LearnedRoute) -> None:
        self.learned.setdefault(route.prefix, {})[route.via] = route
        self.through.setdefault(route.via, {})[route.prefix] = route

    def _unlearn(self, prefix: Prefix, via: NeighbourKey) -> None:
        self.learned.get(prefix, {}).pop(via, None)
        mine = self.through.get(via)
        if mine is not None:
            mine.pop(prefix, None)
            if not mine:
                del self.through[via]

    # -- selection ---------------------------------------------------------------------

    def _feasible(self, r: LearnedRoute) -> bool:
        fd = self.feasibility.get((r.prefix, r.router_id))
        if fd is None:
            return True
        fd_seqno, fd_metric = fd
        return seqno_newer(r.seqno, fd_seqno) or (r.seqno == fd_seqno and r.advertised < fd_metric)

    def _select(self, prefix: Prefix) -> bool:
        """Choose the best feasible route; True if what we advertise for ``prefix`` changed."""
        old = self.selected.get(prefix)
        routes = self.learned.get(prefix)
        candidates = [] if routes is None else [
            r for r in routes.values() if r.metric < INFINITY and self._feasible(r)
        ]  # fmt: skip
        if len(candidates) < 2:
            best = candidates[0] if candidates else None
        elif not self.departing:  # no penalty: the best source's best path is the best path
            best = min(candidates, key=_RANK)
        else:
            # The source (originating router) is chosen on plain metrics, and the departure
            # penalty only ranks paths to that source: a departure is a reason to move to
            # another path, not to another source, which could be one whose withdrawal
            # has not reached us yet (a team prefix moving between gateways).
            source = min(candidates, key=_RANK).router_id
            candidates = [r for r in candidates if r.router_id == source]
            best = min(candidates, key=lambda r: (self._metric(r), r.via))
        if best is None:
            if old is None or old.metric >= INFINITY:
                return False
            # Keep advertising the loss (a retraction) with the old seqno until it is forgotten.
            self.selected[prefix] = Selected(prefix, old.router_id, old.seqno, INFINITY, None)
            self.wanted[prefix] = (old.seqno + 1) % SEQNO_MOD
            self.lost_at[prefix] = self.now
            self.urgent.add(prefix)
            self.minor.discard(prefix)
            return True
        new = Selected(prefix, best.router_id, best.seqno, self._metric(best), best.via)
        self._raise_feasibility(new)
        self.wanted.pop(prefix, None)
        self.lost_at.pop(prefix, None)
        if old is None:
            self._note_length(prefix)
        self.selected[prefix] = new
        changed = old is None or (old.router_id, old.seqno, old.metric, old.via) != (
            new.router_id,
            new.seqno,
            new.metric,
            new.via,
        )
        if changed and old is not None and not _worth_telling(old, new):
            self.minor.add(prefix)
        else:
            self.minor.discard(prefix)
        if changed and old is not None and _news_of_source(old, new):
            self.urgent.add(prefix)
        if old is None:
            self.found.add(prefix)
        return changed

    def _metric(self, r: LearnedRoute) -> int:
        """The route's metric, with the departure penalty where it applies."""
        marks = self.departing.get(r.via)
        if marks is None:
            return r.metric
        mark = marks.get(r.prefix)
        if mark is not None and not seqno_newer(r.seqno, mark):
            return r.metric
        return min(INFINITY - 1, r.metric * DEPARTING_PENALTY)

    def _raise_feasibility(self, s: Selected) -> None:
        key = (s.prefix, s.router_id)
        fd = self.feasibility.get(key)
        if fd is None or seqno_newer(s.seqno, fd[0]) or (s.seqno == fd[0] and s.metric < fd[1]):
            self.feasibility[key] = (s.seqno, s.metric)

    # -- outputs -----------------------------------------------------------------------

    def lookup(self, address: int) -> Selected | None:
        """Longest-prefix match among usable routes (own prefixes included): one probe
        per prefix length in use, not a scan of the table (a relay holds hundreds)."""
        for length in self._lengths:
            sel = self.selected.get(_block(address, length))
            # A gateway's own default route is for its sub-nets, never for itself.
            if sel is None or sel.metric >= INFINITY or (sel.via is None and length == 0):
                continue
            return sel
        return None

    def _note_length(self, prefix: Prefix) -> None:
        if prefix.length not in self._lengths:
            self._lengths = sorted({*self._lengths, prefix.length}, reverse=True)

    def entries(
        self,
        prefixes: set[Prefix] | None = None,
        *,
        subnet: bool = False,
        unneeded: frozenset[NeighbourKey] = frozenset(),
    ) -> list[control_pb2.RouteEntry]:
        """What to advertise on one interface: every selected route, or only ``prefixes``,
        less what the sub-net boundary keeps apart (SPEC.md §8.2.5), and less the route to
        each neighbour of ``unneeded`` through that neighbour itself: everyone who hears
        the update has a cheaper link of its own to it (SPEC.md §8.2.3.3)."""
        chosen = (
            self.selected.values()
            if prefixes is None
            else [self.selected[p] for p in prefixes if p in self.selected]
        )
        # the team blocks of a gateway with sub-nets, found once per update, not per entry
        blocks = [o for o in self.own if 0 < o.length < 16] if DEFAULT in self._owned else None
        shown = [
            s
            for s in chosen
            if (blocks is None or self._shown(s.prefix, subnet, blocks))
            and not (s.via in unneeded and s.metric < INFINITY and s.prefix == Prefix(s.via[1], 16))
        ]
        return [_entry(s) for s in sorted(shown, key=lambda s: (s.prefix.base, s.prefix.length))]

    def _shown(self, prefix: Prefix, subnet: bool, blocks: list[Prefix]) -> bool:
        """Whether a gateway with sub-nets (``blocks``: its team blocks) shows ``prefix``
        on a sub-net interface (``subnet``) or elsewhere."""
        inside = any(own.covers(prefix) for own in blocks if own != prefix)
        if subnet:  # the team sees its own block and a default route, nothing else
            return prefix in self._owned or inside
        return prefix != DEFAULT and not inside  # the backbone sees the block, summarised

    def forget_retractions(self, now: float, keep_s: float) -> set[Prefix]:
        """Drop losses announced at least ``keep_s`` ago (their retractions went out in a
        triggered update and a full one), so dead prefixes do not stay in tables forever.
        Return the prefixes whose selection changed (a route that only the forgotten
        feasibility distance kept out is selected now, not at its next changed update)."""
        reselect = set()
        for p in [p for p, at in self.lost_at.items() if now - at >= keep_s]:
            sel = self.selected.get(p)
            if sel is not None and sel.metric >= INFINITY:
                del self.selected[p]
                # With the retraction long gone, so are the routes it could loop with: the
                # feasibility distance may go too (RFC 8966 garbage-collects source entries),
                # or a route that is fine but no better than the old one stays unusable.
                for key in [k for k in self.feasibility if k[0] == p and p not in self._owned]:
                    del self.feasibility[key]
                reselect.add(p)
            self.wanted.pop(p, None)
            del self.lost_at[p]
        for p in [p for p, routes in self.learned.items() if not routes]:
            del self.learned[p]
        return {p for p in reselect if self._select(p)}


def _worth_telling(old: Selected, new: Selected) -> bool:
    """Whether a change deserves a triggered update on narrowband (SPEC.md §8.2.3): a new
    source or seqno, a route lost or found, or a metric that moved by a quarter or more.
    Smaller moves (link quality wandering with a lost hello) wait for the periodic update:
    on a shared narrowband channel every triggered update costs every neighbour airtime
    and risks collisions that move qualities again. Not telling is safe for loop freedom:
    neighbours judge feasibility by what was advertised, and this node's feasibility
    distance only ever tightens."""
    if (old.router_id, old.seqno) != (new.router_id, new.seqno):
        return True
    if (old.metric >= INFINITY) != (new.metric >= INFINITY):
        return True
    return abs(new.metric - old.metric) * 4 >= max(1, old.metric)


def _news_of_source(old: Selected, new: Selected) -> bool:
    """A new source or seqno, or a route lost or found again: what repairs and hand-offs
    are made of, so it must not wait behind the aggregation of ordinary changes."""
    if (old.router_id, old.seqno) != (new.router_id, new.seqno):
        return True
    return (old.metric >= INFINITY) != (new.metric >= INFINITY)


def _prefix(e: control_pb2.RouteEntry) -> Prefix | None:
    """The entry's prefix, or None when its wire form is not one."""
    try:
        return _known(e.prefix, e.host_bits)
    except ValueError:
        return None


def _block(address: int, length: int) -> Prefix:
    """The prefix of ``length`` bits that holds ``address``."""
    host_bits = 16 - length
    return _known(address >> host_bits << host_bits, host_bits)


def _known(base: int, host_bits: int) -> Prefix:
    """The prefix of wire form (base, host_bits), checked once and then reused; raises
    ValueError for one that is not a prefix."""
    found = _PREFIXES.get((base, host_bits))
    if found is None:
        found = Prefix(base, 16 - host_bits)
        if len(_PREFIXES) < _PREFIX_CACHE:
            _PREFIXES[(base, host_bits)] = found
    return found


_PREFIX_CACHE = 1 << 17
_RANK = attrgetter("metric", "via")
"""Routes rank by metric, then neighbour (a fixed order, so that ties break alike)."""
_PREFIXES: dict[tuple[int, int], Prefix] = {}
"""Prefixes already checked, by their wire form: every update repeats most of a table,
and checking a prefix (a frozen dataclass) costs more than the rest of its entry."""


def _entry(s: Selected) -> control_pb2.RouteEntry:
    return control_pb2.RouteEntry(
        prefix=s.prefix.base,
        host_bits=16 - s.prefix.length,
        router_id=0 if s.router_id == s.prefix.base else s.router_id,
        seqno=s.seqno,
        metric=s.metric,
    )
