"""The allocation MIP in OR-Tools (SCIP): the one place that touches the untyped solver API."""

from __future__ import annotations

from typing import Any

import numpy as np
from ortools.linear_solver import pywraplp

from optimization.replenishment.allocation_segments import IntArray, SegmentProblem


def solve_segments(
    problem: SegmentProblem, time_limit_s: float, relative_gap: float
) -> tuple[IntArray | None, bool, int, int]:
    """Solve the segment MIP of :mod:`optimization.replenishment.allocation`.

    Returns
    -------
    tuple
        Segments taken per line (``None`` without a feasible solution), whether
        the solution is proven optimal (within ``relative_gap``), and the
        number of variables and constraints.
    """
    solver: Any = pywraplp.Solver.CreateSolver("SCIP")
    solver.SetTimeLimit(max(1, round(time_limit_s * 1000)))
    x: list[list[Any]] = [
        [solver.BoolVar(f"x{i}_{j}") for j in range(len(v))] for i, v in enumerate(problem.values)
    ]
    # A capacity row is written only where the contested lines could exceed it.
    dc_rows: list[list[Any]] = [[] for _ in problem.dc_left]
    shelf_rows: list[list[Any]] = [[] for _ in problem.shelf_left]
    budget_row: list[Any] = []
    for i, xs in enumerate(x):
        block, pack = int(problem.block[i]), int(problem.pack_size[i])
        sizes = [block] + [1] * (len(xs) - 1)
        dc_rows[problem.sku[i]].extend(n * pack * v for n, v in zip(sizes, xs, strict=True))
        shelf_rows[problem.wh[i]].extend(
            n * float(problem.pack_volume[i]) * v for n, v in zip(sizes, xs, strict=True)
        )
        budget_row.extend(
            n * float(problem.pack_cost[i]) * v for n, v in zip(sizes, xs, strict=True)
        )
        for v in xs[1:]:
            solver.Add(v <= xs[0])
    full = np.array([len(v) for v in problem.values], dtype=np.int64)
    dc_full, shelf_full, money_full = problem.usage(full)
    for s, row in enumerate(dc_rows):
        if dc_full[s] > problem.dc_left[s]:
            solver.Add(solver.Sum(row) <= float(problem.dc_left[s]))
    for w, row in enumerate(shelf_rows):
        if shelf_full[w] > problem.shelf_left[w]:
            solver.Add(solver.Sum(row) <= float(problem.shelf_left[w]))
    if money_full > problem.budget_left:
        solver.Add(solver.Sum(budget_row) <= float(problem.budget_left))
    solver.Maximize(
        solver.Sum(
            float(value) * v
            for values, xs in zip(problem.values, x, strict=True)
            for value, v in zip(values, xs, strict=True)
        )
    )
    solver_params: Any = pywraplp.MPSolverParameters()
    solver_params.SetDoubleParam(pywraplp.MPSolverParameters.RELATIVE_MIP_GAP, relative_gap)
    status = solver.Solve(solver_params)
    n_vars, n_cons = int(solver.NumVariables()), int(solver.NumConstraints())
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        return None, False, n_vars, n_cons
    taken = np.array([sum(round(v.solution_value()) for v in xs) for xs in x], dtype=np.int64)
    # Equal-valued segments may be taken out of order; the count is what matters.
    return taken, status == pywraplp.Solver.OPTIMAL, n_vars, n_cons
