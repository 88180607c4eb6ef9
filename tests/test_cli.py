"""The ``partsflow`` command line: contracts and one-line errors for bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from partsflow_cli import main
from tests.pipelines.test_routing_io import EXAMPLE as DESIGN_EXAMPLE

SCRIPT = Path(sys.executable).with_name("partsflow")


def _run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd, check=False, env=env
    )


def _assert_one_line_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_help_lists_the_commands(tmp_path: Path) -> None:
    done = _run("--help", cwd=tmp_path)
    assert done.returncode == 0
    for command in ("generate", "ingest", "nightly", "schedule", "demo"):
        assert command in done.stdout


def test_unknown_scale_is_a_one_line_error(tmp_path: Path) -> None:
    done = _run("generate", "--out", "x", "--scale", "huge", cwd=tmp_path)
    _assert_one_line_error(done, "huge")
    assert done.returncode == 2


def test_ingest_of_a_missing_file_names_it(tmp_path: Path) -> None:
    done = _run("ingest", "nowhere/order_lines_1.csv", "--db", "w.duckdb", cwd=tmp_path)
    _assert_one_line_error(done, "nowhere/order_lines_1.csv", "no such file")


def test_bad_as_of_date_is_a_one_line_error(tmp_path: Path) -> None:
    done = _run("nightly", "--as-of", "2026-13-01", cwd=tmp_path)
    _assert_one_line_error(done, "2026-13-01")


def test_an_unknown_target_kind_in_the_settings_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PARTSFLOW_TARGET_KIND", "speed")
    assert main(["nightly", "--db", str(tmp_path / "w.duckdb")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        "partsflow nightly: bad settings: PARTSFLOW_TARGET_KIND: Input should be 'fill_rate', "
        "'cycle_service' or 'unit_fill', got 'speed'"
    ]
    assert not (tmp_path / "w.duckdb").exists()


def test_settings_the_core_refuses_together_are_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PARTSFLOW_COVER_CAP_DAYS", "120")  # beyond the 90-day horizon
    assert main(["nightly", "--db", str(tmp_path / "w.duckdb")]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "partsflow nightly: bad settings: cover_cap_days must be in (0, dead_after_days = 90],"
        " got 120.0"
    ]


def test_a_database_from_a_newer_partsflow_is_refused(tmp_path: Path) -> None:
    import duckdb

    from warehouse.schema import connect

    db = tmp_path / "w.duckdb"
    connect(db).close()
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO schema_version (version, name) VALUES (42, 'future')")
    con.close()
    csv = tmp_path / "order_lines_a.csv"
    csv.write_text("order_id,line_no\n")
    done = _run("ingest", str(csv), "--db", str(db), cwd=tmp_path)
    _assert_one_line_error(done, "version 42 is newer")


def test_a_file_with_a_missing_column_fails_but_good_files_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "warehouses_bad.csv"
    bad.write_text("warehouse_id,name\nDC9,x\n")
    good = tmp_path / "warehouses_good.csv"
    good.write_text(
        "warehouse_id,name,kind,lat,lon,shelf_capacity_l,parent_warehouse_id,opened_on\n"
        "DC1,Central,dc,31.0,121.0,50000,,2020-01-01\n"
    )
    code = main(["ingest", str(bad), str(good), "--db", str(tmp_path / "w.duckdb")])
    _, err = capsys.readouterr()
    assert code == 1
    assert err.strip().count("\n") == 0
    assert "warehouses_bad.csv" in err and "kind" in err
    from warehouse.schema import connect

    con = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT warehouse_id FROM warehouses").fetchall() == [("DC1",)]
    con.close()


def test_forecast_monthly_file_through_the_cli(tmp_path: Path) -> None:
    import polars as pl

    months = pl.date_range(date(2024, 1, 1), date(2025, 12, 1), interval="1mo", eager=True)
    frame = pl.concat(
        pl.DataFrame({"unique_id": uid, "ds": months, "y": [float((i * k) % 4) for i in range(24)]})
        for uid, k in (("a", 1), ("b", 3))
    )
    frame.write_csv(tmp_path / "monthly.csv")
    done = _run(
        "forecast",
        "monthly.csv",
        "--horizon",
        "6",
        "--freq",
        "MS",
        "--season-length",
        "12",
        "--output",
        "out.parquet",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    out = pl.read_parquet(tmp_path / "out.parquet")
    assert out.columns == ["unique_id", "ds", "mean", "model", "q50", "q80", "q90", "q95", "q99"]
    assert out.height == 12
    assert out["ds"].min() == date(2026, 1, 1)


def test_forecast_of_negative_demand_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("unique_id,ds,y\na,2026-01-01,1\na,2026-01-02,-3\n")
    done = _run("forecast", "bad.csv", "--horizon", "3", "--output", "o.parquet", cwd=tmp_path)
    _assert_one_line_error(done, "bad.csv")
    assert not (tmp_path / "o.parquet").exists()


@pytest.mark.parametrize("value", ["inf", "-inf", "NaN"])
def test_forecast_of_a_non_finite_demand_is_a_one_line_error(tmp_path: Path, value: str) -> None:
    """y = inf once gave mean = inf with exit 0."""
    (tmp_path / "bad.csv").write_text(f"unique_id,ds,y\na,2026-01-01,1\na,2026-01-02,{value}\n")
    done = _run("forecast", "bad.csv", "--horizon", "3", "--output", "o.parquet", cwd=tmp_path)
    _assert_one_line_error(done, "bad.csv", "row 2", "field y", "not a finite number")
    assert done.returncode == 2
    assert not (tmp_path / "o.parquet").exists()


@pytest.mark.parametrize(
    ("horizon", "problem"),
    [("1000000000", "fit in half the memory free now"), ("3000000", "fit before 9999-12-31")],
)
def test_a_forecast_horizon_beyond_memory_or_the_calendar_is_refused_at_once(
    tmp_path: Path, horizon: str, problem: str
) -> None:
    """An unbounded --horizon once grew to 24 GB and the kernel killed other processes."""
    days = "".join(f"a,2026-01-{d:02d},{d % 3}\n" for d in range(1, 29))
    (tmp_path / "ok.csv").write_text("unique_id,ds,y\n" + days)
    done = _run("forecast", "ok.csv", "--horizon", horizon, "--output", "o.parquet", cwd=tmp_path)
    _assert_one_line_error(done, f"--horizon {horizon}", problem)
    assert done.returncode == 2
    assert not (tmp_path / "o.parquet").exists()


def test_the_memory_bound_of_a_horizon_grows_with_the_memory_and_shrinks_with_the_series() -> None:
    from flows.commands import BYTES_PER_FORECAST_PERIOD, check_horizon
    from pipelines.errors import InputError

    free = 2 * BYTES_PER_FORECAST_PERIOD * 100 * 365  # half of it: 100 series x 365 days
    check_horizon(100, 365, Path("f.csv"), available=free)
    with pytest.raises(InputError, match="at most 365 periods"):
        check_horizon(100, 366, Path("f.csv"), available=free)
    with pytest.raises(InputError, match="at most 182 periods"):
        check_horizon(200, 365, Path("f.csv"), available=free)


def test_route_solves_the_design_example(tmp_path: Path) -> None:
    import json

    (tmp_path / "p.json").write_text(json.dumps(DESIGN_EXAMPLE))
    done = _run("route", "p.json", "--time-limit", "1", "--output", "s.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    solution = json.loads((tmp_path / "s.json").read_text())
    assert solution["routes"][0]["stops"] == ["o1"]
    assert solution["routes"][0]["arrivals"] == [120]
    assert solution["unassigned"] == []
    assert solution["distance"] == 1800


def test_route_with_a_ragged_matrix_is_a_one_line_error(tmp_path: Path) -> None:
    import json

    bad = {**DESIGN_EXAMPLE, "duration_matrix": [[0, 120], [120]]}
    (tmp_path / "p.json").write_text(json.dumps(bad))
    done = _run("route", "p.json", "--output", "s.json", cwd=tmp_path)
    _assert_one_line_error(done, "p.json", "duration_matrix")
    assert done.returncode == 2


def test_nightly_on_an_empty_database_is_one_line_on_stderr(tmp_path: Path) -> None:
    done = _run("nightly", "--db", "empty.duckdb", "--no-landing", cwd=tmp_path)
    _assert_one_line_error(done, "empty.duckdb", "no order lines loaded")
    assert done.returncode == 2
    assert "Flow run" in done.stdout  # Prefect's run log goes to stdout


@pytest.mark.parametrize("landing", ["nowhere", "empty", "a-file.csv"])
def test_a_landing_folder_missing_or_empty_is_refused_before_anything_runs(
    tmp_path: Path, landing: str
) -> None:
    """A typo in --landing planned on stale data and superseded the open orders."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / ".hidden").write_text("not a landing file")
    (tmp_path / "a-file.csv").write_text("x\n")
    done = _run("nightly", "--db", "w.duckdb", "--landing", landing, cwd=tmp_path)
    problem = {"nowhere": "does not exist", "empty": "holds no file", "a-file.csv": "not a folder"}
    _assert_one_line_error(done, f"landing folder {landing}", problem[landing])
    assert done.returncode == 2
    assert "Flow run" not in done.stdout  # refused before Prefect started
    assert not (tmp_path / "w.duckdb").exists()


