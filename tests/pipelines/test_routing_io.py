"""The routing JSON contract of DESIGN.md, through ``flows.route_file``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flows import route_file
from optimization.routing import SolveParams
from pipelines.errors import InputError
from pipelines.routing_io import problem_from_dict, read_problem

EXAMPLE: dict[str, Any] = {
    "name": "example",
    "depot": 0,
    "duration_matrix": [[0, 120], [120, 0]],
    "distance_matrix": [[0, 900], [900, 0]],
    "vehicles": [{"id": "r1", "capacity": 20, "shift": [0, 7200]}],
    "stops": [{"id": "o1", "location": 1, "demand": 2, "service": 60, "window": [0, 1800]}],
    "objective": "distance",
}


def _write(tmp_path: Path, data: object, name: str = "problem.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_design_example_round_trip(tmp_path: Path) -> None:
    output = tmp_path / "out" / "solution.json"
    assert route_file(_write(tmp_path, EXAMPLE), output, SolveParams(time_limit=0.2))
    assert json.loads(output.read_text()) == {
        "routes": [
            {"vehicle": "r1", "stops": ["o1"], "arrivals": [120], "departure": 0, "return": 300}
        ],
        "unassigned": [],
        "distance": 1800,
        "duration": 300,
    }


def test_distance_defaults_to_duration_and_profiles_are_read(tmp_path: Path) -> None:
    data = {k: v for k, v in EXAMPLE.items() if k != "distance_matrix"}
    data["profiles"] = {"bike": {"duration_matrix": [[0, 60], [60, 0]]}}
    data["vehicles"] = [{"id": "b1", "capacity": 5, "shift": [0, 7200], "profile": "bike"}]
    problem = read_problem(_write(tmp_path, data))
    assert problem.matrices.distance.tolist() == [[0, 120], [120, 0]]
    assert problem.profiles["bike"].distance.tolist() == [[0, 60], [60, 0]]


def test_an_unserved_mandatory_stop_is_reported_with_the_partial_solution(tmp_path: Path) -> None:
    data = json.loads(json.dumps(EXAMPLE))
    data["stops"].append(
        {"id": "o2", "location": 1, "demand": 50, "service": 0, "window": [0, 1800]}
    )
    data["stops"].append(
        {"id": "o3", "location": 1, "demand": 1, "service": 0, "window": [0, 10], "penalty": 5}
    )
    output = tmp_path / "solution.json"
    assert not route_file(_write(tmp_path, data), output, SolveParams(time_limit=0.2))
    solution = json.loads(output.read_text())
    assert solution["routes"][0]["stops"] == ["o1"]
    reasons = {u["stop"]: u["reason"] for u in solution["unassigned"]}
    assert set(reasons) == {"o2", "o3"}
    assert "capacity" in reasons["o2"]


def test_optional_stop_left_out_is_not_an_error(tmp_path: Path) -> None:
    data = json.loads(json.dumps(EXAMPLE))
    data["stops"][0]["window"] = [0, 10]
    data["stops"][0]["penalty"] = 5
    assert route_file(_write(tmp_path, data), tmp_path / "s.json", SolveParams(time_limit=0.2))


def _broken(path: str, value: object) -> dict[str, Any]:
    data = json.loads(json.dumps(EXAMPLE))
    target: Any = data
    *parents, last = path.split(".")
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    if value is KeyError:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return data


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (_broken("duration_matrix", [[0, 120], [120]]), "duration_matrix must be square"),
        (_broken("duration_matrix", [[0, 1, 2], [1, 0, 2]]), "duration_matrix must be square"),
        (_broken("distance_matrix", [[0, -9], [9, 0]]), "distance_matrix[0][1] must be >= 0"),
        (_broken("distance_matrix", [[0, 9.5], [9, 0]]), "distance_matrix[0][1] must be an integ"),
        (_broken("stops.0.window", [900, 100]), "stop 'o1' window end 100 is before"),
        (_broken("stops.0.location", 5), "stop 'o1' location 5 is not a location"),
        (_broken("stops.0.demand", 1.5), "stops[0].demand must be an integer"),
        (_broken("stops.0.id", KeyError), "stops[0].id is missing"),
        (_broken("vehicles.0.start", 2), "vehicle 'r1' start 2 is not a location"),
        (_broken("vehicles.0.shift", [0]), "vehicles[0].shift must be a pair"),
        (_broken("vehicles.0.profile", "bike"), "profile 'bike' is unknown"),
        (_broken("stops", EXAMPLE["stops"] * 2), "duplicate stop id 'o1'"),
        (_broken("objective", "fastest"), "objective must be"),
        ([1, 2], "must be a JSON object"),
        # Integers above int64 overflowed into a traceback; the limit is 10**12.
        (_broken("duration_matrix", [[0, 2**64], [1, 0]]), "duration_matrix[0][1] is over"),
        (_broken("distance_matrix", [[0, 10**12 + 1], [1, 0]]), "distance_matrix[0][1] is over"),
        (_broken("vehicles.0.capacity", 10**20), "vehicle 'r1' capacity is 100000000000000000000"),
        (_broken("stops.0.window", [0, 2**63]), "stop 'o1' window end is 9223372036854775808"),
        (_broken("stops.0.demand", -(2**70)), "stop 'o1' demand must be >= 0"),
    ],
)
def test_malformed_problem_is_one_line_naming_file_and_field(
    tmp_path: Path, data: object, field: str
) -> None:
    path = _write(tmp_path, data)
    with pytest.raises(InputError) as caught:
        route_file(path, tmp_path / "solution.json", SolveParams(time_limit=1.0, seed=0))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert field in message
    assert not (tmp_path / "solution.json").exists()


def test_invalid_json_and_limits_are_input_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        read_problem(path)
    with pytest.raises(ValueError, match="locations; at most 5,000"):
        problem_from_dict({**EXAMPLE, "duration_matrix": [[0] * 5001 for _ in range(5001)]})
    big = tmp_path / "big.json"
    with big.open("wb") as out:  # a sparse file: its size says 600 MB, nothing is written
        out.truncate(600 * 10**6)
    with pytest.raises(InputError, match="600 MB; a problem file may have at most 512 MB"):
        read_problem(big)
    with pytest.raises(ValueError, match="time limit"):
        SolveParams(time_limit=0, seed=0)
