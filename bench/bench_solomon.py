"""Solomon VRPTW quality through ``partsflow route``'s own code path.

Reads the twelve instances from ``../shared/data/solomon`` (DIMACS 2021
convention: Euclidean distance truncated to one decimal, travel time =
distance, at most the file's vehicles, objective total distance), writes each
as the project's integer routing JSON (everything x10), runs
``flows.route_file`` (what ``partsflow route`` runs) on it, checks the written solution with
the independent checker, and prints a Markdown table of the gap to the
best-known distance (``BKS.csv`` ``dimacs_dist_bks``), then the mean gap per
class (C1, C2, R1, R2, RC1, RC2) and per group: the six instances the search
was tuned on before issue 16, the six added then, and the three of those
that no choice of the search was tested on (``TUNED_ON``, ``ADDED`` and
``HELD_OUT`` below). Runs are sequential, one solver process at a time, and the
solver uses one core.
With ``--repeat N`` each instance runs with seeds ``seed .. seed + N - 1`` and
the table shows the median distance (wall-clock limits on a shared machine
make single runs noisy); the load average and the CPU share the solver got
are printed with the table.

    .venv/bin/python bench/bench_solomon.py [--limits 10,30] [--seed 0] [--repeat 1] [INSTANCE ...]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flows import route_file  # noqa: E402
from optimization.routing import (  # noqa: E402
    Route,
    RoutingSolution,
    SolveParams,
    Unassigned,
    check_solution,
)
from pipelines.routing_io import problem_from_dict  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "solomon"
#: The instances the search was tuned on before issue 16 and the six added then.
TUNED_ON = ("C101", "C201", "R101", "R201", "RC101", "RC201")
ADDED = ("C102", "R104", "R205", "RC105", "RC202", "RC208")
#: Added instances that no choice of the search was tested on in issue 16 (the
#: other three were): the nearest thing to unseen instances this machine has.
HELD_OUT = ("R104", "RC105", "RC208")
INSTANCES = TUNED_ON + ADDED


def instance_class(instance: str) -> str:
    """Solomon's class of an instance: letters and type digit (``RC105`` -> ``RC1``)."""
    letters = instance.rstrip("0123456789")
    return letters + instance[len(letters)]


def solomon_problem(path: Path) -> dict[str, Any]:
    """The instance as routing problem JSON, DIMACS convention scaled by 10."""
    lines = path.read_text().splitlines()
    vehicles, capacity = (int(x) for x in lines[4].split())
    rows = [[int(x) for x in line.split()] for line in lines[9:] if line.strip()]
    xy = [(r[1], r[2]) for r in rows]
    # floor(10 * d) / 10, scaled by 10: the integer floor(10 * d).
    matrix = [[math.floor(10 * math.dist(a, b)) for b in xy] for a in xy]
    horizon = rows[0][5] * 10
    return {
        "name": path.stem,
        "depot": 0,
        "duration_matrix": matrix,
        "vehicles": [
            {"id": f"v{k}", "capacity": capacity, "shift": [rows[0][4] * 10, horizon]}
            for k in range(vehicles)
        ],
        "stops": [
            {
                "id": str(r[0]),
                "location": k + 1,
                "demand": r[3],
                "service": r[6] * 10,
                "window": [r[4] * 10, r[5] * 10],
            }
            for k, r in enumerate(rows[1:])
        ],
        "objective": "distance",
    }


def _solution(data: dict[str, Any]) -> RoutingSolution:
    routes = tuple(
        Route(r["vehicle"], tuple(r["stops"]), tuple(r["arrivals"]), r["departure"], r["return"])
        for r in data["routes"]
    )
    unassigned = tuple(Unassigned(u["stop"], u["reason"]) for u in data["unassigned"])
    return RoutingSolution(routes, unassigned, data["distance"], data["duration"])


