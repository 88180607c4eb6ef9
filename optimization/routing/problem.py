"""Routing problem and solution: small, frozen, self-validating values.

The types mirror the routing problem JSON of DESIGN.md ("Routing problem
JSON"): integers only (seconds, metres, units), matrices indexed by location,
a vehicle with a shift and its own start/end, stops with a window on the start
of service and an optional drop penalty. Building a value checks it, so the
solver and the checker can trust what they get; the messages name the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np
import numpy.typing as npt

Objective = Literal["distance", "duration"]
IntMatrix = npt.NDArray[np.int64]


#: The largest duration, distance, demand, capacity or time a problem may hold (~31,700 years
#: in seconds): sums along a route of MAX_LOCATIONS stops stay far inside OR-Tools' int64.
#: Larger integers (a JSON number above int64 overflowed into a traceback) are refused.
MAX_VALUE = 10**12
#: The most locations a problem may have: its two int64 matrices then take 400 MB.
MAX_LOCATIONS = 5_000


def int_matrix(rows: object, name: str) -> IntMatrix:
    """Return ``rows`` as a read-only square ``int64`` matrix with values >= 0.

    Parameters
    ----------
    rows
        A nested sequence (list of lists) or a 2-D integer array.
    name
        The field name used in error messages.

    Raises
    ------
    ValueError
        If the rows are ragged, the matrix is not square or has more than
        :data:`MAX_LOCATIONS` locations, a value is not an integer, or a value
        is negative or above :data:`MAX_VALUE`.
    """
    if isinstance(rows, np.ndarray):
        if rows.ndim != 2 or not np.issubdtype(rows.dtype, np.integer):
            raise ValueError(f"{name} must be a 2-D integer matrix")
        matrix = rows.astype(np.int64, copy=True)
    else:
        matrix = _from_rows(rows, name)
    if matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"{name} must be square, got shape {matrix.shape}")
    if matrix.shape[0] == 0:
        raise ValueError(f"{name} must have at least one location")
    if matrix.shape[0] > MAX_LOCATIONS:
        raise ValueError(f"{name} has {matrix.shape[0]:,} locations; at most {MAX_LOCATIONS:,}")
    for bad, rule in ((matrix < 0, "must be >= 0"), (matrix > MAX_VALUE, f"is over {MAX_VALUE:,}")):
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise ValueError(f"{name}[{i}][{j}] {rule}, got {matrix[i, j]}")
    matrix.setflags(write=False)
    return matrix


def _from_rows(rows: object, name: str) -> IntMatrix:
    """A list of equal-length rows of integers as an ``int64`` matrix (each value checked
    before the conversion, which would overflow on one above int64)."""
    if not isinstance(rows, list | tuple) or not all(isinstance(r, list | tuple) for r in rows):
        raise ValueError(f"{name} must be a list of rows")
    size = len(rows)
    if size > MAX_LOCATIONS:
        raise ValueError(f"{name} has {size:,} locations; at most {MAX_LOCATIONS:,}")
    for i, row in enumerate(rows):
        if len(row) != size:
            raise ValueError(
                f"{name} must be square: row {i} has {len(row)} values, expected {size}"
            )
        for j, value in enumerate(row):
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise ValueError(f"{name}[{i}][{j}] must be an integer, got {value!r}")
            if value > MAX_VALUE:
                raise ValueError(f"{name}[{i}][{j}] is over {MAX_VALUE:,}, got {value}")
    return np.array(rows, dtype=np.int64).reshape(size, size)


@dataclass(frozen=True, eq=False)
class TravelMatrices:
    """Travel durations (seconds) and distances (metres) between locations.

    ``duration[i, j]`` and ``distance[i, j]`` go from location ``i`` to ``j``;
    they need not be symmetric. Both are converted to read-only ``int64``.
    """

    duration: IntMatrix
    distance: IntMatrix

    def __post_init__(self) -> None:
        duration = int_matrix(self.duration, "duration_matrix")
        distance = int_matrix(self.distance, "distance_matrix")
        if duration.shape != distance.shape:
            raise ValueError(
                f"distance_matrix is {distance.shape[0]}x{distance.shape[0]} but "
                f"duration_matrix is {duration.shape[0]}x{duration.shape[0]}"
            )
        object.__setattr__(self, "duration", duration)
        object.__setattr__(self, "distance", distance)

    @property
    def size(self) -> int:
        """Number of locations."""
        return int(self.duration.shape[0])


def _check_int(value: object, name: str, minimum: int | None = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if abs(value) > MAX_VALUE:
        raise ValueError(f"{name} is {value}; at most {MAX_VALUE:,} in size")


def _check_interval(interval: tuple[int, int], name: str) -> None:
    if not isinstance(interval, tuple) or len(interval) != 2:
        raise ValueError(f"{name} must be a pair [start, end], got {interval!r}")
    _check_int(interval[0], f"{name} start")
    _check_int(interval[1], f"{name} end")
    if interval[1] < interval[0]:
        raise ValueError(f"{name} end {interval[1]} is before its start {interval[0]}")


@dataclass(frozen=True)
class Vehicle:
    """A vehicle: capacity in demand units and a shift ``(earliest departure, latest return)``.

    ``start``/``end`` are location indices (``None``: the problem's depot);
    ``profile`` names an entry of ``RoutingProblem.profiles`` (``None``: the
    top-level matrices); ``fixed_cost`` is added to the objective when the
    vehicle is used.
    """

    id: str
    capacity: int
    shift: tuple[int, int]
    start: int | None = None
    end: int | None = None
    profile: str | None = None
    fixed_cost: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"vehicle id must be a non-empty string, got {self.id!r}")
        where = f"vehicle {self.id!r}"
        _check_int(self.capacity, f"{where} capacity")
        _check_interval(self.shift, f"{where} shift")
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None:
                _check_int(value, f"{where} {name}")
        _check_int(self.fixed_cost, f"{where} fixed_cost")


@dataclass(frozen=True)
class Stop:
    """A delivery: ``window`` bounds the start of service; ``penalty`` ``None`` = mandatory."""

    id: str
    location: int
    demand: int
    service: int
    window: tuple[int, int]
    penalty: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"stop id must be a non-empty string, got {self.id!r}")
        where = f"stop {self.id!r}"
        _check_int(self.location, f"{where} location")
        _check_int(self.demand, f"{where} demand")
        _check_int(self.service, f"{where} service")
        _check_interval(self.window, f"{where} window")
        if self.penalty is not None:
            _check_int(self.penalty, f"{where} penalty")

    @property
    def mandatory(self) -> bool:
        """True when the stop has no drop penalty."""
        return self.penalty is None


@dataclass(frozen=True, eq=False)
class RoutingProblem:
    """A capacitated VRP with time windows, shifts, profiles and optional stops.

    Raises ``ValueError`` (naming the field) for duplicate ids, a location
    index outside the matrices, an unknown profile or profile matrices of a
    different size.
    """

    name: str
    depot: int
    matrices: TravelMatrices
    vehicles: tuple[Vehicle, ...]
    stops: tuple[Stop, ...]
    profiles: Mapping[str, TravelMatrices] = field(default_factory=dict)
    objective: Objective = "distance"

    def __post_init__(self) -> None:
        size = self.matrices.size
        object.__setattr__(self, "vehicles", tuple(self.vehicles))
        object.__setattr__(self, "stops", tuple(self.stops))
        object.__setattr__(self, "profiles", MappingProxyType(dict(self.profiles)))
        if self.objective not in ("distance", "duration"):
            raise ValueError(f"objective must be 'distance' or 'duration', got {self.objective!r}")
        self._check_location(self.depot, "depot")
        if not self.vehicles:
            raise ValueError("vehicles must not be empty")
        for name, profile in self.profiles.items():
            if profile.size != size:
                raise ValueError(
                    f"profiles.{name} matrices are {profile.size}x{profile.size}, "
                    f"expected {size}x{size}"
                )
        _check_unique([v.id for v in self.vehicles], "vehicle")
        _check_unique([s.id for s in self.stops], "stop")
        for vehicle in self.vehicles:
            for name in ("start", "end"):
                value = getattr(vehicle, name)
                if value is not None:
                    self._check_location(value, f"vehicle {vehicle.id!r} {name}")
            if vehicle.profile is not None and vehicle.profile not in self.profiles:
                raise ValueError(f"vehicle {vehicle.id!r} profile {vehicle.profile!r} is unknown")
        for stop in self.stops:
            self._check_location(stop.location, f"stop {stop.id!r} location")

    def _check_location(self, index: int, name: str) -> None:
        _check_int(index, name)
        if index >= self.matrices.size:
            raise ValueError(
                f"{name} {index} is not a location (matrices have {self.matrices.size})"
            )

    def start_of(self, vehicle: Vehicle) -> int:
        """The vehicle's start location (the depot unless given)."""
        return self.depot if vehicle.start is None else vehicle.start

    def end_of(self, vehicle: Vehicle) -> int:
        """The vehicle's end location (the depot unless given)."""
        return self.depot if vehicle.end is None else vehicle.end

    def matrices_of(self, vehicle: Vehicle) -> TravelMatrices:
        """The travel matrices the vehicle drives on (its profile's, else the top-level)."""
        return self.matrices if vehicle.profile is None else self.profiles[vehicle.profile]


def _check_unique(ids: list[str], kind: str) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise ValueError(f"duplicate {kind} id {item!r}")
        seen.add(item)


@dataclass(frozen=True)
class Route:
    """One vehicle's trip: stop ids in visit order and their service start times."""

    vehicle: str
    stops: tuple[str, ...]
    arrivals: tuple[int, ...]
    departure: int
    return_time: int

    def __post_init__(self) -> None:
        if len(self.stops) != len(self.arrivals):
            raise ValueError(
                f"route of {self.vehicle!r} has {len(self.stops)} stops "
                f"but {len(self.arrivals)} arrivals"
            )


@dataclass(frozen=True)
class Unassigned:
    """A stop left unserved and why."""

    stop: str
    reason: str


@dataclass(frozen=True)
class RoutingSolution:
    """Routes (used vehicles only), unassigned stops, total distance and duration.

    ``duration`` sums ``return_time - departure`` over routes (waiting included).
    """

    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    distance: int
    duration: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "routes", tuple(self.routes))
        object.__setattr__(self, "unassigned", tuple(self.unassigned))
