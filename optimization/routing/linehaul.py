"""The nightly line-haul: DC vans carry tonight's transfers to the forward warehouses.

One routing problem per DC: full vans go straight to their warehouse, the
rest is routed with the generic VRPTW solver (:func:`optimization.routing.solve`):

* **loads** — per forward warehouse, the litres of tonight's replenishment
  due tomorrow morning (``lead_time_days`` 0: the plan's allocated
  quantities × unit volume). Pull-backs ride back on the next night's empty
  van and are not routed here.
* **shuttles** — a load of ``k`` full vans and a bit goes as ``k`` shuttles
  (one full van straight to the warehouse and back: nothing to route) and
  the bit left over (less than a van) as one drop. The first large night
  (2026-12-06: 5.9 million litres for 30 warehouses) was 751 drops: routed
  with a trip fleet to match (753, then 2,253 trips), the solver found no
  first solution in its budget and every litre went unassigned; as 721
  shuttles and 30 leftover drops it is planned in ~3 s.
* **trips** — the leftover drops are routed by the generic solver: the night
  is cut into ``trips_per_van`` equal slots, each offering trips (vehicles of
  the routing problem) that may start in it, so a van can load again at the
  DC between trips. A fixed cost per trip makes the solver use as few trips
  as it can. Trips per slot: ``vans`` if set, else the drops divided by the
  trips, plus one (if that leaves drops behind, one per drop).
* **vans** — the routed trips (at their times) and the shuttles (at any time
  their window allows) are then put on physical vans by
  :func:`optimization.routing.linehaul_vans.schedule_vans`: ``reload_s`` at
  the DC between two trips, at most ``trips_per_van`` trips a van, and at
  most ``vans`` vans when set (trips left over are unassigned, with the
  reason). :attr:`LinehaulPlan.vans_needed` counts them.
* **windows** — a warehouse takes deliveries from ``accept_from`` and must
  have them by ``deliver_by``, so the staff can shelve before the stores
  open. Service: ``unload_fixed_s`` plus ``unload_s_per_1000l`` per 1,000 l.
  A shuttle whose warehouse is too far to unload in the window and be back by
  ``return_by`` is unassigned with the reason.
* **travel** — the van profile of the travel-time provider at the hour the
  night starts (off-peak: the roads are empty at night).

Times inside the problem are seconds from ``night_start`` on the planning
day (local time, Asia/Shanghai by default); :func:`route_rows` turns them
into the ``routes`` table's UTC timestamps. The plan of a DC is one routing
problem and solution (the shuttles are vehicles of their own), checked by the
independent checker, and its vans by :func:`~optimization.routing.linehaul_vans.van_clashes`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from optimization.routing import (
    HaversineProvider,
    RoutingProblem,
    RoutingSolution,
    SolveParams,
    Stop,
    TravelMatrices,
    TravelTimeProvider,
    Vehicle,
    solve,
)
from optimization.routing.linehaul_vans import VanRules, put_on_vans

#: Litres to deliver per (DC, forward warehouse) tonight.
LINEHAUL_LOADS = pl.Schema(
    {"dc_id": pl.String, "warehouse_id": pl.String, "volume_l": pl.Float64, "units": pl.Int64}
)

#: Where each warehouse (DC or forward) is.
SITES = pl.Schema({"warehouse_id": pl.String, "lat": pl.Float64, "lon": pl.Float64})

#: Rows of the ``routes`` table (less ``run_id``): a departure (seq 0), the stops, the return.
ROUTE_ROWS = pl.Schema(
    {
        "kind": pl.String(),
        "route_id": pl.String(),
        "vehicle_id": pl.String(),
        "seq": pl.Int64(),
        "stop_id": pl.String(),
        "location_id": pl.String(),
        "arrival": pl.Datetime("us", "UTC"),
        "load": pl.Float64(),
        "distance_m": pl.Int64(),
    }
)


@dataclass(frozen=True)
class LinehaulParams:
    """Fleet, night timetable and unloading times (defaults: a city panel-van fleet).

    ``van_capacity_l`` 8,000 l is the usable volume of a 3.5 t panel van
    (~10 m³ of load space, ~80 % of it usable with roll cages).
    """

    van_capacity_l: int = 8_000
    vans: int | None = None
    trips_per_van: int = 3
    reload_s: int = 1_800
    night_start: time = time(22, 0)
    depart: time = time(23, 0)
    accept_from: time = time(23, 30)
    deliver_by: time = time(6, 30)
    return_by: time = time(8, 0)
    unload_fixed_s: int = 600
    unload_s_per_1000l: int = 300
    van_fixed_cost: int = 1_000_000
    timezone: str = "Asia/Shanghai"
    #: The solver's budget per DC: ``time_per_stop_s`` a routed drop, at least 1 s, at
    #: most ``time_limit_s``. With full vans sent as shuttles a DC routes at most one
    #: drop per warehouse (8 on the medium network, 30 on the large); 0.5 s and 10 s
    #: found the same routes on every medium night tried, while the solver always
    #: spends its whole budget (guided local search does not stop early).
    time_limit_s: float = 10.0
    time_per_stop_s: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.time_limit_s > 0 or not self.time_per_stop_s > 0:
            raise ValueError("the solver's time limit and time per stop must be > 0 s")
        if self.van_capacity_l <= 0:
            raise ValueError(f"van capacity must be > 0 l, got {self.van_capacity_l}")
        if self.vans is not None and self.vans < 1:
            raise ValueError(f"vans must be at least 1, got {self.vans}")
        if self.trips_per_van < 1:
            raise ValueError(f"trips_per_van must be at least 1, got {self.trips_per_van}")
        if (
            not self.offset(self.depart)
            < self.offset(self.deliver_by)
            <= self.offset(self.return_by)
        ):
            raise ValueError("the night must run depart < deliver_by <= return_by")

    def offset(self, moment: time) -> int:
        """Seconds from ``night_start`` to ``moment`` (after midnight counts as the next day)."""
        start = self.night_start.hour * 3600 + self.night_start.minute * 60
        seconds = moment.hour * 3600 + moment.minute * 60 + moment.second
        return (seconds - start) % 86_400


@dataclass(frozen=True)
class LinehaulPlan:
    """One DC's night: its routing problem (routed trips and shuttles), the checked
    solution, which warehouse each stop serves, and the van of each trip."""

    dc_id: str
    problem: RoutingProblem
    solution: RoutingSolution
    stop_warehouse: dict[str, str]
    stop_volume: dict[str, float]

    van_of: dict[str, str]

    @property
    def unassigned_volume_l(self) -> float:
        """Litres that no van could deliver in time."""
        return float(sum(self.stop_volume[u.stop] for u in self.solution.unassigned))

    @property
    def delivered_l(self) -> float:
        """Litres the trips deliver."""
        return float(sum(self.stop_volume[s] for r in self.solution.routes for s in r.stops))

    @property
    def trips(self) -> int:
        """Trips driven (routes of the solution)."""
        return len(self.solution.routes)

    @property
    def vans_needed(self) -> int:
        """Physical vans: the trips chained on vans (each trip once, reloading between)."""
        return len(set(self.van_of.values()))

    @property
    def fill(self) -> float:
        """Delivered litres over the capacity of the trips driven (0 without trips)."""
        capacity = {v.id: v.capacity for v in self.problem.vehicles}
        offered = sum(capacity[r.vehicle] for r in self.solution.routes)
        return self.delivered_l / offered if offered else 0.0


def linehaul_loads(plan: pl.DataFrame) -> pl.DataFrame:
    """``LINEHAUL_LOADS`` from the night's plan (``replenishment.planning.NETWORK_PLAN``)."""
    return (
        plan.filter((pl.col("allocated_quantity") > 0) & (pl.col("lead_time_days") == 0))
        .group_by("dc_id", "warehouse_id")
        .agg(
            volume_l=(pl.col("allocated_quantity") * pl.col("unit_volume_l")).sum(),
            units=pl.col("allocated_quantity").sum(),
        )
        .select(LINEHAUL_LOADS.names())
        .cast(LINEHAUL_LOADS)
        .sort("dc_id", "warehouse_id")
    )


