"""Two nights with an operational store: the workflow lives there, the night copies it.

API.md: tonight's proposals are written into the store when the night
publishes; planners decide them there (the API's and the CLI's functions); the
next night reads what was released as in-transit stock, supersedes what was
left open, and keeps a copy in ``warehouse.duckdb`` as history.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from sqlalchemy import select

import flows
from flows.store import publish_night
from ops import make_engine, reading
from ops import workflow as store
from ops.schema import plan_publications, source_stock
from pipelines.generate import generate
from settings import DataPaths, Settings
from warehouse import published
from warehouse.schema import connect

NIGHT = Settings(forecast_horizon_days=7, linehaul_time_limit_s=1.0).nightly_params()


def test_planners_decide_in_the_store_and_the_next_night_plans_on_it(
    prefect_server: None, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    generate(landing, scale="small", seed=11)
    url = f"sqlite:///{tmp_path / 'ops.sqlite3'}"
    paths = DataPaths(tmp_path / "w.duckdb", landing, tmp_path / "published", ops_url=url)

    first = flows.nightly(paths, NIGHT)
    engine = make_engine(url)
    with reading(engine) as conn:
        proposed = store.list_orders(conn, "transfer", status="proposed", limit=500).items
        assert conn.execute(select(plan_publications.c.run_id)).scalars().all() == [first.run_id]
        assert conn.execute(select(source_stock)).first() is not None
    assert len(proposed) == first.transfer_orders > 1
    # A planner releases one replenishment and leaves the rest open.
    chosen = next(o for o in proposed if o["units"] > 0 and o["to_warehouse_id"].startswith("FW"))
    with engine.begin() as conn:
        store.approve(conn, "transfer", chosen["transfer_id"], by="ann")
        released = store.release(conn, "transfer", chosen["transfer_id"], by="ann")
    lines = pl.DataFrame(list(released.lines)).filter(pl.col("quantity") > 0)
    with connect(paths.db) as con:  # the database's copy does not know yet
        status = con.execute(
            "SELECT status FROM transfer_orders WHERE transfer_id = ?", [chosen["transfer_id"]]
        ).fetchall()
    assert status == [("proposed",)]

    second = flows.nightly(paths, NIGHT, first.as_of)
    with connect(paths.db) as con:
        copied = con.sql(
            "SELECT seq, status, changed_by FROM transfer_order_status_history "
            "WHERE transfer_id = ? ORDER BY seq",
            params=[chosen["transfer_id"]],
        ).fetchall()
        in_transit = con.sql(
            "SELECT sku, in_transit FROM replenishment_plan WHERE run_id = ? AND warehouse_id = ?",
            params=[second.run_id, chosen["to_warehouse_id"]],
        ).pl()
    assert copied == [(1, "proposed", "nightly"), (2, "approved", "ann"), (3, "released", "ann")]
    # Tonight counts the released lines as on their way (their due day is after the count).
    counted = lines.join(in_transit, on="sku")
    assert counted.height == lines.height
    assert (counted["in_transit"] >= counted["quantity"]).all()
    with reading(engine) as conn:
        kept = store.get_order(conn, "transfer", chosen["transfer_id"])
        left = store.list_orders(conn, "transfer", status="cancelled", limit=500).items
        tonight = store.list_orders(conn, "transfer", status="proposed", limit=500).items
    assert kept.status == "released"
    assert {o["transfer_id"] for o in left} == {
        o["transfer_id"] for o in proposed if o["transfer_id"] != chosen["transfer_id"]
    }
    assert {o["status_reason"] for o in left} == {f"superseded by run {second.run_id}"}
    assert {o["run_id"] for o in tonight} == {second.run_id}
    # The snapshot and the store agree on tonight's orders.
    with published.open_snapshot(paths.snapshots) as snap:
        assert published.published_run(snap).run_id == second.run_id
    # Publishing the same run again (a repair) writes nothing twice.
    again = publish_night(paths.db, second.run_id, second.as_of, url, datetime.now(UTC))
    assert again.already
    engine.dispose()
