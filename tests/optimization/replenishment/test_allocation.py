"""DC allocation: full when everything fits, optimal under scarcity (checked by brute force)."""

from __future__ import annotations

import itertools
from datetime import date

import numpy as np
import polars as pl
import pytest
from scipy.stats import nbinom, poisson

from optimization.replenishment.allocation import (
    ALLOCATION,
    DC_STOCK,
    SHELF,
    TRANSFER_PLAN,
    AllocationParams,
    allocate,
    allocation_plan,
)
from optimization.replenishment.policy import (
    DEMAND_DISTRIBUTION,
    POSITIONS,
    SKU_POLICY,
    plan_replenishment,
)

AS_OF = date(2026, 11, 20)


def _proposals(
    lines: list[tuple[str, str, float, float, int]],
    skus: dict[str, tuple[int, int, float, float, float]],
) -> pl.DataFrame:
    """Lines ``(warehouse, sku, rate, dispersion, on_hand)``; skus ``pack, moq, l, cost, w``.

    The allocator is tested on its own terms: a line moves in packs and a first block
    of at least the MOQ. The policy proposes in sales multiples (here the pack) and no
    longer lifts a transfer to a MOQ, so the lift is applied here.
    """
    demand = pl.DataFrame(
        [(w, s, r, d, "smooth", AS_OF) for w, s, r, d, _ in lines],
        schema=DEMAND_DISTRIBUTION,
        orient="row",
    )
    positions = pl.DataFrame(
        [(w, s, h, 0, 0, 0, AS_OF, None) for w, s, _, _, h in lines],
        schema=POSITIONS,
        orient="row",
    )
    master = pl.DataFrame(
        [(s, "c", p, m, p, 0, False, v, c, w) for s, (p, m, v, c, w) in skus.items()],
        schema=SKU_POLICY,
        orient="row",
    )
    props = plan_replenishment(demand, positions, master, AS_OF)
    lifted = (pl.col("moq") + pl.col("pack_size") - 1) // pl.col("pack_size") * pl.col("pack_size")
    return props.with_columns(
        proposed_quantity=pl.when(pl.col("proposed_quantity") > 0)
        .then(pl.max_horizontal("proposed_quantity", lifted))
        .otherwise(0)
    )


def _dc(stock: dict[str, int]) -> pl.DataFrame:
    return pl.DataFrame(list(stock.items()), schema=DC_STOCK, orient="row")


def _shelf(capacity: dict[str, float]) -> pl.DataFrame:
    return pl.DataFrame(list(capacity.items()), schema=SHELF, orient="row")


def _unit_values(row: dict[str, object], upto: int) -> np.ndarray:
    """``weight·P(D ≥ IP + u)`` for u = 1..upto, straight from scipy."""
    mu, phi = float(row["forecast_mean"]), float(row["dispersion"])  # type: ignore[arg-type]
    levels = int(row["inventory_position"]) + np.arange(upto)  # type: ignore[call-overload]
    poisson_like = phi <= 1 + 1e-9
    sf = poisson.sf(levels, mu) if poisson_like else nbinom.sf(levels, mu / (phi - 1), 1 / phi)
    return float(row["weight"]) * sf  # type: ignore[arg-type, no-any-return]


def _brute_force(
    proposals: pl.DataFrame, dc: dict[str, int], shelf: dict[str, float], budget: float | None
) -> float:
    rows = proposals.filter(pl.col("proposed_quantity") > 0).to_dicts()
    used = proposals.group_by("warehouse_id").agg(
        (pl.col("on_hand") * pl.col("unit_volume_l")).sum().alias("used")
    )
    free = {w: shelf.get(w, np.inf) - u for w, u in used.iter_rows()}
    choices = []
    for r in rows:
        pack, moq, top = r["pack_size"], r["moq"], r["proposed_quantity"]
        choices.append([q for q in range(0, top + 1, pack) if q == 0 or q >= moq])
    best = 0.0
    for combo in itertools.product(*choices):
        units: dict[str, int] = {}
        litres: dict[str, float] = {}
        money = 0.0
        for r, q in zip(rows, combo, strict=True):
            units[r["sku"]] = units.get(r["sku"], 0) + q
            litres[r["warehouse_id"]] = litres.get(r["warehouse_id"], 0.0) + q * r["unit_volume_l"]
            money += q * r["unit_cost"]
        if any(units[s] > dc.get(s, 0) for s in units):
            continue
        if any(litres[w] > free[w] + 1e-9 for w in litres):
            continue
        if budget is not None and money > budget + 1e-9:
            continue
        value = sum(_unit_values(r, q).sum() for r, q in zip(rows, combo, strict=True) if q > 0)
        best = max(best, value)
    return best