def plan_linehaul(
    loads: pl.DataFrame,
    sites: pl.DataFrame,
    params: LinehaulParams = LinehaulParams(),
    provider: TravelTimeProvider | None = None,
) -> list[LinehaulPlan]:
    """Send every DC's full vans as shuttles, route the rest, and put the trips on vans.

    Parameters
    ----------
    loads
        ``LINEHAUL_LOADS`` (rows with no volume are skipped).
    sites
        ``SITES`` for every DC and forward warehouse in ``loads``.
    params
        Fleet, timetable, unloading times, solver limit.
    provider
        Travel times (default: :class:`HaversineProvider`).

    Raises
    ------
    ValueError
        If a warehouse of ``loads`` has no coordinates in ``sites``.
    InfeasibleSolutionError
        If a plan fails the independent check of its routes or vans (a bug).
    """
    provider = provider or HaversineProvider()
    where = {row[0]: (row[1], row[2]) for row in sites.select(SITES.names()).rows()}
    plans: list[LinehaulPlan] = []
    for (dc_id,), part in loads.filter(pl.col("volume_l") > 0).group_by(
        "dc_id", maintain_order=True
    ):
        assert isinstance(dc_id, str)
        names = (dc_id, *part["warehouse_id"].to_list())
        missing = [n for n in names if n not in where]
        if missing:
            raise ValueError(f"warehouse {missing[0]!r} has no coordinates")
        matrices = provider.matrices([where[n] for n in names], "van", params.night_start.hour)
        drops = _drops(part, params)
        routed = _route(dc_id, matrices, drops.routed, params)
        plans.append(_plan(dc_id, routed, drops, params))
    return plans


