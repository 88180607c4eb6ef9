"""What the replenishment benches print alike: frontier points of runs and Markdown tables."""

from __future__ import annotations

import polars as pl

from optimization.evaluation.simulation import SimulationResult


def frontier_point(
    name: str, setting: float, result: SimulationResult, per_item: bool = False
) -> tuple[str, float, float, float, float]:
    """One ``FRONTIER_POINTS`` row (``optimization.evaluation.frontier``): unit or item fill."""
    s = result.summary
    fill = s.item_fill_rate if per_item else s.fill_rate
    return (name, setting, fill, s.cycle_service, s.avg_inventory_value)


def markdown(frame: pl.DataFrame) -> str:
    """``frame`` as a Markdown table, every cell as ``str`` gives it."""
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join([header, rule, *body])
