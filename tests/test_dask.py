"""The nightly on a Dask cluster (issue 15, item 7): the same night as in the flow's process.

One real ``distributed.LocalCluster`` (two worker processes, one thread each) and the
small network planned twice from the same landing files: once with the per-warehouse
tasks in the flow's process, once with them on the cluster. Everything the night
publishes must be the same, value for value.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import dask
import distributed
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.settings import PREFECT_API_URL

import flows
from flows.fanout import fanout
from pipelines.errors import InputError
from pipelines.generate import generate
from settings import DataPaths, Settings
from tests._pages import every_page
from warehouse import published
from warehouse.forecasting import load_selections
from warehouse.schema import connect

pytestmark = pytest.mark.slow

#: The nightly's parameters on the small network: a week's horizon, 2 s per line-haul solve.
SMALL = Settings(forecast_horizon_days=7, linehaul_time_limit_s=2.0).nightly_params()

#: The scale-out's tasks, one per forward warehouse (names as the Dask scheduler keys them).
PER_WAREHOUSE_TASKS = (
    "forecast_warehouse_demand",
    "propose_for_warehouse",
    "replay_warehouse_targets",
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[distributed.LocalCluster]:
    """Two worker processes of one thread: every task leaves the flow's process, two at a time."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as local:
        yield local


@pytest.fixture(scope="module")
def nights(
    prefect_server: None,
    cluster: distributed.LocalCluster,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[flows.NightlyResult, Path, Path]]:
    """The small network (2 forward warehouses, 500 SKUs) planned locally and on the cluster."""
    landing = tmp_path_factory.mktemp("landing")
    generate(landing, scale="small", seed=7)
    out = {}
    for name, address in (("local", None), ("dask", cluster.scheduler_address)):
        work = tmp_path_factory.mktemp(name)
        db, snapshots = work / "w.duckdb", work / "published"
        result = flows.nightly(DataPaths(db, landing, snapshots), SMALL, dask_address=address)
        out[name] = (result, db, snapshots)
    return out


def _published(snapshots: Path) -> dict[str, pl.DataFrame]:
    """What the night published that scale-out computes, less the run's id."""
    with published.open_snapshot(snapshots) as snap:
        forward = published.warehouses(snap, "forward")["warehouse_id"]
        frames = {
            "forecasts": every_page(lambda a: published.forecasts(snap, after=a, limit=500)),
            "plan": pl.concat(
                every_page(lambda a, w=w: published.plan_lines(snap, w, after=a, limit=500))
                for w in forward
            ),
            "replays": published.policy_replays(snap),
            # The solver's own clock is the one figure two identical allocations differ by.
            "allocations": published.allocations(snap).drop("solve_seconds"),
            **{
                f"accuracy by {scope}": every_page(
                    lambda a, s=scope: published.forecast_accuracy(snap, s, after=a, limit=500)
                )
                for scope in ("series", "warehouse", "category", "class", "network")
            },
        }
    return {name: frame.drop("run_id", strict=False) for name, frame in frames.items()}


def _selections(db: Path) -> dict[str, tuple[pl.DataFrame, pl.DataFrame]]:
    """The stored model choice per warehouse: ``(models, calibration)``, all of it (the
    calibration's losses are summed in a fixed order: models.distributions)."""
    con = connect(db)
    try:
        return {w: (s.models, s.calibration) for w, s in load_selections(con).items()}
    finally:
        con.close()


def test_the_dask_night_forecasts_plans_and_replays_what_the_local_night_does(
    nights: dict[str, tuple[flows.NightlyResult, Path, Path]],
) -> None:
    local, on_dask = _published(nights["local"][2]), _published(nights["dask"][2])
    assert local["forecasts"].height > 0
    assert local["replays"].height > 0
    for name, frame in local.items():
        try:
            assert_frame_equal(on_dask[name], frame, check_exact=True)
        except AssertionError as error:
            raise AssertionError(f"{name}: {error}") from None


def test_the_dask_night_keeps_the_same_model_choice(
    nights: dict[str, tuple[flows.NightlyResult, Path, Path]],
) -> None:
    local, on_dask = _selections(nights["local"][1]), _selections(nights["dask"][1])
    assert sorted(on_dask) == sorted(local) != []
    for warehouse, (models, calibration) in local.items():
        assert_frame_equal(on_dask[warehouse][0], models, check_exact=True)
        assert_frame_equal(on_dask[warehouse][1], calibration, check_exact=True)


def test_the_dask_night_reports_the_same_night(
    nights: dict[str, tuple[flows.NightlyResult, Path, Path]],
) -> None:
    def figures(result: flows.NightlyResult) -> dict[str, object]:
        return {
            key: value
            for key, value in asdict(result).items()
            if key not in {"run_id", "snapshot", "step_seconds"}
        }

    assert figures(nights["dask"][0]) == figures(nights["local"][0])