def run(instance: str, limit: float, seed: int, workdir: Path) -> dict[str, Any]:
    """Solve one instance at one limit through ``flows.route_file``; return the table row."""
    problem_json = solomon_problem(DATA / f"{instance}.txt")
    problem_path = workdir / f"{instance}.json"
    problem_path.write_text(json.dumps(problem_json))
    output = workdir / f"{instance}-{limit:g}.solution.json"
    began, cpu = time.perf_counter(), time.process_time()
    served = route_file(problem_path, output, SolveParams(time_limit=limit, seed=seed))
    wall = time.perf_counter() - began
    cpu = time.process_time() - cpu
    solution = _solution(json.loads(output.read_text()))
    errors = check_solution(problem_from_dict(problem_json), solution)
    allowed = len(problem_json["vehicles"])
    feasible = served and not errors and not solution.unassigned and len(solution.routes) <= allowed
    return {
        "instance": instance,
        "limit": limit,
        "distance": solution.distance / 10,
        "vehicles": len(solution.routes),
        "allowed": len(problem_json["vehicles"]),
        "feasible": feasible,
        "wall": wall,
        "cpu": cpu / wall,
    }


def main() -> None:
    """Run the benchmark and print the Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instances", nargs="*", default=list(INSTANCES))
    parser.add_argument("--limits", default="10,30", help="time limits in seconds, comma-separated")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1, help="runs per instance (median shown)")
    args = parser.parse_args()
    limits = [float(x) for x in args.limits.split(",")]
    with (DATA / "BKS.csv").open() as handle:
        bks = {row["instance"]: float(row["dimacs_dist_bks"]) for row in csv.DictReader(handle)}

    print(f"load average at the start: {_load()}\n")
    print(
        "| instance | limit s | distance | BKS | gap % | vehicles (allowed) "
        "| feasible | wall s | CPU |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|")
    gaps: dict[tuple[float, str], float] = {}
    infeasible: dict[float, int] = dict.fromkeys(limits, 0)
    with tempfile.TemporaryDirectory() as tmp:
        for limit in limits:
            for instance in args.instances:
                rows = [
                    run(instance, limit, seed, Path(tmp))
                    for seed in range(args.seed, args.seed + args.repeat)
                ]
                row = sorted(rows, key=lambda r: r["distance"])[(len(rows) - 1) // 2]
                gap = gaps[limit, instance] = (
                    100 * (row["distance"] - bks[instance]) / bks[instance]
                )
                infeasible[limit] += sum(not r["feasible"] for r in rows)
                print(
                    f"| {instance} | {limit:g} | {row['distance']:.1f} | {bks[instance]:.1f} | "
                    f"{gap:+.2f} | {row['vehicles']} ({row['allowed']}) | "
                    f"{'yes' if all(r['feasible'] for r in rows) else 'NO'} | "
                    f"{statistics.mean(r['wall'] for r in rows):.1f} | "
                    f"{statistics.mean(r['cpu'] for r in rows):.0%} |",
                    flush=True,
                )
    runs = "1 seed" if args.repeat == 1 else f"median of {args.repeat} seeds"
    print(
        f"\nMean gap % ({runs}; infeasible runs: "
        + ", ".join(f"{infeasible[limit]} at {limit:g} s" for limit in limits)
        + ")\n"
    )
    _summary(gaps, limits, args.instances)
    print(f"\nload average at the end: {_load()}")


def _summary(
    gaps: dict[tuple[float, str], float], limits: list[float], instances: list[str]
) -> None:
    """Mean gap per class, per group (tuned on / added) and over all, one column per limit."""
    groups: dict[str, list[str]] = {}
    for instance in instances:
        groups.setdefault(instance_class(instance), []).append(instance)
    groups["tuned on before issue 16"] = [i for i in instances if i in TUNED_ON]
    groups["added in issue 16"] = [i for i in instances if i in ADDED]
    groups["held out in issue 16"] = [i for i in instances if i in HELD_OUT]
    groups["all"] = list(instances)
    print("| group | instances | " + " | ".join(f"{limit:g} s" for limit in limits) + " |")
    print("|---|---|" + "---:|" * len(limits))
    for name, members in groups.items():
        if not members:
            continue
        means = [statistics.mean(gaps[limit, i] for i in members) for limit in limits]
        worst = [max(gaps[limit, i] for i in members) for limit in limits]
        cells = " | ".join(f"{m:+.2f} (worst {w:+.2f})" for m, w in zip(means, worst, strict=True))
        print(f"| {name} | {' '.join(members)} | {cells} |")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
