"""``partsflow schedule``: the cron split, the catch-up rule, and the served deployment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from flows.schedule import (
    CATCH_UP_TAG,
    DEPLOYMENT,
    NightSchedule,
    catch_up,
    last_slot,
    last_success,
    missed_slot,
    reselect_all,
)
from settings import NightlyParams
from warehouse import runs
from warehouse.schema import connect

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAILY = "30 1 * * *"
SCRIPT = Path(sys.executable).with_name("partsflow")


def _sh(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


# ---- the catch-up rule: a pure function of (last success, cron, zone, now) -------------


def test_a_night_finished_after_the_last_slot_is_not_caught_up() -> None:
    now = _sh(2026, 12, 6, 9, 0)
    assert missed_slot(_sh(2026, 12, 6, 1, 34), DAILY, "Asia/Shanghai", now) is None


def test_a_missed_night_is_one_catch_up_of_the_last_slot_however_many_were_missed() -> None:
    now = _sh(2026, 12, 6, 9, 0)
    five_nights_ago = _sh(2026, 12, 1, 1, 34)
    assert missed_slot(five_nights_ago, DAILY, "Asia/Shanghai", now) == _sh(2026, 12, 6, 1, 30)


def test_before_tonights_slot_the_slot_to_have_run_is_last_nights() -> None:
    now = _sh(2026, 12, 6, 1, 29)
    assert missed_slot(_sh(2026, 12, 5, 1, 40), DAILY, "Asia/Shanghai", now) is None
    assert missed_slot(_sh(2026, 12, 5, 1, 0), DAILY, "Asia/Shanghai", now) == _sh(
        2026, 12, 5, 1, 30
    )


def test_a_slot_exactly_now_has_fired() -> None:
    assert last_slot(DAILY, "Asia/Shanghai", _sh(2026, 12, 6, 1, 30)) == _sh(2026, 12, 6, 1, 30)
    assert last_slot(DAILY, "Asia/Shanghai", _sh(2026, 12, 6, 1, 29, 59)) == _sh(2026, 12, 5, 1, 30)


def test_no_succeeded_night_has_nothing_to_catch_up() -> None:
    assert missed_slot(None, DAILY, "Asia/Shanghai", _sh(2026, 12, 6, 9, 0)) is None


@pytest.mark.parametrize(
    ("now", "slot"),
    [
        (_sh(2027, 3, 1, 0, 10), _sh(2027, 2, 28, 1, 30)),  # February's end, common year
        (_sh(2028, 3, 1, 0, 10), _sh(2028, 2, 29, 1, 30)),  # leap year
        (_sh(2026, 5, 1, 1, 0), _sh(2026, 4, 30, 1, 30)),  # a 30-day month
        (_sh(2027, 1, 1, 0, 5), _sh(2026, 12, 31, 1, 30)),  # the year's end
        (_sh(2027, 1, 1, 1, 31), _sh(2027, 1, 1, 1, 30)),
    ],
)
def test_month_and_year_ends(now: datetime, slot: datetime) -> None:
    assert last_slot(DAILY, "Asia/Shanghai", now) == slot


def test_a_monthly_cron_looks_back_to_the_first_of_the_month() -> None:
    assert last_slot("30 1 1 * *", "Asia/Shanghai", _sh(2027, 3, 1, 0, 10)) == _sh(
        2027, 2, 1, 1, 30
    )


@pytest.mark.parametrize(
    "now_utc",
    [
        # Around the US and EU clock changes: Shanghai keeps UTC+8 all year, so 01:30
        # there is 17:30 UTC the day before, every day.
        datetime(2027, 3, 14, 12, 0, tzinfo=UTC),
        datetime(2027, 3, 28, 12, 0, tzinfo=UTC),
        datetime(2027, 10, 31, 12, 0, tzinfo=UTC),
        datetime(2027, 11, 7, 12, 0, tzinfo=UTC),
    ],
)
def test_shanghai_has_no_daylight_saving_the_slot_is_17_30_utc(now_utc: datetime) -> None:
    slot = last_slot(DAILY, "Asia/Shanghai", now_utc)
    assert slot.astimezone(UTC) == (now_utc - timedelta(days=1)).replace(hour=17, minute=30)


def test_now_in_utc_is_read_on_shanghais_calendar() -> None:
    # 2026-12-31 18:00 UTC is 2027-01-01 02:00 in Shanghai: tonight's slot has fired.
    now = datetime(2026, 12, 31, 18, 0, tzinfo=UTC)
    assert last_slot(DAILY, "Asia/Shanghai", now) == _sh(2027, 1, 1, 1, 30)
    finished_utc_evening = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)  # 01:00 in Shanghai
    assert missed_slot(finished_utc_evening, DAILY, "Asia/Shanghai", now) == _sh(2027, 1, 1, 1, 30)


# ---- the schedule: two crons, re-selection on its weekday -------------------------------


def test_the_weekly_reselection_takes_its_weekday_out_of_the_nightly_cron() -> None:
    schedule = NightSchedule(DAILY, "Asia/Shanghai", "sun")
    assert schedule.crons() == {
        "nightly": "30 1 * * 1,2,3,4,5,6",
        "weekly-reselection": "30 1 * * 0",
    }
    assert NightSchedule(DAILY, "Asia/Shanghai", None).crons() == {"nightly": DAILY}
    assert NightSchedule("0 2 * * 1-5", "Asia/Shanghai", "mon").crons() == {
        "nightly": "0 2 * * 2,3,4,5",
        "weekly-reselection": "0 2 * * 1",
    }


def test_a_missed_sunday_night_is_caught_up_with_reselection() -> None:
    schedule = NightSchedule(DAILY, "Asia/Shanghai", "sun")
    # 2026-12-06 is a Sunday in Shanghai (Saturday 17:30 in UTC).
    sunday = catch_up(_sh(2026, 12, 4, 1, 40), schedule, _sh(2026, 12, 6, 8, 0))
    assert sunday is not None
    assert sunday.slot == _sh(2026, 12, 6, 1, 30) and sunday.reselect
    monday = catch_up(_sh(2026, 12, 4, 1, 40), schedule, _sh(2026, 12, 7, 8, 0))
    assert monday is not None and not monday.reselect


@pytest.mark.parametrize(
    ("cron", "timezone", "weekday", "problem"),
    [
        ("30 1 * *", "Asia/Shanghai", "sun", "five fields"),
        ("61 1 * * *", "Asia/Shanghai", "sun", "five fields"),
        (DAILY, "Asia/Beijing", "sun", "time zone"),
        ("30 1 1 * *", "Asia/Shanghai", "sun", "day of month and month must be *"),
        ("30 1 * * 1-5", "Asia/Shanghai", "sun", "does not run that day"),
        (DAILY, "Asia/Shanghai", "someday", "re-selection weekday"),
    ],
)
def test_a_bad_schedule_is_refused_naming_the_problem(
    cron: str, timezone: str, weekday: str, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        NightSchedule(cron, timezone, weekday)


def test_the_reselection_night_makes_every_model_choice_due() -> None:
    params = reselect_all(NightlyParams())
    assert params.forecast.max_age == 1
    assert params.forecast.selection_sample == NightlyParams().forecast.selection_sample


def test_the_last_success_is_when_the_latest_succeeded_nightly_finished(tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    assert last_success(db) is None
    assert not db.exists()  # reading does not create the database
    with connect(db) as con:
        failed = runs.start_run(con, "nightly", date(2026, 12, 5))
        runs.fail_run(con, failed, "boom")
    assert last_success(db) is None
    with connect(db) as con:
        run_id = runs.start_run(con, "nightly", date(2026, 12, 5))
        runs.finish_run(con, run_id, {})
        finished = runs.get_run(con, run_id)["finished_at"]
    assert last_success(db) == finished


# ---- serving: the real command against a Prefect server ---------------------------------


@pytest.fixture
def missed_night_db(tmp_path: Path) -> Path:
    """A database whose only succeeded nightly finished two days ago: a night was missed."""
    db = tmp_path / "warehouse.duckdb"
    with connect(db) as con:
        run_id = runs.start_run(con, "nightly", date(2026, 12, 4))
        runs.finish_run(con, run_id, {})
        # Age the run: the schedule reads when it finished, nothing else.
        con.execute(
            "UPDATE runs SET started_at = started_at - INTERVAL 2 DAY, "
            "finished_at = finished_at - INTERVAL 2 DAY WHERE run_id = ?",
            [run_id],
        )
    return db


@pytest.fixture
def api_url(prefect_server: None) -> str:
    """The URL of the session's Prefect test server."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    assert url
    return str(url)