def _store_with_a_night(tmp_path: Path) -> tuple[dict[str, str], str, str]:
    """An operational store holding one night's transfer and purchase order; the
    environment pointing the CLI at it, and the two orders' ids."""
    from ops import make_engine, upgrade
    from ops.workflow import OrderSet, Publication, publish_orders

    url = f"sqlite:///{tmp_path / 'ops.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    as_of = date(2026, 11, 20)
    transfers = OrderSet(
        [{"transfer_id": "TO-1", "from_warehouse_id": "DC1", "to_warehouse_id": "FW1",
          "needed_by": as_of}],
        [{"transfer_id": "TO-1", "line_no": n, "sku": sku, "proposed_quantity": q,
          "quantity": q, "allocated_quantity": q, "reason": "below S"}
         for n, (sku, q) in enumerate((("A", 4), ("B", 2)), start=1)],
    )  # fmt: skip
    purchases = OrderSet(
        [{"po_id": "PO-1", "supplier_id": "S1", "dc_id": "DC1", "expected_on": as_of}],
        [{"po_id": "PO-1", "line_no": 1, "sku": "A", "proposed_quantity": 12, "quantity": 12,
          "unit_cost": 2.0, "reason": "below s", "case_pack": 6, "moq": 12}],
    )  # fmt: skip
    with engine.begin() as conn:
        publish_orders(
            conn,
            Publication("run-1", as_of, datetime.now(UTC)),
            transfers,
            purchases,
            [("DC1", "A", 20), ("DC1", "B", 20)],
        )
    engine.dispose()
    return {**os.environ, "PARTSFLOW_OPS_URL": url}, "TO-1", "PO-1"