def test_the_per_warehouse_tasks_ran_on_the_cluster(
    nights: dict[str, tuple[flows.NightlyResult, Path, Path]], cluster: distributed.LocalCluster
) -> None:
    with published.open_snapshot(nights["dask"][2]) as snap:
        forward = published.warehouses(snap, "forward").height

    def counts(dask_scheduler: distributed.Scheduler) -> dict[str, int]:
        """How many tasks of each name the scheduler saw finish (enter memory)."""
        prefixes = dask_scheduler.task_prefixes
        return {
            name: prefixes[name].state_counts["memory"] if name in prefixes else 0
            for name in PER_WAREHOUSE_TASKS
        }

    with distributed.Client(cluster) as client:
        ran = client.run_on_scheduler(counts)
    # The local night never touched the cluster: every task it saw was the Dask night's.
    assert ran == dict.fromkeys(PER_WAREHOUSE_TASKS, forward)


def test_the_workers_hold_nothing_of_the_night_after_it(
    nights: dict[str, tuple[flows.NightlyResult, Path, Path]], cluster: distributed.LocalCluster
) -> None:
    """No task result or scattered input stays on a worker once the night has it, so a
    deployed cluster does not carry one night's frames into the next as Dask data."""
    assert nights["dask"][0].series_forecast > 0
    with distributed.Client(cluster) as client:
        held = client.run(lambda dask_worker: len(dask_worker.data))
    assert len(held) == 2 and set(held.values()) == {0}


def test_a_worker_sends_each_night_s_task_runs_to_that_night_s_prefect_api(
    prefect_server: None, cluster: distributed.LocalCluster
) -> None:
    """A worker that outlived a night's Prefect server (the CLI's ephemeral one, gone with
    that night) reports the next night's task runs to the next night's API: Prefect binds
    a process's event sender to the first API it sent to, and on the dead one every event
    waited, holding its task's inputs and result."""
    gone = "http://127.0.0.1:9/api"  # the discard port: nothing answers

    def send_to(api_url: str, events: int) -> None:
        """Bind the worker's event sender to ``api_url``, as a first night's task would."""
        import time

        from prefect.events import emit_event
        from prefect.events.worker import EventsWorker
        from prefect.settings import temporary_settings

        for sender in list(EventsWorker._instances.values()):  # an earlier test's night's
            if isinstance(sender, EventsWorker):
                sender.drain()
        with temporary_settings({PREFECT_API_URL: api_url}):
            for n in range(events):
                emit_event(event="partsflow.test", resource={"prefect.resource.id": f"t.{n}"})
        deadline = time.monotonic() + 10  # the sender takes its client when it starts
        while not apis() and time.monotonic() < deadline:
            time.sleep(0.05)

    def apis() -> list[str]:
        """The APIs the worker's started event senders send to."""
        from prefect.events.worker import EventsWorker

        senders = [s for s in EventsWorker._instances.values() if isinstance(s, EventsWorker)]
        return sorted(s._client._api_url for s in senders if hasattr(s, "_client"))

    with distributed.Client(cluster) as client:
        client.run(send_to, gone, 50)
        assert list(client.run(apis).values()) == [[gone], [gone]]

    night = _one_map(cluster.scheduler_address)

    assert night == [0, 1, 4, 9]
    with distributed.Client(cluster) as client:
        assert list(client.run(apis).values()) == [[PREFECT_API_URL.value()]] * 2


@task(cache_policy=NO_CACHE)
def _square(n: int) -> int:
    return n * n


@flow
def _one_map(dask_address: str) -> list[int]:
    """A night in miniature: one task mapped on the cluster."""
    with fanout(dask_address) as warehouses:
        return warehouses.map(_square, ({"n": n} for n in range(4)))


def test_a_scheduler_that_does_not_answer_fails_the_night_in_one_line(
    nights: dict[str, tuple[flows.NightlyResult, Path, Path]], tmp_path: Path
) -> None:
    db = tmp_path / "w.duckdb"
    shutil.copy(nights["local"][1], db)
    with (
        dask.config.set({"distributed.comm.timeouts.connect": "2s"}),
        pytest.raises(InputError, match=r"no Dask scheduler answers at tcp://127\.0\.0\.1:1 "),
    ):
        flows.nightly(
            DataPaths(db, None, tmp_path / "published"), SMALL, dask_address="tcp://127.0.0.1:1"
        )
    con = connect(db)
    latest = published.run_history(con, "nightly").row(0, named=True)
    con.close()
    assert latest["status"] == "failed"
    assert "no Dask scheduler answers" in latest["error"]