@pytest.fixture
def schedule_process(
    missed_night_db: Path, api_url: str, tmp_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """``partsflow schedule`` serving against the test server (its own process group,
    stopped with the runs it started)."""
    log = (tmp_path / "schedule.log").open("wb")
    process = subprocess.Popen(
        [str(SCRIPT), "schedule", "--db", str(missed_night_db), "--no-landing"],
        cwd=tmp_path,
        env={**os.environ, "PREFECT_API_URL": api_url},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    yield process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    log.close()


@pytest.mark.slow
def test_schedule_serves_the_nightly_in_shanghai_and_catches_up_the_missed_night(
    schedule_process: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        DeploymentFilterName,
        FlowRunFilter,
        FlowRunFilterTags,
    )

    deadline = time.monotonic() + 50
    with get_client(sync_client=True) as client:
        while True:
            found = client.read_deployments(
                deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["nightly"]))
            )
            catch_ups = found and client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[found[0].id])),
                flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[CATCH_UP_TAG])),
            )
            if catch_ups or schedule_process.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(1)
        log = (tmp_path / "schedule.log").read_text(errors="replace")
        assert schedule_process.poll() is None, log
        deployment = client.read_deployment_by_name(DEPLOYMENT)
    schedules = {s.slug: s for s in deployment.schedules}
    assert {slug: s.schedule.cron for slug, s in schedules.items()} == {  # type: ignore[union-attr]
        "nightly": "30 1 * * 1,2,3,4,5,6",
        "weekly-reselection": "30 1 * * 0",
    }
    assert {s.schedule.timezone for s in schedules.values()} == {"Asia/Shanghai"}  # type: ignore[union-attr]
    assert schedules["weekly-reselection"].parameters == {"reselect": True}
    assert deployment.parameters["db"] == str(tmp_path / "warehouse.duckdb")
    assert deployment.parameters["landing"] is None
    assert catch_ups, log
    assert len(catch_ups) == 1  # one run, whatever the number of nights missed
    slot = last_slot(DAILY, "Asia/Shanghai", datetime.now(UTC))
    assert catch_ups[0].parameters["reselect"] is (slot.weekday() == 6)  # Sunday's re-selects
    assert "missed the night of" in log and "running it now, once" in log
