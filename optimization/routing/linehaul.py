"""The nightly line-haul: DC vans carry tonight's transfers to the forward warehouses.

One routing problem per DC, solved with the generic VRPTW solver
(:func:`optimization.routing.solve`):

* **loads** — per forward warehouse, the litres of tonight's replenishment
  due tomorrow morning (``lead_time_days`` 0: the plan's allocated
  quantities × unit volume). Pull-backs ride back on the next night's empty
  van and are not routed here.
* **vans and trips** — identical vans of ``van_capacity_l`` litres work the
  night from ``depart`` to ``return_by`` in up to ``trips_per_van`` trips:
  the night is cut into that many equal slots and each van offers one trip
  (a vehicle of the routing problem) starting in each slot, so a van can
  load again at the DC between trips. A fixed cost per trip makes the solver use as few trips
  as it can. ``vans`` caps the trips per slot (default: the drops divided by
  the trips, plus one; if that leaves drops behind, one per drop). The vans
  a plan needs are then counted exactly by interval partitioning of its
  trips (a trip needs ``reload_s`` at the DC before the next):
  :attr:`LinehaulPlan.vans_needed`, and each trip is assigned to a van by
  the same rule.
* **windows** — a warehouse takes deliveries from ``accept_from`` and must
  have them by ``deliver_by``, so the staff can shelve before the stores
  open. Service: ``unload_fixed_s`` plus ``unload_s_per_1000l`` per 1,000 l.
* **splits** — a load above a van's capacity is cut into equal drops, each a
  stop of its own (several vans may serve one warehouse).
* **travel** — the van profile of the travel-time provider at the hour the
  night starts (off-peak: the roads are empty at night).

Times inside the problem are seconds from ``night_start`` on the planning
day (local time, Asia/Shanghai by default); :func:`route_rows` turns them
into the ``routes`` table's UTC timestamps.
"""

from __future__ import annotations

import math
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
    TravelTimeProvider,
    Vehicle,
    solve,
)

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
    #: The solver's budget per DC: ``time_per_stop_s`` a drop, at least 1 s, at most
    #: ``time_limit_s``. A DC's night is a small problem (10–15 drops on the medium
    #: network): 0.5 s and 10 s found the same routes on every night tried, while the
    #: solver always spends its whole budget (guided local search does not stop early).
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
    """One DC's routing problem, its checked solution, and which warehouse each stop serves."""

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
    def trips(self) -> int:
        """Trips driven (routes of the solution)."""
        return len(self.solution.routes)

    @property
    def vans_needed(self) -> int:
        """Physical vans: the most trips under way (or reloading) at the same time."""
        return len(set(self.van_of.values()))


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
    """Route every DC's vans for tonight's loads.

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
        stops, stop_warehouse, stop_volume = _stops(part, params)
        # Few vans per slot first, so trips spread over the night; if that leaves
        # drops behind, as many as there are drops.
        fleets = [params.vans] if params.vans else [-(-len(stops) // params.trips_per_van) + 1]
        if not params.vans and fleets[0] < len(stops):
            fleets.append(len(stops))
        for fleet in fleets:
            problem = RoutingProblem(
                f"linehaul {dc_id}", 0, matrices, _trips(dc_id, fleet, params), tuple(stops)
            )
            budget = min(params.time_limit_s, max(1.0, params.time_per_stop_s * len(stops)))
            solution = solve(problem, SolveParams(time_limit=budget, seed=params.seed))
            if not solution.unassigned:
                break
        plans.append(
            LinehaulPlan(
                dc_id,
                problem,
                solution,
                stop_warehouse,
                stop_volume,
                _assign_vans(dc_id, solution, params.reload_s),
            )
        )
    return plans


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


def _assign_vans(dc_id: str, solution: RoutingSolution, reload_s: int) -> dict[str, str]:
    """Trips to physical vans, earliest departure first, each to the first van free by then."""
    free_at: list[int] = []
    van_of: dict[str, str] = {}
    for route in sorted(solution.routes, key=lambda r: (r.departure, r.vehicle)):
        van = next((j for j, free in enumerate(free_at) if free <= route.departure), len(free_at))
        if van == len(free_at):
            free_at.append(0)
        free_at[van] = route.return_time + reload_s
        van_of[route.vehicle] = f"{dc_id}-van{van + 1:02d}"
    return van_of


def _stops(
    part: pl.DataFrame, params: LinehaulParams
) -> tuple[list[Stop], dict[str, str], dict[str, float]]:
    stops: list[Stop] = []
    warehouse_of: dict[str, str] = {}
    volume_of: dict[str, float] = {}
    window = (params.offset(params.accept_from), params.offset(params.deliver_by))
    for location, (warehouse, volume) in enumerate(
        part.select("warehouse_id", "volume_l").rows(), start=1
    ):
        drops = max(1, math.ceil(volume / params.van_capacity_l))
        for k in range(drops):
            share = volume / drops
            stop_id = warehouse if drops == 1 else f"{warehouse}#{k + 1}"
            stops.append(
                Stop(
                    stop_id,
                    location,
                    min(params.van_capacity_l, math.ceil(share)),
                    params.unload_fixed_s + math.ceil(params.unload_s_per_1000l * share / 1000),
                    window,
                )
            )
            warehouse_of[stop_id] = warehouse
            volume_of[stop_id] = share
    return stops, warehouse_of, volume_of


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
        for route in plan.solution.routes:
            van = plan.van_of[route.vehicle]
            route_id = f"{van}/{route.vehicle.rsplit('-', 2)[-2]}"
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
