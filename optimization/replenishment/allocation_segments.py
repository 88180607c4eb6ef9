"""The contested lines of a DC allocation as pack segments, and the heuristics on them.

:mod:`optimization.replenishment.allocation` builds a :class:`SegmentProblem` from the
lines whose SKU, shelf or budget is short; the MIP
(:mod:`optimization.replenishment.allocation_mip`) and the two heuristics here
(:func:`top_up`, the greedy by marginal value, and :func:`fair_share`) solve it, and
:func:`upper_bound` bounds how far either can be from the optimum.
"""

from __future__ import annotations

import dataclasses
import heapq
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Slack of capacity comparisons (litres and money are floats).
EPS = 1e-9


@dataclass(frozen=True)
class SegmentProblem:
    """Contested lines as arrays: packs, segment values, and the capacity rows they use."""

    packs: IntArray  # packs proposed per line
    block: IntArray  # packs of the first (MOQ) segment
    pack_size: IntArray
    values: list[FloatArray]  # per line: weighted value of each segment
    sku: IntArray
    wh: IntArray
    dc_left: FloatArray  # per sku index
    shelf_left: FloatArray  # per warehouse index
    budget_left: float
    pack_volume: FloatArray
    pack_cost: FloatArray

    def usage(self, segments: IntArray) -> tuple[FloatArray, FloatArray, float]:
        """DC units per sku, litres per warehouse and money used by ``segments`` per line."""
        units = self.units(segments)
        dc = np.bincount(self.sku, weights=units, minlength=self.dc_left.size).astype(np.float64)
        shelf = np.bincount(
            self.wh,
            weights=units / self.pack_size * self.pack_volume,
            minlength=self.shelf_left.size,
        ).astype(np.float64)
        money = float((units / self.pack_size * self.pack_cost).sum())
        return dc, shelf, money

    def units(self, segments: IntArray) -> FloatArray:
        """Units allocated when each line takes its first ``segments`` segments."""
        packs = np.where(segments > 0, self.block + segments - 1, 0)
        return (packs * self.pack_size).astype(np.float64)

    def value(self, segments: IntArray) -> float:
        """Objective of taking the first ``segments`` segments per line."""
        return float(sum(v[:k].sum() for v, k in zip(self.values, segments, strict=True)))


def upper_bound(problem: SegmentProblem) -> float:
    """The optimum with shelves and budget dropped: no allocation serves more.

    Exact (the greedy of the DC-only case) when every first segment is one
    pack; NaN otherwise.
    """
    if not (problem.block == 1).all():
        return float("nan")
    relaxed = dataclasses.replace(
        problem,
        shelf_left=np.full_like(problem.shelf_left, np.inf),
        budget_left=float("inf"),
    )
    return relaxed.value(top_up(relaxed, np.zeros(problem.packs.size, dtype=np.int64)))


def only_dc_binds(problem: SegmentProblem) -> bool:
    """True when no shelf or budget can bind and every line's first segment is one pack."""
    everything = np.array([len(v) for v in problem.values], dtype=np.int64)
    _, shelf, money = problem.usage(everything)
    return bool(
        (problem.block == 1).all()
        and (shelf <= problem.shelf_left + EPS).all()
        and money <= problem.budget_left + EPS
    )


def fair_share(problem: SegmentProblem) -> IntArray:
    """Proportional shares of each scarce capacity, then a greedy top-up by marginal value.

    Always feasible: each line gets at most the fraction of its proposal that
    the tightest of its capacities can give every line in proportion.
    """
    everything = np.array([len(v) for v in problem.values], dtype=np.int64)
    dc, shelf, money = problem.usage(everything)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.minimum.reduce(
            [
                np.where(dc > 0, problem.dc_left / dc, 1.0)[problem.sku],
                np.where(shelf > 0, problem.shelf_left / shelf, 1.0)[problem.wh],
                np.full(everything.size, problem.budget_left / money if money > 0 else 1.0),
            ]
        )
    packs = np.floor(np.clip(ratio, 0.0, 1.0) * problem.packs + EPS).astype(np.int64)
    segments = np.where(packs >= problem.block, packs - problem.block + 1, 0)
    return top_up(problem, segments)


def top_up(problem: SegmentProblem, segments: IntArray) -> IntArray:
    segments = segments.copy()
    dc, shelf, money = problem.usage(segments)
    dc_left = problem.dc_left - dc
    shelf_left = problem.shelf_left - shelf
    budget_left = problem.budget_left - money
    heap = [
        (-float(v[k]), i)
        for i, (v, k) in enumerate(zip(problem.values, segments, strict=True))
        if k < len(v)
    ]
    heapq.heapify(heap)
    while heap:
        _, i = heapq.heappop(heap)
        k = int(segments[i])
        n = int(problem.block[i]) if k == 0 else 1
        units = n * int(problem.pack_size[i])
        litres = n * float(problem.pack_volume[i])
        money_needed = n * float(problem.pack_cost[i])
        s, w = problem.sku[i], problem.wh[i]
        if (
            units <= dc_left[s] + EPS
            and litres <= shelf_left[w] + EPS
            and money_needed <= budget_left + EPS
        ):
            segments[i] = k + 1
            dc_left[s] -= units
            shelf_left[w] -= litres
            budget_left -= money_needed
            if k + 1 < len(problem.values[i]):
                heapq.heappush(heap, (-float(problem.values[i][k + 1]), i))
    return segments
