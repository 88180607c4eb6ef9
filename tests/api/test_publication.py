"""``/readyz`` says when the served snapshot is not the latest night's (api/publication.py)."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from api.publication import PUBLISH_GRACE, check_publication
from tests.api.conftest import SQLITE_ONLY, World, config, running
from warehouse.published import LatestRun, latest_run, record_latest_run

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
PUBLISHED = NOW - timedelta(hours=2)


def _latest(run_id: str, ago: timedelta) -> LatestRun:
    return LatestRun(run_id, date(2026, 12, 5), NOW - ago)


def test_the_same_run_everywhere_is_in_sync() -> None:
    check = check_publication("R2", PUBLISHED, _latest("R2", timedelta(hours=2)), "R2", NOW)
    assert check.in_sync and check.problems == ()
    assert check.as_dict() == {
        "snapshot_run": "R2",
        "latest_run": "R2",
        "store_run": "R2",
        "in_sync": True,
        "problems": [],
    }


def test_a_committed_night_never_swapped_in_is_drift_once_past_the_grace() -> None:
    # Killed between the commit and the swap: the snapshot is still the night before's.
    late = check_publication("R1", PUBLISHED, _latest("R2", PUBLISH_GRACE * 2), "R1", NOW)
    assert not late.in_sync
    assert late.problems == (
        "run R2 (as of 2026-12-05) was committed at 2026-12-06 02:30 UTC but the snapshot is "
        "run R1: the next nightly's start republishes it",
    )
    # A live night between its commit and its swap is not drift.
    live = check_publication("R1", PUBLISHED, _latest("R2", timedelta(seconds=20)), "R1", NOW)
    assert live.in_sync


def test_a_store_behind_the_snapshot_is_drift_once_past_the_grace() -> None:
    # Killed between the swap and the store's publish: planners still see R1's orders.
    late = check_publication("R2", PUBLISHED, _latest("R2", timedelta(hours=2)), "R1", NOW)
    assert late.problems == (
        "the operational store's latest night is run R1 but the snapshot is run R2: the next "
        "nightly's start publishes the latest night into the store",
    )
    just = check_publication("R2", NOW - timedelta(seconds=5), None, "R1", NOW)
    assert just.in_sync


def test_nothing_to_compare_with_is_in_sync() -> None:
    # A snapshot from before latest-run.json, and a store nothing was published into.
    check = check_publication("R1", PUBLISHED, None, None, NOW)
    assert check.in_sync and check.latest_run is None and check.store_run is None


def test_latest_run_json_round_trips_and_a_damaged_one_reads_as_none(tmp_path: Path) -> None:
    record_latest_run(tmp_path, "R7", date(2026, 12, 5), NOW)
    assert latest_run(tmp_path) == LatestRun("R7", date(2026, 12, 5), NOW)
    assert [p.name for p in tmp_path.iterdir()] == ["latest-run.json"]  # no temp file left
    (tmp_path / "latest-run.json").write_text('{"run_id": "R7"')
    assert latest_run(tmp_path) is None
    assert latest_run(tmp_path / "missing") is None


@SQLITE_ONLY
def test_readyz_reports_a_committed_night_the_snapshot_is_not(
    world: World, store_url: str, tmp_path: Path
) -> None:
    snapshots = tmp_path / "published"
    shutil.copytree(world.snapshots, snapshots)
    with running(config(snapshots, store_url)) as api:
        ready = api.client.get("/readyz").json()
        assert ready["publication"] == {
            "snapshot_run": world.run_id,
            "latest_run": None,
            "store_run": None,
            "in_sync": True,
            "problems": [],
        }
        committed = datetime.now(UTC) - PUBLISH_GRACE - timedelta(minutes=1)
        record_latest_run(snapshots, "nightly-later", date(2026, 12, 5), committed)
        answer = api.client.get("/readyz")
        assert answer.status_code == 200  # a day-old plan still serves: reported, not a 503
        publication = answer.json()["publication"]
        assert publication["latest_run"] == "nightly-later"
        assert publication["in_sync"] is False
        assert publication["problems"][0].startswith("run nightly-later (as of 2026-12-05)")