def test_everything_fits_allocates_every_proposal() -> None:
    props = _proposals([("W1", "A", 2.0, 1.0, 0)], {"A": (1, 1, 1.0, 5.0, 1.0)})
    result = allocate(props, _dc({"A": 100}), _shelf({"W1": 1000.0}))
    assert result.status == "uncontested"
    assert result.lines.schema == ALLOCATION
    row = result.lines.row(0, named=True)
    assert row["allocated_quantity"] == row["proposed_quantity"] > 0
    assert row["cut_by"] == "none"


def test_scarce_dc_stock_goes_where_it_serves_most() -> None:
    props = _proposals(
        [("W1", "A", 3.0, 1.0, 0), ("W2", "A", 0.3, 1.0, 0)], {"A": (1, 1, 1.0, 5.0, 1.0)}
    )
    result = allocate(props, _dc({"A": 4}), _shelf({}))
    assert result.status == "optimal_greedy"  # only DC stock binds: exact without a solver
    got = dict(result.lines.select("warehouse_id", "allocated_quantity").iter_rows())
    assert sum(got.values()) == 4
    assert got["W1"] > got["W2"]
    assert set(result.lines["cut_by"]) <= {"dc_stock", "none"}
    assert "dc_stock" in set(result.lines["cut_by"])


def test_a_cut_line_says_where_the_contested_stock_went() -> None:
    props = _proposals(
        [("W1", "A", 3.0, 1.0, 0), ("W2", "A", 3.0, 1.0, 0), ("W3", "A", 0.3, 1.0, 0)],
        {"A": (1, 1, 1.0, 5.0, 1.0)},
    )
    result = allocate(props, _dc({"A": 5}), _shelf({}))
    lines = {r["warehouse_id"]: r for r in result.lines.iter_rows(named=True)}
    assert lines["W3"]["allocated_quantity"] == 0
    got = sorted(
        ((r["allocated_quantity"], w) for w, r in lines.items() if r["allocated_quantity"]),
        reverse=True,
    )
    receivers = ", ".join(f"{w} ({n})" for n, w in sorted(got, key=lambda x: (-x[0], x[1])))
    assert lines["W3"]["decision"].endswith(f"; it went to {receivers}")
    assert "cut by dc stock" in lines["W3"]["decision"]


def test_full_shelf_cuts_the_line_and_says_so() -> None:
    props = _proposals(
        [("W1", "A", 4.0, 1.0, 2), ("W1", "B", 4.0, 1.0, 0)],
        {"A": (1, 1, 2.0, 5.0, 1.0), "B": (1, 1, 2.0, 5.0, 1.0)},
    )
    # 2 units on hand use 4 l of 12 l: room for 4 more units.
    result = allocate(props, _dc({"A": 50, "B": 50}), _shelf({"W1": 12.0}))
    assert result.lines["allocated_quantity"].sum() == 4
    assert set(result.lines["cut_by"]) == {"shelf"}
    assert "shelf" in result.lines["decision"][0]


def test_budget_limits_the_money_spent() -> None:
    props = _proposals(
        [("W1", "A", 4.0, 1.0, 0), ("W2", "B", 4.0, 1.0, 0)],
        {"A": (1, 1, 1.0, 10.0, 1.0), "B": (1, 1, 1.0, 30.0, 1.0)},
    )
    result = allocate(props, _dc({"A": 50, "B": 50}), _shelf({}), AllocationParams(budget=100.0))
    spent = (
        result.lines.join(props.select("sku", "unit_cost").unique(), on="sku")
        .select((pl.col("allocated_quantity") * pl.col("unit_cost")).sum())
        .item()
    )
    assert spent <= 100.0
    assert "budget" in set(result.lines["cut_by"])


@pytest.mark.parametrize("seed", range(12))
def test_mip_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    skus = {
        s: (
            int(rng.integers(1, 3)),
            int(rng.integers(1, 4)),
            float(rng.integers(1, 4)),
            1.0 + s_i,
            float(rng.uniform(0.5, 2)),
        )
        for s_i, s in enumerate(["A", "B"])
    }
    lines = [
        (w, s, float(rng.uniform(0.3, 3.0)), float(rng.choice([1.0, 2.5])), int(rng.integers(0, 2)))
        for w in ("W1", "W2")
        for s in ("A", "B")
    ]
    props = _proposals(lines, skus)
    dc = {"A": int(rng.integers(0, 7)), "B": int(rng.integers(0, 7))}
    shelf = {"W1": float(rng.integers(4, 14)), "W2": float(rng.integers(4, 14))}
    budget = float(rng.integers(5, 20)) if seed % 3 == 0 else None
    result = allocate(props, _dc(dc), _shelf(shelf), AllocationParams(budget=budget))
    assert result.status in ("optimal", "optimal_greedy", "uncontested")
    assert result.objective == pytest.approx(_brute_force(props, dc, shelf, budget), abs=1e-6)
    if not np.isnan(result.upper_bound):
        assert result.upper_bound >= result.objective - 1e-9