def test_planners_approve_override_and_release_transfer_orders(tmp_path: Path) -> None:
    env, order, _ = _store_with_a_night(tmp_path)
    listed = _run("transfer", "list", cwd=tmp_path, env=env)
    assert listed.returncode == 0 and order in listed.stdout and "proposed" in listed.stdout
    no_reason = _run("transfer", "override", order, "--set", "A=9", cwd=tmp_path, env=env)
    _assert_one_line_error(no_reason, "an override needs a reason")
    bad_pair = _run("transfer", "override", order, "--set", "A", cwd=tmp_path, env=env)
    _assert_one_line_error(bad_pair, "--set expects SKU=QUANTITY")
    short = _run(
        "transfer", "override", order, "--set", "A=21", "--reason", "promo", cwd=tmp_path, env=env
    )
    _assert_one_line_error(short, "'A': 21 asked, 20 free at DC1")
    done = _run(
        "transfer", "override", order, "--set", "A=9", "--reason", "promo", "--by", "ann",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip() == f"{order}: overridden"
    assert _run("transfer", "release", order, cwd=tmp_path, env=env).returncode == 0
    again = _run("transfer", "approve", order, cwd=tmp_path, env=env)
    _assert_one_line_error(again, "cannot go from released to approved")
    unknown = _run("transfer", "approve", "nope", cwd=tmp_path, env=env)
    _assert_one_line_error(unknown, "unknown transfer order 'nope'")
    released = _run("transfer", "list", "--status", "released", cwd=tmp_path, env=env)
    assert released.stdout.split()[:7] == [order, "released", "DC1", "FW1", "2026-11-20", "2", "11"]


def test_planners_release_the_dcs_purchase_orders(tmp_path: Path) -> None:
    env, _, order = _store_with_a_night(tmp_path)
    listed = _run("purchase", "list", cwd=tmp_path, env=env)
    assert listed.returncode == 0 and order in listed.stdout and "proposed" in listed.stdout
    odd = _run(
        "purchase", "override", order, "--set", "A=7", "--reason", "r", cwd=tmp_path, env=env
    )
    _assert_one_line_error(odd, "'A': 7 is not 0 or whole cases of 6 from the MOQ 12")
    assert _run("purchase", "approve", order, cwd=tmp_path, env=env).returncode == 0
    done = _run("purchase", "release", order, "--by", "ann", cwd=tmp_path, env=env)
    assert done.returncode == 0 and done.stdout.strip() == f"{order}: released"


def test_an_unreachable_operational_store_is_a_one_line_error(tmp_path: Path) -> None:
    env = {**os.environ, "PARTSFLOW_OPS_URL": "postgresql://nobody@127.0.0.1:1/none"}
    done = _run("transfer", "list", cwd=tmp_path, env=env)
    _assert_one_line_error(done, "operational store")


def test_dispatch_of_a_missing_database_or_no_riders_is_a_one_line_error(tmp_path: Path) -> None:
    missing = _run("dispatch", "--db", str(tmp_path / "none.duckdb"), cwd=tmp_path)
    _assert_one_line_error(missing, "none.duckdb: no such database")
    (tmp_path / "w.duckdb").touch()
    zero = _run("dispatch", "--db", str(tmp_path / "w.duckdb"), "--riders", "0", cwd=tmp_path)
    _assert_one_line_error(zero, "--riders must be at least 1")
    many = _run("dispatch", "--db", str(tmp_path / "w.duckdb"), "--workers", "65", cwd=tmp_path)
    _assert_one_line_error(many, "--workers must be in 1..64, got 65")


def test_api_keys_are_created_listed_and_revoked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ops import make_engine, reading, verify

    url = f"sqlite:///{tmp_path / 'ops.sqlite3'}"
    monkeypatch.setenv("PARTSFLOW_OPS_URL", url)
    assert main(["api-key", "create", "--store", "S0001"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("pf_") and " " not in token
    assert main(["api-key", "create", "--role", "planner", "--name", "ann"]) == 0
    capsys.readouterr()
    assert main(["api-key", "list"]) == 0
    listed = capsys.readouterr().out
    assert "S0001" in listed and "ann" in listed and token not in listed
    key_id = token.split("_")[1]
    assert main(["api-key", "revoke", key_id]) == 0
    assert main(["api-key", "list"]) == 0
    assert "revoked" in capsys.readouterr().out
    engine = make_engine(url)
    with reading(engine) as conn:
        assert verify(conn, token) is None
    engine.dispose()


def test_api_key_mistakes_are_one_line_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PARTSFLOW_OPS_URL", f"sqlite:///{tmp_path / 'ops.sqlite3'}")
    assert main(["api-key", "revoke", "nope"]) == 2
    assert capsys.readouterr().err.strip() == "partsflow api-key: no API key with id 'nope'"
    with pytest.raises(SystemExit) as neither:
        main(["api-key", "create"])
    assert neither.value.code == 2
    with pytest.raises(SystemExit):
        main(["api-key", "create", "--store", "S1", "--role", "planner"])
    capsys.readouterr()
    monkeypatch.setenv("PARTSFLOW_OPS_URL", "mysql://somewhere/db")
    assert main(["api-key", "list"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unsupported database" in err[-1]


def test_serve_with_a_bad_setting_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PARTSFLOW_API_RATE_PER_S", "-1")
    assert main(["serve", "--port", "8999"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "PARTSFLOW_API_RATE_PER_S" in err[0]
    with pytest.raises(SystemExit):
        main(["serve", "--port", "70000"])


def test_schedule_with_a_bad_cron_is_a_one_line_error(tmp_path: Path) -> None:
    done = _run("schedule", "--cron", "30 1 * *", cwd=tmp_path)
    _assert_one_line_error(done, "30 1 * *", "five fields")
    assert done.returncode == 2


def test_schedule_with_a_reselection_day_the_cron_skips_is_a_one_line_error(
    tmp_path: Path,
) -> None:
    done = _run("schedule", "--cron", "0 2 * * 1-5", "--reselect-day", "sun", cwd=tmp_path)
    _assert_one_line_error(done, "re-selection on sun", "does not run that day")
    assert done.returncode == 2


def test_schedule_without_a_prefect_server_says_how_to_start_one(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    done = _run("schedule", "--db", "w.duckdb", cwd=tmp_path, env=env)
    _assert_one_line_error(done, "prefect server start", "PREFECT_API_URL")
    assert done.returncode == 1
    assert not (tmp_path / "w.duckdb").exists()


def test_schedule_with_an_unknown_time_zone_in_the_settings_is_a_one_line_error(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "PARTSFLOW_SCHEDULE_TIMEZONE": "Asia/Beijing"}
    done = _run("schedule", cwd=tmp_path, env=env)
    _assert_one_line_error(done, "PARTSFLOW_SCHEDULE_TIMEZONE", "Asia/Beijing")
    assert done.returncode == 2
