"""Routing problem/solution JSON (DESIGN.md, "Routing problem JSON"), read and written for
``partsflow route`` (``flows.route_file``).

Reading turns the JSON into ``optimization.routing.RoutingProblem``; anything
malformed (missing or mistyped field, non-integer, ragged or non-square
matrix, negative value, window end before start, unknown location or
profile, duplicate id) raises :class:`pipelines.errors.InputError` with one
line naming the file and the field. Writing produces the solution JSON with
``unassigned`` as ``{"stop": id, "reason": text}`` objects.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from optimization.routing import (
    RoutingProblem,
    RoutingSolution,
    Stop,
    TravelMatrices,
    Vehicle,
)
from pipelines.errors import InputError

#: The largest problem file read: two matrices of MAX_LOCATIONS (5,000) locations written
#: as JSON take ~300 MB.
MAX_PROBLEM_BYTES = 512 * 10**6


def _field(data: dict[str, Any], key: str, where: str, required: bool = True) -> Any:
    if key not in data:
        if required:
            raise ValueError(f"{where}{key} is missing")
        return None
    return data[key]


def _integer(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return value


def _pair(value: Any, name: str) -> tuple[int, int]:
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(f"{name} must be a pair [start, end], got {value!r}")
    return (_integer(value[0], f"{name}[0]"), _integer(value[1], f"{name}[1]"))


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def _matrices(data: dict[str, Any], where: str) -> TravelMatrices:
    duration = _field(data, "duration_matrix", where)
    distance = data.get("distance_matrix", duration)
    try:
        return TravelMatrices(duration, distance)
    except ValueError as error:
        raise ValueError(f"{where}{error}") from None


def _vehicle(data: Any, k: int) -> Vehicle:
    where = f"vehicles[{k}]."
    if not isinstance(data, dict):
        raise ValueError(f"vehicles[{k}] must be an object")
    optional = {key: data.get(key) for key in ("start", "end")}
    for key, value in optional.items():
        if value is not None:
            _integer(value, f"{where}{key}")
    profile = data.get("profile")
    return Vehicle(
        id=_text(_field(data, "id", where), f"{where}id"),
        capacity=_integer(_field(data, "capacity", where), f"{where}capacity"),
        shift=_pair(_field(data, "shift", where), f"{where}shift"),
        start=optional["start"],
        end=optional["end"],
        profile=None if profile is None else _text(profile, f"{where}profile"),
        fixed_cost=_integer(data.get("fixed_cost", 0), f"{where}fixed_cost"),
    )


def _stop(data: Any, k: int) -> Stop:
    where = f"stops[{k}]."
    if not isinstance(data, dict):
        raise ValueError(f"stops[{k}] must be an object")
    penalty = data.get("penalty")
    return Stop(
        id=_text(_field(data, "id", where), f"{where}id"),
        location=_integer(_field(data, "location", where), f"{where}location"),
        demand=_integer(_field(data, "demand", where), f"{where}demand"),
        service=_integer(_field(data, "service", where), f"{where}service"),
        window=_pair(_field(data, "window", where), f"{where}window"),
        penalty=None if penalty is None else _integer(penalty, f"{where}penalty"),
    )


def problem_from_dict(data: Any) -> RoutingProblem:
    """Build a problem from parsed JSON.

    Raises
    ------
    ValueError
        Naming the offending field.
    """
    if not isinstance(data, dict):
        raise ValueError("the problem must be a JSON object")
    vehicles = _field(data, "vehicles", "")
    stops = _field(data, "stops", "")
    if not isinstance(vehicles, list):
        raise ValueError("vehicles must be a list")
    if not isinstance(stops, list):
        raise ValueError("stops must be a list")
    profiles = data.get("profiles") or {}
    if not isinstance(profiles, dict) or not all(isinstance(p, dict) for p in profiles.values()):
        raise ValueError("profiles must map names to objects with matrices")
    return RoutingProblem(
        name=str(data.get("name", "")),
        depot=_integer(data.get("depot", 0), "depot"),
        matrices=_matrices(data, ""),
        vehicles=tuple(_vehicle(v, k) for k, v in enumerate(vehicles)),
        stops=tuple(_stop(s, k) for k, s in enumerate(stops)),
        profiles={name: _matrices(p, f"profiles.{name}.") for name, p in profiles.items()},
        objective=data.get("objective", "distance"),
    )


def read_problem(path: Path) -> RoutingProblem:
    """Read and validate a routing problem JSON file.

    Parameters
    ----------
    path
        The problem file.

    Returns
    -------
    RoutingProblem
        The validated problem.

    Raises
    ------
    InputError
        One line naming the file and the field, for anything malformed.
    """
    try:
        size = path.stat().st_size
        if size > MAX_PROBLEM_BYTES:
            raise InputError(
                f"{path}: {size / 1e6:,.0f} MB; a problem file may have at most "
                f"{MAX_PROBLEM_BYTES / 1e6:,.0f} MB"
            )
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read the problem ({error})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: not valid JSON ({error})") from None
    try:
        return problem_from_dict(data)
    except ValueError as error:
        raise InputError(f"{path}: {' '.join(str(error).split())}") from None


def solution_to_dict(solution: RoutingSolution) -> dict[str, Any]:
    """The solution JSON of DESIGN.md as a plain dict."""
    return {
        "routes": [
            {
                "vehicle": r.vehicle,
                "stops": list(r.stops),
                "arrivals": list(r.arrivals),
                "departure": r.departure,
                "return": r.return_time,
            }
            for r in solution.routes
        ],
        "unassigned": [{"stop": u.stop, "reason": u.reason} for u in solution.unassigned],
        "distance": solution.distance,
        "duration": solution.duration,
    }


def write_solution(solution: RoutingSolution, path: Path) -> None:
    """Write the solution JSON atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(solution_to_dict(solution), handle, indent=1)
            handle.write("\n")
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