@pytest.mark.parametrize("seed", range(12))
def test_greedy_is_exact_when_only_dc_stock_binds(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    # MOQ within one pack, no shelf, no budget: the structure the greedy path needs.
    skus = {
        s: (int(rng.integers(1, 4)), 1, 1.0, 1.0, float(rng.uniform(0.5, 2)))
        for s in ["A", "B", "C"]
    }
    lines = [
        (w, s, float(rng.uniform(0.3, 4.0)), float(rng.choice([1.0, 3.0])), int(rng.integers(0, 2)))
        for w in ("W1", "W2", "W3")
        for s in ("A", "B", "C")
    ]
    props = _proposals(lines, skus)
    dc = {s: int(rng.integers(0, 9)) for s in skus}
    result = allocate(props, _dc(dc), _shelf({}))
    assert result.status in ("optimal_greedy", "uncontested")
    # Only DC stock binds, so the optimum is the sum of each SKU's own optimum.
    best = sum(_brute_force(props.filter(pl.col("sku") == s), dc, {}, None) for s in skus)
    assert result.objective == pytest.approx(best, abs=1e-6)


def test_a_mip_above_the_size_limit_falls_back_to_fair_share() -> None:
    props = _proposals(
        [("W1", "A", 4.0, 1.0, 0), ("W1", "B", 4.0, 1.0, 0)],
        {"A": (1, 1, 2.0, 5.0, 1.0), "B": (1, 1, 2.0, 5.0, 1.0)},
    )
    params = AllocationParams(max_mip_variables=2)
    result = allocate(props, _dc({"A": 50, "B": 50}), _shelf({"W1": 10.0}), params)
    assert result.status in ("too_large_greedy", "too_large_fair_share")
    assert result.n_variables > 2
    assert result.objective <= result.upper_bound + 1e-9
    litres = (result.lines["allocated_quantity"] * 2.0).sum()
    assert 0 < litres <= 10.0


@pytest.mark.parametrize("seed", range(6))
def test_fair_share_is_feasible_and_respects_packs(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    skus = {"A": (2, 4, 1.0, 1.0, 1.0), "B": (3, 3, 2.0, 1.0, 1.0)}
    lines = [(w, s, float(rng.uniform(1, 6)), 1.5, 0) for w in ("W1", "W2", "W3") for s in "AB"]
    props = _proposals(lines, skus)
    dc, shelf = {"A": int(rng.integers(0, 12)), "B": int(rng.integers(0, 12))}, {"W1": 9.0}
    fair = allocate(props, _dc(dc), _shelf(shelf), AllocationParams(method="fair_share"))
    best = allocate(props, _dc(dc), _shelf(shelf))
    assert fair.status == "fair_share"
    got = fair.lines.join(
        props.select("warehouse_id", "sku", "pack_size", "moq", "unit_volume_l"),
        on=["warehouse_id", "sku"],
    )
    assert (got["allocated_quantity"] % got["pack_size"] == 0).all()
    assert ((got["allocated_quantity"] == 0) | (got["allocated_quantity"] >= got["moq"])).all()
    per_sku = dict(got.group_by("sku").agg(pl.col("allocated_quantity").sum()).iter_rows())
    assert all(per_sku[s] <= dc[s] for s in per_sku)
    w1 = got.filter(pl.col("warehouse_id") == "W1")
    assert (w1["allocated_quantity"] * w1["unit_volume_l"]).sum() <= 9.0
    assert fair.objective <= best.objective + 1e-9


def test_do_not_stock_is_never_allocated() -> None:
    demand = pl.DataFrame(
        [("W1", "A", 5.0, 1.0, "smooth", AS_OF)], schema=DEMAND_DISTRIBUTION, orient="row"
    )
    master = pl.DataFrame(
        [("A", "c", 1, 1, 1, 0, True, 1.0, 1.0, 1.0)], schema=SKU_POLICY, orient="row"
    )
    props = plan_replenishment(demand, POSITIONS.to_frame(), master, AS_OF)
    result = allocate(props, _dc({"A": 10}), _shelf({}))
    assert result.lines.is_empty()
    plan = allocation_plan(props, result)
    assert plan.schema == TRANSFER_PLAN
    assert plan.row(0, named=True)["allocated_quantity"] == 0


def test_plan_rows_carry_the_allocation_decision() -> None:
    props = _proposals(
        [("W1", "A", 3.0, 1.0, 0), ("W2", "A", 0.3, 1.0, 0)], {"A": (1, 1, 1.0, 5.0, 1.0)}
    )
    result = allocate(props, _dc({"A": 4}), _shelf({}))
    plan = allocation_plan(props, result)
    assert plan.schema == TRANSFER_PLAN
    assert plan.height == props.height
    assert set(plan["solver_status"]) <= {"optimal", "optimal_greedy"}
    assert plan["allocated_quantity"].sum() == 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"budget": -1.0}, "budget must be"),
        ({"time_limit_s": 0.0}, "time limit"),
        ({"method": "greedy"}, "method must be"),
    ],
)
def test_params_are_validated(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AllocationParams(**kwargs)  # type: ignore[arg-type]
