"""DC allocation of tonight's proposals under DC stock, shelf volume and an optional budget.

When everything fits, every proposal is allocated in full. Otherwise the
contested lines — a SKU whose proposals exceed its DC stock, a warehouse whose
proposals exceed its free shelf volume, or every line when the budget binds —
go to a mixed-integer program (OR-Tools, SCIP) that maximises expected units
served, weighted by each SKU's ``weight`` (margin or priority):

    max  Σ_i w_i Σ_j v_ij x_ij      x_ij ∈ {0, 1}: line i receives its j-th pack
    s.t. Σ_{i ∈ sku s}  pack_i Σ_j x_ij ≤ DC stock of s
         Σ_{i ∈ wh w}   vol_i pack_i Σ_j x_ij ≤ free shelf volume of w
         Σ_i cost_i pack_i Σ_j x_ij ≤ budget
         x_ij ≤ x_i0                (j ≥ 1: the first block carries the MOQ)

``v_ij`` sums ``P(D ≥ IP + u)`` over the pack's units ``u``: the u-th unit above
the inventory position IP is used only if protection-period demand reaches
it. Those values fall with ``j``, so the objective is concave per line and
the solver fills packs in order. Lines of uncontested SKUs in uncontested
warehouses keep their full proposal: their constraints stay slack whatever
the contested lines get, so fixing them loses nothing.

**Exact greedy** when only DC stock binds (no shelf row, no budget) and no
line's MOQ spans more than one pack: every line of a SKU then uses the same
pack of that SKU's stock per segment and its segment values fall, so taking
the highest-valued segments that fit, SKU by SKU, is optimal — no solver
needed (status ``optimal_greedy``). The same status is given when the greedy
reaches :func:`upper_bound` although a shelf row exists (the shelf did not
cut anything the DC could give). The MIP is built only when a shelf or the
budget really couples SKUs.

Two heuristics back the MIP up, and the better of them is kept when the MIP
is larger than ``max_mip_variables`` (building millions of variables through
the solver's Python API costs minutes and gigabytes: status
``too_large_<heuristic>``) or when the solver's incumbent at its time limit
is worse (``time_limit_<heuristic>``):

* **greedy** — packs in falling order of marginal value, each taken if it
  still fits every capacity;
* **fair share** — each contested line receives the same fraction of its
  proposal as the tightest of its SKU's DC stock, its warehouse's shelf and
  the budget allows (rounded down to packs, MOQ kept), then the packs left
  over go greedily to the highest marginal value that still fits.

How far a heuristic can be from the optimum is bounded by
:func:`upper_bound`: the exact optimum with shelves and budget dropped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from optimization.replenishment.allocation_explain import explain_cuts
from optimization.replenishment.allocation_mip import solve_segments
from optimization.replenishment.allocation_segments import (
    EPS,
    FloatArray,
    IntArray,
    SegmentProblem,
    fair_share,
    only_dc_binds,
    top_up,
    upper_bound,
)
from optimization.replenishment.policy import KEYS, PROPOSAL
from optimization.replenishment.service import demand_sf

#: DC stock free for tonight's transfers, per SKU (a SKU without a row has none).
DC_STOCK = pl.Schema({"sku": pl.String, "available": pl.Int64})

#: Shelf volume per forward warehouse in litres (a warehouse without a row is unlimited).
SHELF = pl.Schema({"warehouse_id": pl.String, "capacity_l": pl.Float64})

#: The decision per proposed line.
ALLOCATION = pl.Schema(
    {
        "warehouse_id": pl.String,
        "sku": pl.String,
        "proposed_quantity": pl.Int64,
        "allocated_quantity": pl.Int64,
        "cut_by": pl.String,
        "decision": pl.String,
    }
)

#: Proposal + allocation per series: the rows of ``replenishment_plan`` / transfer-order lines.
TRANSFER_PLAN = pl.Schema(
    [
        *PROPOSAL.items(),
        ("allocated_quantity", pl.Int64()),
        ("cut_by", pl.String()),
        ("decision", pl.String()),
        ("solver_status", pl.String()),
    ]
)

#: Statuses recorded with an allocation.
STATUSES = (
    "uncontested",
    "optimal",
    "optimal_greedy",
    "too_large_greedy",
    "too_large_fair_share",
    "time_limit_incumbent",
    "time_limit_greedy",
    "time_limit_fair_share",
    "fair_share",
)


@dataclass(frozen=True)
class AllocationParams:
    """Budget (in ``unit_cost`` money, ``None``: none), solver time limit and method.

    ``method="fair_share"`` skips the solver (a planner's choice, or a test's).
    """

    budget: float | None = None
    time_limit_s: float = 30.0
    method: Literal["mip", "fair_share"] = "mip"
    relative_gap: float = 1e-7
    max_mip_variables: int = 300_000

    def __post_init__(self) -> None:
        if self.budget is not None and self.budget < 0:
            raise ValueError(f"budget must be >= 0, got {self.budget}")
        if self.time_limit_s <= 0:
            raise ValueError(f"time limit must be > 0 s, got {self.time_limit_s}")
        if self.method not in ("mip", "fair_share"):
            raise ValueError(f"method must be 'mip' or 'fair_share', got {self.method!r}")
        if not 0 <= self.relative_gap < 1:
            raise ValueError(f"relative gap must be in [0, 1), got {self.relative_gap}")
        if self.max_mip_variables < 1:
            raise ValueError(f"max_mip_variables must be >= 1, got {self.max_mip_variables}")


@dataclass(frozen=True)
class AllocationResult:
    """``lines`` (``ALLOCATION``), the status, and the size and value of the problem solved.

    ``objective`` is the weighted expected units served by what was allocated;
    ``proposed_value`` what allocating every proposal in full would have served;
    ``upper_bound`` what the best allocation could serve at most (see
    :func:`upper_bound`; the objective itself when nothing was contested).
    """

    lines: pl.DataFrame
    status: str
    objective: float
    proposed_value: float
    upper_bound: float
    n_lines: int
    n_contested: int
    n_variables: int
    n_constraints: int
    solve_seconds: float


def allocate(
    proposals: pl.DataFrame,
    dc_stock: pl.DataFrame,
    shelf: pl.DataFrame,
    params: AllocationParams = AllocationParams(),
) -> AllocationResult:
    """Decide how much of each proposal the DC ships tonight.

    Parameters
    ----------
    proposals
        ``optimization.replenishment.policy.PROPOSAL`` for every series of the warehouses
        concerned (rows without a proposal count towards shelf use: on hand +
        in transit − pull-back, times ``unit_volume_l``).
    dc_stock
        ``DC_STOCK``.
    shelf
        ``SHELF``.
    params
        Budget, time limit, method.

    Returns
    -------
    AllocationResult
        One ``ALLOCATION`` row per line with ``proposed_quantity > 0``.
    """
    started = time.perf_counter()
    occupied = proposals.group_by("warehouse_id").agg(
        used_l=(
            (pl.col("on_hand") + pl.col("in_transit") - pl.col("pull_back_quantity"))
            * pl.col("unit_volume_l")
        ).sum()
    )
    free = (
        occupied.join(shelf, on="warehouse_id", how="left")
        .with_columns(free_l=(pl.col("capacity_l") - pl.col("used_l")).clip(lower_bound=0.0))
        .with_columns(pl.col("free_l").fill_null(float("inf")))
    )
    lines = (
        proposals.filter(pl.col("proposed_quantity") > 0)
        .join(dc_stock, on="sku", how="left")
        .join(free.select("warehouse_id", "free_l"), on="warehouse_id", how="left")
        .with_columns(
            pl.col("available").fill_null(0),
            pl.col("free_l").fill_null(float("inf")),
            line_volume=pl.col("proposed_quantity") * pl.col("unit_volume_l"),
            line_cost=pl.col("proposed_quantity") * pl.col("unit_cost"),
        )
        .with_columns(
            sku_short=pl.col("proposed_quantity").sum().over("sku") > pl.col("available"),
            shelf_short=pl.col("line_volume").sum().over("warehouse_id") > pl.col("free_l") + EPS,
        )
        .sort(KEYS)
    )
    budget_binds = params.budget is not None and lines["line_cost"].sum() > params.budget + EPS
    lines = lines.with_columns(
        contested=pl.col("sku_short") | pl.col("shelf_short") | pl.lit(budget_binds)
    )
    full_value = _line_values(lines)
    proposed_value = float(sum(v.sum() for v in full_value))
    allocated = lines["proposed_quantity"].to_numpy().copy()
    contested = lines["contested"].to_numpy()
    status, n_vars, n_cons = "uncontested", 0, 0
    bound = proposed_value
    if contested.any():
        problem = _problem(lines, full_value, params.budget)
        segments, status, n_vars, n_cons, contested_bound = _solve(problem, params)
        allocated[contested] = problem.units(segments).astype(np.int64)
        fixed = sum(float(v.sum()) for v, c in zip(full_value, contested, strict=True) if not c)
        bound = fixed + contested_bound
    objective = _allocated_value(lines, full_value, allocated)
    out = lines.with_columns(allocated_quantity=pl.Series(allocated, dtype=pl.Int64))
    out = explain_cuts(out, dc_stock, free, params.budget)
    return AllocationResult(
        lines=out.select(ALLOCATION.names()).cast(ALLOCATION),
        status=status,
        objective=objective,
        proposed_value=proposed_value,
        upper_bound=bound,
        n_lines=lines.height,
        n_contested=int(contested.sum()),
        n_variables=n_vars,
        n_constraints=n_cons,
        solve_seconds=time.perf_counter() - started,
    )


def _line_values(lines: pl.DataFrame) -> list[FloatArray]:
    """Per line, the weighted value ``w·P(D ≥ IP + u)`` of each proposed unit ``u``."""
    qty = lines["proposed_quantity"].to_numpy()
    row = np.repeat(np.arange(lines.height), qty)
    offset = np.arange(row.size) - np.repeat(np.cumsum(qty) - qty, qty)
    level = lines["inventory_position"].to_numpy()[row] + offset  # P(D > IP + u − 1)
    probs = demand_sf(
        level.astype(np.float64),
        lines["forecast_mean"].to_numpy()[row],
        lines["dispersion"].to_numpy()[row],
    )
    weighted = probs * lines["weight"].to_numpy()[row]
    return np.split(weighted, np.cumsum(qty)[:-1]) if lines.height else []


def _allocated_value(lines: pl.DataFrame, values: list[FloatArray], allocated: IntArray) -> float:
    return float(sum(v[:k].sum() for v, k in zip(values, allocated, strict=True)))


def _problem(lines: pl.DataFrame, values: list[FloatArray], budget: float | None) -> SegmentProblem:
    mask = lines["contested"].to_numpy()
    fixed = lines.filter(~pl.col("contested"))
    part = lines.filter(pl.col("contested"))
    sku_codes, sku = np.unique(part["sku"].to_numpy(), return_inverse=True)
    wh_codes, wh = np.unique(part["warehouse_id"].to_numpy(), return_inverse=True)
    fixed_units = dict(fixed.group_by("sku").agg(pl.col("proposed_quantity").sum()).iter_rows())
    fixed_litres = dict(fixed.group_by("warehouse_id").agg(pl.col("line_volume").sum()).iter_rows())
    available = dict(part.select("sku", "available").unique().iter_rows())
    free = dict(part.select("warehouse_id", "free_l").unique().iter_rows())
    dc_left = np.array([available[s] - fixed_units.get(s, 0) for s in sku_codes], dtype=float)
    shelf_left = np.array([free[w] - fixed_litres.get(w, 0.0) for w in wh_codes], dtype=float)
    budget_left = np.inf if budget is None else budget - float(fixed["line_cost"].sum())
    pack_size = part["pack_size"].to_numpy().astype(np.int64)
    packs = part["proposed_quantity"].to_numpy() // pack_size
    block = np.minimum(np.maximum(-(-part["moq"].to_numpy() // pack_size), 1), packs)
    segment_values: list[FloatArray] = []
    for v, n, b, size in zip(
        (values[i] for i in np.flatnonzero(mask)), packs, block, pack_size, strict=True
    ):
        per_pack = v.reshape(int(n), int(size)).sum(axis=1)
        segment_values.append(np.concatenate([[per_pack[:b].sum()], per_pack[b:]]))
    return SegmentProblem(
        packs=packs.astype(np.int64),
        block=block.astype(np.int64),
        pack_size=pack_size,
        values=segment_values,
        sku=sku.astype(np.int64),
        wh=wh.astype(np.int64),
        dc_left=np.maximum(dc_left, 0.0),
        shelf_left=np.maximum(shelf_left, 0.0),
        budget_left=max(budget_left, 0.0),
        pack_volume=part["unit_volume_l"].to_numpy() * pack_size,
        pack_cost=part["unit_cost"].to_numpy() * pack_size,
    )


def _solve(
    problem: SegmentProblem, params: AllocationParams
) -> tuple[IntArray, str, int, int, float]:
    """Segments per line, the status, the MIP size and the upper bound (see the module doc)."""
    if params.method == "fair_share":
        return fair_share(problem), "fair_share", 0, 0, upper_bound(problem)
    greedy = top_up(problem, np.zeros(problem.packs.size, dtype=np.int64))
    if only_dc_binds(problem):  # the greedy is exact: it is its own bound
        return greedy, "optimal_greedy", 0, 0, problem.value(greedy)
    bound = upper_bound(problem)
    if problem.value(greedy) >= bound - 1e-9 * max(abs(bound), 1.0):
        return greedy, "optimal_greedy", 0, 0, bound
    share = fair_share(problem)
    # The better of the two heuristics backs the MIP up.
    fallback, name = (
        (greedy, "greedy")
        if problem.value(greedy) >= problem.value(share)
        else (share, "fair_share")
    )
    n_vars = int(sum(len(v) for v in problem.values))
    if n_vars > params.max_mip_variables:
        return fallback, f"too_large_{name}", n_vars, 0, bound
    segments, optimal, n_vars, n_cons = solve_segments(
        problem, params.time_limit_s, params.relative_gap
    )
    if optimal and segments is not None:
        return segments, "optimal", n_vars, n_cons, bound
    if segments is not None and problem.value(segments) >= problem.value(fallback):
        return segments, "time_limit_incumbent", n_vars, n_cons, bound
    return fallback, f"time_limit_{name}", n_vars, n_cons, bound


def allocation_plan(proposals: pl.DataFrame, result: AllocationResult) -> pl.DataFrame:
    """Proposals with the allocation's columns: the rows of transfer-order lines.

    Returns
    -------
    pl.DataFrame
        ``TRANSFER_PLAN``: ``PROPOSAL`` plus ``allocated_quantity``, ``cut_by``,
        ``decision`` and ``solver_status`` (lines without a proposal: 0, ``none``).
    """
    return (
        proposals.join(
            result.lines.drop("proposed_quantity"), on=KEYS, how="left", maintain_order="left"
        )
        .with_columns(
            pl.col("allocated_quantity").fill_null(0),
            pl.col("cut_by").fill_null("none"),
            pl.col("decision").fill_null("nothing to allocate"),
            solver_status=pl.lit(result.status),
        )
        .select(TRANSFER_PLAN.names())
        .cast(TRANSFER_PLAN)
    )