@dataclass(frozen=True)
class _Drops:
    """A DC's drops: full vans to send as shuttles, the leftovers to route."""

    shuttles: list[Stop]
    routed: list[Stop]
    warehouse: dict[str, str]
    volume: dict[str, float]


def _drops(part: pl.DataFrame, params: LinehaulParams) -> _Drops:
    """Per warehouse, ``⌊load / van⌋`` full-van shuttles and a drop for what is left.

    Stop ids: the warehouse's id when it gets one drop, else ``{warehouse}#1…``
    (the shuttles first). Location ``k`` is the ``k``-th warehouse of ``part``.
    """
    drops = _Drops([], [], {}, {})
    capacity = params.van_capacity_l
    window = (params.offset(params.accept_from), params.offset(params.deliver_by))
    for location, (warehouse, volume) in enumerate(
        part.select("warehouse_id", "volume_l").rows(), start=1
    ):
        full = int(volume // capacity)
        rest = volume - full * capacity
        shares = [float(capacity)] * full + ([rest] if rest > 0 else [])
        for k, share in enumerate(shares):
            stop_id = warehouse if len(shares) == 1 else f"{warehouse}#{k + 1}"
            stop = Stop(
                stop_id,
                location,
                min(capacity, math.ceil(share)),
                params.unload_fixed_s + math.ceil(params.unload_s_per_1000l * share / 1000),
                window,
            )
            (drops.shuttles if k < full else drops.routed).append(stop)
            drops.warehouse[stop_id] = warehouse
            drops.volume[stop_id] = share
    return drops


def _route(
    dc_id: str, matrices: TravelMatrices, stops: list[Stop], params: LinehaulParams
) -> tuple[RoutingProblem, RoutingSolution]:
    """The leftover drops' routing problem and solution (no routes when there are none).

    Few trips per slot first, so trips spread over the night; if that leaves
    drops behind, as many as there are drops.
    """
    fleets = [params.vans] if params.vans else [-(-len(stops) // params.trips_per_van) + 1]
    if not params.vans and fleets[0] < len(stops):
        fleets.append(len(stops))
    budget = min(params.time_limit_s, max(1.0, params.time_per_stop_s * len(stops)))
    for fleet in fleets:
        problem = RoutingProblem(
            f"linehaul {dc_id}", 0, matrices, _trips(dc_id, fleet, params), tuple(stops)
        )
        if not stops:
            return problem, RoutingSolution((), (), 0, 0)
        solution = solve(problem, SolveParams(time_limit=budget, seed=params.seed))
        if not solution.unassigned:
            break
    return problem, solution


def _trips(dc_id: str, fleet: int, params: LinehaulParams) -> tuple[Vehicle, ...]:
    """One vehicle per (van, trip): trip ``k`` of van ``i`` is ``{dc}-t{k}-{i}``.

    Trip ``k`` may leave from ``depart + k·slot`` on (``slot`` cuts the time
    to ``deliver_by`` into ``trips_per_van`` parts) and has until the end of
    the night to come back, so later trips start after earlier ones.
    """
    start, end = params.offset(params.depart), params.offset(params.return_by)
    slot = (params.offset(params.deliver_by) - start) // params.trips_per_van
    return tuple(
        Vehicle(
            f"{dc_id}-t{k + 1}-{i + 1:03d}",
            params.van_capacity_l,
            (start + k * slot, end),
            fixed_cost=params.van_fixed_cost,
        )
        for k in range(params.trips_per_van)
        for i in range(fleet)
    )


def _plan(
    dc_id: str,
    routed: tuple[RoutingProblem, RoutingSolution],
    drops: _Drops,
    params: LinehaulParams,
) -> LinehaulPlan:
    """The routed trips and the shuttles on vans (``{dc}-van01`` leaves first)."""
    night = (params.offset(params.depart), params.offset(params.return_by))
    shuttles = [
        (Vehicle(f"{dc_id}-s{n + 1:03d}", params.van_capacity_l, night), stop)
        for n, stop in enumerate(drops.shuttles)
    ]
    rules = VanRules(params.reload_s, params.trips_per_van, params.vans)
    vans = put_on_vans(*routed, shuttles, rules)
    width = max(2, len(str(max(vans.van_of.values(), default=0))))  # sorts as text
    van_of = {trip: f"{dc_id}-van{n:0{width}d}" for trip, n in vans.van_of.items()}
    return LinehaulPlan(dc_id, vans.problem, vans.solution, drops.warehouse, drops.volume, van_of)


def route_rows(plans: list[LinehaulPlan], as_of: date, params: LinehaulParams) -> pl.DataFrame:
    """``ROUTE_ROWS`` for the ``routes`` table: per van a departure row, its stops, its return.

    ``arrival`` is the start of service (departure and return times for the
    first and last row); ``load`` the litres delivered at a stop (on board at
    departure, 0 on return); ``distance_m`` the distance driven so far.
    """
    origin = datetime.combine(as_of, params.night_start, tzinfo=ZoneInfo(params.timezone))

    def at(seconds: int) -> datetime:
        return (origin + timedelta(seconds=seconds)).astimezone(ZoneInfo("UTC"))

    rows: list[tuple[object, ...]] = []
    for plan in plans:
        index = {s.id: s for s in plan.problem.stops}
        distance = plan.problem.matrices.distance
        trip_of: defaultdict[str, int] = defaultdict(int)
        for route in sorted(
            plan.solution.routes, key=lambda r: (plan.van_of[r.vehicle], r.departure)
        ):
            van = plan.van_of[route.vehicle]
            trip_of[van] += 1
            route_id = f"{van}/t{trip_of[van]}"
            on_board = sum(plan.stop_volume[s] for s in route.stops)
            rows.append(
                ("linehaul", route_id, van, 0, "depart", plan.dc_id,
                 at(route.departure), on_board, 0)
            )  # fmt: skip
            here, driven = 0, 0
            for seq, (stop_id, arrival) in enumerate(zip(route.stops, route.arrivals, strict=True)):
                stop = index[stop_id]
                driven += int(distance[here, stop.location])
                here = stop.location
                rows.append(
                    ("linehaul", route_id, van, seq + 1, stop_id,
                     plan.stop_warehouse[stop_id], at(arrival), plan.stop_volume[stop_id], driven)
                )  # fmt: skip
            driven += int(distance[here, 0])
            rows.append(
                ("linehaul", route_id, van, len(route.stops) + 1, "return", plan.dc_id,
                 at(route.return_time), 0.0, driven)
            )  # fmt: skip
    return pl.DataFrame(rows, schema=ROUTE_ROWS, orient="row")
