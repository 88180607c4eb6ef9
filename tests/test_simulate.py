"""``partsflow simulate`` end to end: three nights of the real nightly on the small network."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

import flows
from partsflow_cli import main
from settings import Settings

pytestmark = pytest.mark.slow

NIGHTS = 3
#: The nightly's settings for the test: a week's forecast horizon, 2 s per line-haul solve.
QUICK = {"PARTSFLOW_FORECAST_HORIZON_DAYS": "7", "PARTSFLOW_LINEHAUL_TIME_LIMIT_S": "2"}


@pytest.fixture(scope="module")
def simulated(
    prefect_server: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, Any], Path, str]]:
    """One ``partsflow simulate --nights 3 --scale small`` run, kept in its working folder."""
    work = tmp_path_factory.mktemp("simulate")
    with pytest.MonkeyPatch.context() as env:
        for name, value in QUICK.items():
            env.setenv(name, value)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(
                ["simulate", "--nights", str(NIGHTS), "--scale", "small", "--seed", "3",
                 "--json", str(work / "kpis.json"), "--workdir", str(work / "copy")]
            )  # fmt: skip
    assert code == 0
    kpis = json.loads((work / "kpis.json").read_text())
    yield kpis, work / "copy" / "warehouse.duckdb", out.getvalue()


def _sql(db: Path, query: str, *params: object) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(query, list(params)).fetchall()
    finally:
        con.close()


def test_the_table_and_the_totals_are_printed(simulated: tuple[dict[str, Any], Path, str]) -> None:
    kpis, _, out = simulated
    assert "unit fill" in out
    assert f"simulated {NIGHTS} nights (ours) after 2026-11-20" in out
    assert len(kpis["nights"]) == NIGHTS
    assert kpis["total"]["orders_refused"] == 0


def test_units_served_late_and_short_add_up_to_the_units_ordered(
    simulated: tuple[dict[str, Any], Path, str],
) -> None:
    kpis, db, _ = simulated
    for night in kpis["nights"]:
        assert (
            night["units_served"] + night["units_late"] + night["units_short"]
            == (night["units_ordered"])
        )
        assert night["units_ordered"] > 0
    ordered = _sql(
        db,
        "SELECT sum(quantity) FROM order_lines WHERE status = 'completed' AND demand_date > ?",
        date(2026, 11, 20),
    )[0][0]
    assert kpis["total"]["units_ordered"] == ordered
    assert 0.5 < kpis["total"]["unit_fill"] <= 1


def test_the_nightly_ran_each_night_on_the_day_just_loaded(
    simulated: tuple[dict[str, Any], Path, str],
) -> None:
    _, db, _ = simulated
    nights = _sql(db, "SELECT as_of, status FROM runs WHERE kind = 'nightly' ORDER BY as_of")
    expected = [date(2026, 11, 20) + timedelta(days=k) for k in range(1, NIGHTS + 1)]
    assert nights == [(day, "succeeded") for day in expected]
    # Every order it proposed was released (or refused and cancelled): none is left open.
    assert _sql(db, "SELECT count(*) FROM transfer_orders WHERE status <> 'released'") == [(0,)]


def test_stock_never_goes_negative(simulated: tuple[dict[str, Any], Path, str]) -> None:
    _, db, _ = simulated
    assert _sql(db, "SELECT min(on_hand), min(on_hand - reserved) FROM stock_levels")[0] >= (0, 0)


def test_transfers_of_night_t_arrive_on_t_plus_1(
    simulated: tuple[dict[str, Any], Path, str],
) -> None:
    _, db, _ = simulated
    # The small network's SKUs move overnight (no extra lead time).
    gaps = _sql(
        db,
        "SELECT DISTINCT o.needed_by - r.as_of FROM transfer_orders o JOIN runs r USING (run_id) "
        "WHERE o.status = 'released'",
    )
    assert gaps == [(1,)]
    # Each arrival within the run shows in the next day's counts at both ends.
    missing = _sql(
        db,
        """
        SELECT count(*) FROM transfer_orders o JOIN transfer_order_lines l USING (transfer_id)
        WHERE o.status = 'released' AND l.quantity > 0 AND o.needed_by <= ?
          AND (NOT EXISTS (SELECT 1 FROM stock_levels s WHERE s.as_of = o.needed_by
                           AND s.warehouse_id = o.to_warehouse_id AND s.sku = l.sku)
               OR NOT EXISTS (SELECT 1 FROM stock_levels s WHERE s.as_of = o.needed_by
                              AND s.warehouse_id = o.from_warehouse_id AND s.sku = l.sku))
        """,
        date(2026, 11, 20) + timedelta(days=NIGHTS),
    )
    assert missing == [(0,)]


def _level(db: Path, kind: str, day: date) -> int:
    return int(
        _sql(
            db,
            """
            SELECT sum(on_hand) FROM (
                SELECT s.on_hand FROM stock_levels s JOIN warehouses w USING (warehouse_id)
                WHERE w.kind = ? AND s.as_of <= ?
                QUALIFY row_number() OVER (
                    PARTITION BY s.warehouse_id, s.sku ORDER BY s.as_of DESC) = 1)
            """,
            kind,
            day,
        )[0][0]
    )


def test_stock_is_conserved_with_arrivals_on_their_days(
    simulated: tuple[dict[str, Any], Path, str],
) -> None:
    kpis, db, _ = simulated
    split, last = date(2026, 11, 20), date(2026, 11, 20) + timedelta(days=NIGHTS)
    arrived = dict(
        _sql(
            db,
            """
            SELECT w.kind, sum(l.quantity) FROM transfer_orders o
            JOIN transfer_order_lines l USING (transfer_id)
            JOIN warehouses w ON w.warehouse_id = o.to_warehouse_id
            WHERE o.status = 'released' AND o.needed_by <= ? GROUP BY ALL
            """,
            last,
        )
    )
    bought = _sql(
        db,
        "SELECT coalesce(sum(l.quantity), 0) FROM purchase_orders o JOIN purchase_order_lines l "
        "USING (po_id) WHERE o.status = 'released' AND o.expected_on <= ?",
        last,
    )[0][0]
    back = _sql(
        db,
        "SELECT coalesce(sum(quantity), 0) FROM returns WHERE return_date > ? "
        "AND reason IN ('unused', 'wrong_fitment')",
        split,
    )[0][0]
    reserved = _sql(
        db,
        "SELECT sum(reserved) FROM (SELECT reserved FROM stock_levels WHERE as_of <= ? "
        "QUALIFY row_number() OVER (PARTITION BY warehouse_id, sku ORDER BY as_of DESC) = 1)",
        split,
    )[0][0]
    total = kpis["total"]
    sent, pulled = arrived.get("forward", 0), arrived.get("dc", 0)
    assert _level(db, "forward", last) == (
        _level(db, "forward", split) + sent - pulled - total["units_served"] + back
    )
    # Purchase orders enter the DC on their expected day, after the supplier's lead time.
    assert _level(db, "dc", last) == (
        _level(db, "dc", split) - reserved - sent + pulled + bought - total["units_late"]
    )


def test_purchase_orders_arrive_after_the_suppliers_lead_time(
    simulated: tuple[dict[str, Any], Path, str],
) -> None:
    _, db, _ = simulated
    late = _sql(
        db,
        """
        SELECT count(*), count(*) FILTER (WHERE o.expected_on <> r.as_of + 1 + p.lead_time_days)
        FROM purchase_orders o JOIN runs r USING (run_id) JOIN suppliers p USING (supplier_id)
        WHERE o.status = 'released'
        """,
    )
    assert late[0][1] == 0


def test_the_same_seed_gives_the_same_kpis(
    simulated: tuple[dict[str, Any], Path, str], tmp_path: Path
) -> None:
    # A run of one night starts from the same network and state as the run of three.
    kpis, _, _ = simulated
    params = Settings(forecast_horizon_days=7, linehaul_time_limit_s=2.0).nightly_params()
    again = flows.simulate(flows.Source(scale="small", seed=3), 1, "ours", params, tmp_path)
    assert again.to_dict()["nights"][0] | {"wall_s": 0, "nightly_s": 0} == kpis["nights"][0] | {
        "wall_s": 0,
        "nightly_s": 0,
    }


def test_a_database_is_copied_and_its_last_week_replayed_forward(
    simulated: tuple[dict[str, Any], Path, str], tmp_path: Path
) -> None:
    _, db, _ = simulated
    before = db.read_bytes()
    params = Settings(forecast_horizon_days=7, linehaul_time_limit_s=2.0).nightly_params()
    result = flows.simulate(flows.Source(db=db), 1, "ours", params, tmp_path)
    last = date(2026, 11, 20) + timedelta(days=NIGHTS)
    assert result.split_day == last
    # The night after the last order day replays the day a week before it.
    week_ago = _sql(
        db,
        "SELECT sum(quantity) FROM order_lines WHERE status = 'completed' AND demand_date = ?",
        last + timedelta(days=1 - 7),
    )[0][0]
    assert result.nights[0].units_ordered == week_ago
    assert db.read_bytes() == before  # the user's file is never written


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--nights", "0"], "--nights must be between 1 and 365, got 0"),
        (["--nights", "366"], "--nights must be between 1 and 365, got 366"),
        (["--nights", "2", "--db", "nowhere.duckdb"], "nowhere.duckdb: no such database"),
        (["--nights", "2", "--db", "w.duckdb", "--seed", "1"], "--seed is the generator's"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("partsflow simulate: ")
    assert message in err[0]
