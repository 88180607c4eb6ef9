"""Benchmark: the real nightly N nights in a closed loop, ours vs the min/max baseline (issue 12).

Runs ``flows.simulate`` (what ``partsflow simulate`` runs) for each policy on a
generated network (default medium, 28 nights), one policy after the other, each
saving its KPIs to ``OUT/<policy>.json``; a policy whose file exists is not run
again unless ``--rerun`` (so a long run can be split: ``--policies ours``, later
``--policies minmax``). Then prints the issue's table from the files:

* unit fill at the forward warehouses against the target (the settings' service
  level; the issue asks ±1 point), and the inventory value each policy held for
  it. One run per policy is one point each; ``--levels`` adds runs of ours at
  other unit-fill targets and ``--minmax-covers`` runs of min/max at other
  reorder/maximum covers (days), so each policy draws a frontier of fill against
  forward stock; the verdict reads ours' stock at each min/max point's fill off
  ours' frontier, and min/max's at each of ours' points off min/max's (linear
  between the two nearest points);
* the forward warehouses' median days of cover and share of units idle past 90
  days at the end (issue: ≤ 30 days, < 2 %);
* the DC's stock-out share of SKU-days with demand (< 2 %);
* (forward warehouse, SKU) pairs sent stock and pulled back within 14 days (0);
* lines moved per night and their coefficient of variation from the eighth night
  on (stability after the first week);
* the loop's wall time per night, the first night (cold model choice and the
  Prefect server's start) apart (target ≤ 60 s on the medium network).

Timings are wall-clock on a shared machine; the load average is printed.

    .venv/bin/python bench/bench_closed_loop.py [--scale medium] [--nights 28] [--seed 0]
        [--policies ours,minmax] [--levels 0.93,0.97] [--minmax-covers 3:10,10:21]
        [--out /tmp/partsflow_bench_closed_loop] [--rerun]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from optimization.replenishment.service import ServiceTarget  # noqa: E402
from settings import NightlyParams, Settings, use_prefect_defaults  # noqa: E402

POLICIES = ("ours", "minmax")
#: Fills this close count as equal when a frontier is read at another run's fill.
FILL_TOLERANCE = 0.0005


def _variants(args: argparse.Namespace) -> dict[str, tuple[str, NightlyParams]]:
    """Run name -> (policy, parameters): the settings' own, then the frontier's other points."""
    base = Settings().nightly_params()
    runs: dict[str, tuple[str, NightlyParams]] = {}
    policies = [p for p in args.policies.split(",") if p]
    if "ours" in policies:
        runs["ours"] = ("ours", base)
        target = base.policy.default_target
        for level in (float(x) for x in args.levels.split(",") if x):
            policy = replace(base.policy, default_target=ServiceTarget(target.kind, level))
            runs[f"ours@{level:g}"] = ("ours", replace(base, policy=policy))
    if "minmax" in policies:
        runs["minmax"] = ("minmax", base)
        for cover in (c for c in args.minmax_covers.split(",") if c):
            low, high = (float(x) for x in cover.split(":"))
            minmax = replace(base.policy.minmax, reorder_days=low, max_days=high)
            params = replace(base, policy=replace(base.policy, minmax=minmax))
            runs[f"minmax@{low:g}-{high:g}"] = ("minmax", params)
    return runs


def _run(
    name: str, policy: str, params: NightlyParams, args: argparse.Namespace, out: Path
) -> None:
    use_prefect_defaults()
    import flows

    started = time.perf_counter()
    result = flows.simulate(
        flows.Source(scale=args.scale, seed=args.seed),
        args.nights,
        policy,  # type: ignore[arg-type]
        params,
        progress=lambda night, wall: print(
            f"[{name}] {night.day}: unit fill {night.unit_fill or 0:.1%}, "
            f"{night.transfer_lines} lines moved, {wall:.1f} s",
            flush=True,
        ),
    )
    flows.write_json(result, out)
    print(f"[{name}] done in {time.perf_counter() - started:.0f} s -> {out}", flush=True)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _days(value: float | None) -> str:
    """Median days of cover; the JSON has null for infinite (stock without demand)."""
    return "∞" if value is None else f"{value:,.1f}"


def _pair(total: dict[str, Any], first: str, second: str) -> str:
    return f"{_num(total[first], 0)} / {_num(total[second], 0)}"


def _table(runs: dict[str, dict[str, Any]], target: float) -> str:
    rows = [
        ("unit fill (target)", lambda t: f"{_pct(t['unit_fill'])} ({target:.0%})"),
        ("item fill", lambda t: _pct(t["item_fill"])),
        ("FW stock value, mean of nights (¥)", lambda t: _num(t["fw_value_mean"], 0)),
        ("FW stock value at the end (¥)", lambda t: _num(t["fw_value_end"], 0)),
        ("FW median days of cover at the end", lambda t: _days(t["fw_cover_days_end"])),
        ("FW units idle > 90 days at the end", lambda t: _pct(t["idle_share_end"])),
        ("DC stock value, mean of nights (¥)", lambda t: _num(t["dc_value_mean"], 0)),
        ("DC stock-out, share of SKU-days with demand", lambda t: _pct(t["dc_stockout_share"])),
        ("units late from the DC / short", lambda t: _pair(t, "units_late", "units_short")),
        ("stock-out SKU-days at the FWs", lambda t: f"{t['stockout_sku_days']:,}"),
        ("sent and pulled back within 14 days", lambda t: str(t["sent_and_pulled_back"])),
        ("pulled back and sent again within 14 days", lambda t: str(t["pulled_back_and_sent"])),
        ("lines moved per night", lambda t: _num(t["transfer_lines_per_night"], 0)),
        ("lines moved: CV from night 8 on", lambda t: _pct(t["transfer_lines_cv_after_week"])),
        ("… with each weekday's mean taken out", lambda t: _pct(t["weekday_cv_after_week"])),
        ("pull-back lines / units", lambda t: _pair(t, "pull_back_lines", "pull_back_units")),
        ("PO lines / value (¥)", lambda t: _pair(t, "purchase_lines", "purchase_value")),
        ("wall s: first night / after", lambda t: _pair(t, "first_wall_s", "wall_s_after_first")),
        ("of which the nightly flow, s per night", lambda t: _num(t["nightly_s_per_night"])),
    ]  # fmt: skip
    names = list(runs)
    lines = ["| KPI | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for label, cell in rows:
        lines.append(f"| {label} | " + " | ".join(cell(runs[n]["total"]) for n in names) + " |")
    return "\n".join(lines)


def _verdict(runs: dict[str, dict[str, Any]], target: float) -> list[str]:
    out = []
    if "ours" in runs:
        t = runs["ours"]["total"]
        fill = t["unit_fill"] or 0.0
        out.append(f"ours: unit fill {fill:.1%} vs target {target:.0%}: "
                   f"{'within' if abs(fill - target) <= 0.01 else 'outside'} ±1 point")  # fmt: skip
        out.append(f"ours: FW median cover {_days(t['fw_cover_days_end'])} days (≤ 30), idle > 90 "
                   f"days {_pct(t['idle_share_end'])} (< 2 %), DC stock-out "
                   f"{_pct(t['dc_stockout_share'])} (< 2 %), sent and pulled back "
                   f"{t['sent_and_pulled_back']} (0)")  # fmt: skip
    frontier = sorted(
        (r["total"]["unit_fill"] or 0.0, r["total"]["fw_value_mean"])
        for name, r in runs.items()
        if name.startswith("ours")
    )
    for name, run in runs.items():
        if not name.startswith("minmax") or not frontier:
            continue
        fill, value = run["total"]["unit_fill"] or 0.0, run["total"]["fw_value_mean"]
        ours = _at_fill(frontier, fill)
        if ours is None:
            span = f"{frontier[0][0]:.1%}–{frontier[-1][0]:.1%}"
            out.append(f"{name}: fill {fill:.1%} outside ours' frontier ({span}): "
                       "run ours at more levels")  # fmt: skip
        else:
            out.append(f"{name}: fill {fill:.1%} at FW stock ¥{value:,.0f}; ours at that fill "
                       f"¥{ours:,.0f} ({ours / value:.2f}x)")  # fmt: skip
    minmax = sorted(
        (r["total"]["unit_fill"] or 0.0, r["total"]["fw_value_mean"])
        for name, r in runs.items()
        if name.startswith("minmax")
    )
    for name, run in runs.items():
        if not name.startswith("ours") or len(minmax) < 2:
            continue
        fill, value = run["total"]["unit_fill"] or 0.0, run["total"]["fw_value_mean"]
        theirs = _at_fill(minmax, fill)
        if theirs is not None:
            out.append(f"{name}: fill {fill:.1%} at FW stock ¥{value:,.0f}; min/max at that "
                       f"fill ¥{theirs:,.0f} (ours {value / theirs:.2f}x)")  # fmt: skip
    return out


def _weekday_cv(nights: list[dict[str, Any]]) -> float | None:
    """The CV of lines moved per night once each weekday's own mean is divided out: what
    is left when the weekly rhythm (more moves before the weekend) is not counted."""
    by_day: dict[int, list[int]] = {}
    for night in nights:
        by_day.setdefault(date.fromisoformat(night["day"]).weekday(), []).append(
            night["transfer_lines"]
        )
    # A weekday seen once divides to 1 exactly: only weekdays seen twice or more count.
    ratios = [n / (sum(v) / len(v)) for v in by_day.values() if len(v) > 1 and sum(v) for n in v]
    if len(ratios) < 2:
        return None
    mean = sum(ratios) / len(ratios)
    sd = (sum((r - mean) ** 2 for r in ratios) / (len(ratios) - 1)) ** 0.5
    return sd / mean


def _at_fill(frontier: list[tuple[float, float]], fill: float) -> float | None:
    """Ours' mean FW stock at ``fill``, linear between the frontier's two nearest points."""
    for (f0, v0), (f1, v1) in itertools.pairwise(frontier):
        if f0 <= fill <= f1:
            return v0 if f1 == f0 else v0 + (v1 - v0) * (fill - f0) / (f1 - f0)
    # Within 0.05 point of an end counts as that end (e.g. 5 units of 156,000 apart).
    for end_fill, end_value in (frontier[0], frontier[-1]):
        if abs(end_fill - fill) <= FILL_TOLERANCE:
            return end_value
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="medium", choices=["small", "medium", "large"])
    parser.add_argument("--nights", type=int, default=28)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--policies", default=",".join(POLICIES))
    parser.add_argument("--levels", default="", help="ours at these unit-fill targets too")
    parser.add_argument(
        "--minmax-covers", default="", help="min/max at these reorder:max covers too (days)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path(tempfile.gettempdir()) / "partsflow_bench_closed_loop"
    )
    parser.add_argument("--rerun", action="store_true", help="run even if the JSON exists")
    args = parser.parse_args()
    unknown = {p for p in args.policies.split(",") if p} - set(POLICIES)
    if unknown:
        parser.error(f"unknown policies {sorted(unknown)}; known: {', '.join(POLICIES)}")
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"{args.scale}_{args.nights}n_seed{args.seed}"
    for name, (policy, params) in _variants(args).items():
        path = args.out / f"{stem}_{name}.json"
        if args.rerun or not path.exists():
            _run(name, policy, params, args, path)
    runs: dict[str, dict[str, Any]] = {}
    for path in sorted(args.out.glob(f"{stem}_*.json")):
        data = json.loads(path.read_text())
        total = data["total"]
        total["first_wall_s"] = data["nights"][0]["wall_s"]
        total["wall_s_after_first"] = total["wall_s_per_night_after_first"]
        total["weekday_cv_after_week"] = _weekday_cv(data["nights"][7:])
        runs[path.stem.removeprefix(f"{stem}_")] = data
    target = Settings().service_level
    one, five, fifteen = os.getloadavg()
    print(f"\ndate {date.today()}; {args.scale} network, seed {args.seed}, {args.nights} nights "
          f"after {next(iter(runs.values()))['split_day'] if runs else '?'}; "
          f"load {one:.2f} {five:.2f} {fifteen:.2f}; cpus {os.cpu_count()}\n")  # fmt: skip
    print(_table(runs, target))
    print()
    for line in _verdict(runs, target):
        print(f"- {line}")


if __name__ == "__main__":
    main()
