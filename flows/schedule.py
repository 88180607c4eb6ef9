"""The nightly on a clock: ``partsflow schedule`` serves it on a cron against a Prefect server.

One deployment, ``scheduled-nightly/nightly``, runs the nightly flow
(:func:`flows.night.nightly`) through :func:`scheduled_nightly`, which reads the
settings when the run starts (a deployment's parameters are JSON, the nightly's are
the frozen ``DataPaths``/``NightlyParams``). It has two schedules in the same time
zone (Asia/Shanghai by default, which has no daylight saving):

* ``nightly``: the cron on every day it names except the re-selection weekday;
* ``weekly-reselection``: the same time on that weekday (Sunday by default), with
  ``reselect=True``: that night re-selects every series' model
  (:func:`reselect_all`) instead of the rolling seventh the nightly refreshes every
  night (models/selection.py, "Refresh rule"). It *is* that day's nightly, not a
  second run beside it: two runs would contend for the database's lock.

Catch-up: when the schedule starts and the latest succeeded nightly finished before
the last time the cron fired (:func:`missed_slot`), the night that should have run
is run once, at once, as a run of the deployment (tag ``catch-up``). Several missed
nights are one catch-up run, not one per night: each night plans from the state of
the database when it runs (stock, orders, what planners released), so replaying the
nights in between would only plan the same state again. A database with no succeeded
nightly has nothing to catch up (the first night is the next slot, or ``partsflow
nightly`` by hand).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from prefect import flow

# The scheduler of the Prefect server computes cron dates with this croniter; the
# catch-up rule uses the same one so that both agree on when the cron fired.
from prefect._vendor.croniter import cron_m as _vendored_croniter
from prefect.deployments.runner import RunnerDeployment

from flows.night import nightly
from settings import DataPaths, NightlyParams, Settings
from warehouse import runs
from warehouse.schema import connect

_croniter: Any = _vendored_croniter.croniter  # untyped

#: Cron's weekday numbers (0 and 7 are Sunday).
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
FLOW_NAME = "scheduled-nightly"
DEPLOYMENT_NAME = "nightly"
#: ``flow/deployment``, as ``prefect deployment run`` and the UI name it.
DEPLOYMENT = f"{FLOW_NAME}/{DEPLOYMENT_NAME}"
CATCH_UP_TAG = "catch-up"


@dataclass(frozen=True)
class NightSchedule:
    """When the nightly runs, and the weekday whose night re-selects every model.

    ``cron`` is five fields in ``timezone``. With a re-selection weekday the cron's
    day of month and month must be ``*`` (a nightly runs on weekdays, not dates) and
    the weekday one of the cron's days: that day's slot takes ``reselect=True``.
    """

    cron: str
    timezone: str
    reselect_weekday: str | None

    def __post_init__(self) -> None:
        fields = self.cron.split()
        if len(fields) != 5 or not _croniter.is_valid(self.cron):
            raise ValueError(
                f"schedule cron must be five fields (minute hour day month weekday), "
                f"got {self.cron!r}"
            )
        try:
            ZoneInfo(self.timezone)
        except (ValueError, ZoneInfoNotFoundError):
            raise ValueError(
                f"not an IANA time zone (e.g. Asia/Shanghai): {self.timezone!r}"
            ) from None
        if self.reselect_weekday is None:
            return
        if self.reselect_weekday not in WEEKDAYS:
            raise ValueError(
                f"re-selection weekday must be one of {', '.join(WEEKDAYS)} or never, "
                f"got {self.reselect_weekday!r}"
            )
        if fields[2] != "*" or fields[3] != "*":
            raise ValueError(
                f"with a weekly re-selection the cron's day of month and month must be *, "
                f"got {self.cron!r}"
            )
        if WEEKDAYS.index(self.reselect_weekday) not in self.weekdays:
            raise ValueError(
                f"re-selection on {self.reselect_weekday}: the cron {self.cron!r} "
                "does not run that day"
            )

    @property
    def weekdays(self) -> frozenset[int]:
        """The cron's weekdays, 0 (Sunday) to 6."""
        expanded, _ = _croniter.expand(self.cron)
        days = expanded[4]
        if days == ["*"]:
            return frozenset(range(7))
        return frozenset(int(day) % 7 for day in days)

    def crons(self) -> dict[str, str]:
        """The cron of each schedule: ``nightly`` and (if any) ``weekly-reselection``."""
        if self.reselect_weekday is None:
            return {"nightly": self.cron}
        minute, hour, *_ = self.cron.split()
        weekly = WEEKDAYS.index(self.reselect_weekday)
        others = sorted(self.weekdays - {weekly})
        out = {"nightly": f"{minute} {hour} * * {','.join(map(str, others))}"} if others else {}
        return {**out, "weekly-reselection": f"{minute} {hour} * * {weekly}"}

    def reselects(self, slot: datetime) -> bool:
        """Whether the night of ``slot`` (a time the cron fired) is the re-selection night."""
        if self.reselect_weekday is None:
            return False
        local = slot.astimezone(ZoneInfo(self.timezone))
        return WEEKDAYS[(local.weekday() + 1) % 7] == self.reselect_weekday


def last_slot(cron: str, timezone: str, now: datetime) -> datetime:
    """The last time at or before ``now`` that ``cron`` fired in ``timezone`` (aware).

    Computed on the zone's wall clock, as cron reads it; exact for a zone without
    daylight saving such as Asia/Shanghai.
    """
    zone: tzinfo = ZoneInfo(timezone)
    wall = now.astimezone(zone).replace(tzinfo=None)
    # croniter counts whole seconds and its get_prev is strictly before its start:
    # starting a second after ``now`` counts a slot at ``now`` itself as fired.
    start = wall.replace(microsecond=0) + timedelta(seconds=1)
    fired: datetime = _croniter(cron, start).get_prev(datetime)
    return fired.replace(tzinfo=zone)


def missed_slot(
    last_success: datetime | None, cron: str, timezone: str, now: datetime
) -> datetime | None:
    """The slot to catch up when the schedule starts at ``now``, or None.

    Parameters
    ----------
    last_success
        When the latest succeeded nightly finished (aware), or None if none did.
    cron, timezone
        The nightly's schedule.
    now
        The moment the schedule starts (aware).

    Returns
    -------
    datetime | None
        The last time the cron fired before ``now`` if no nightly finished after it:
        one catch-up, whatever the number of nights missed. None when a nightly
        finished after that slot, or none ever succeeded.
    """
    if last_success is None:
        return None
    slot = last_slot(cron, timezone, now)
    return slot if last_success < slot else None


def reselect_all(params: NightlyParams) -> NightlyParams:
    """``params`` with every series' model choice due tonight.

    A choice older than ``max_age`` periods is re-selected (models/selection.py); at
    one day every series chosen before tonight is. The cost stays bounded by
    ``selection_sample`` like a first night's.
    """
    return replace(params, forecast=replace(params.forecast, max_age=1))


@flow(name=FLOW_NAME, log_prints=True)
def scheduled_nightly(db: str, landing: str | None, snapshots: str, reselect: bool = False) -> str:
    """The nightly as the schedule runs it: settings read now, ``reselect`` on its weekday.

    Returns the nightly's run id (table ``runs``).
    """
    settings = Settings()
    paths = replace(
        settings.paths(db=Path(db), snapshots=Path(snapshots)),
        landing=Path(landing) if landing else None,
    )
    params = settings.nightly_params()
    result = nightly(
        paths, reselect_all(params) if reselect else params, dask_address=settings.dask_address
    )
    return result.run_id


def deployment(paths: DataPaths, schedule: NightSchedule) -> RunnerDeployment:
    """The served deployment: the nightly on ``schedule`` over ``paths`` (absolute)."""
    from prefect.schedules import Cron
    from prefect.types.entrypoint import EntrypointType

    reselecting = {"weekly-reselection": {"reselect": True}}
    served = scheduled_nightly.to_deployment(
        DEPLOYMENT_NAME,
        schedules=[
            Cron(cron, timezone=schedule.timezone, slug=slug, parameters=reselecting.get(slug))
            for slug, cron in schedule.crons().items()
        ],
        parameters={
            "db": str(paths.db.absolute()),
            "landing": None if paths.landing is None else str(paths.landing.absolute()),
            "snapshots": str(paths.snapshots.absolute()),
            "reselect": False,
        },
        description=f"The nightly at {schedule.cron} ({schedule.timezone}); "
        f"models re-selected on {schedule.reselect_weekday or 'no day'}.",
        tags=["partsflow", "nightly"],
        # Imported by module in the runner's subprocess, whatever its working directory.
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    assert isinstance(served, RunnerDeployment)  # the sync call's result, not a coroutine
    return served


def last_success(db: Path) -> datetime | None:
    """When the latest succeeded nightly in ``db`` finished, or None (none, or no file)."""
    if not db.exists():
        return None
    with connect(db) as con:
        latest = runs.latest_succeeded(con, "nightly")
        if latest is None:
            return None
        finished: datetime | None = runs.get_run(con, latest[0])["finished_at"]
    return finished


@dataclass(frozen=True)
class CatchUp:
    """The missed night run at start: its slot, whether it re-selects, its flow run."""

    slot: datetime
    last_success: datetime
    reselect: bool
    flow_run_id: UUID | None = None


def catch_up(
    last_success: datetime | None, schedule: NightSchedule, now: datetime
) -> CatchUp | None:
    """The night to run at once when the schedule starts at ``now`` (:func:`missed_slot`)."""
    slot = missed_slot(last_success, schedule.cron, schedule.timezone, now)
    if slot is None or last_success is None:
        return None
    return CatchUp(slot, last_success, schedule.reselects(slot))


@dataclass(frozen=True)
class Served:
    """What :func:`start` set up: the deployment to serve and the catch-up run, if any."""

    deployment: RunnerDeployment
    catch_up: CatchUp | None


def start(paths: DataPaths, schedule: NightSchedule, *, catch_up_missed: bool = True) -> Served:
    """Register the deployment and, if a night was missed, schedule its run for now.

    The catch-up is a run of the deployment (tag ``catch-up``, one per missed slot:
    its idempotency key is the slot, so starting twice does not run it twice); the
    runner of :func:`serve` picks it up at once. Then call :func:`serve`.
    """
    from prefect.client.orchestration import get_client

    served = deployment(paths, schedule)
    missed = (
        catch_up(last_success(paths.db), schedule, datetime.now().astimezone())
        if catch_up_missed
        else None
    )
    if missed is None:
        return Served(served, None)
    deployment_id = served.apply()
    assert isinstance(deployment_id, UUID)  # the sync call's result, not a coroutine
    with get_client(sync_client=True) as client:
        run = client.create_flow_run_from_deployment(
            deployment_id,
            parameters={"reselect": missed.reselect},
            tags=[CATCH_UP_TAG],
            idempotency_key=f"{CATCH_UP_TAG}-{missed.slot.isoformat()}",
        )
    return Served(served, replace(missed, flow_run_id=run.id))


def serve(served: Served) -> None:
    """Serve the deployment until stopped (Ctrl-C, SIGTERM), one run at a time.

    One at a time: a night still running when the next slot comes (a long catch-up)
    delays that one instead of failing it on the database's lock. On shutdown Prefect
    pauses the schedules (no runs pile up with nobody to run them); the next start
    resumes them and catches up the night missed meanwhile.
    """
    import prefect

    prefect.serve(served.deployment, limit=1)


def api_url() -> str | None:
    """The Prefect API the schedule registers with (``PREFECT_API_URL``), if set."""
    from prefect.settings import get_current_settings

    return get_current_settings().api.url


def server_problem() -> str | None:
    """Why the schedule cannot serve (no ``PREFECT_API_URL``, server down), or None.

    The schedule needs a lasting server: an ephemeral one would end with the process
    and keep no history of the nights.
    """
    from prefect.client.orchestration import get_client

    url = api_url()
    if not url:
        return (
            "no Prefect server: start one with `prefect server start` and set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    with get_client(sync_client=True) as client:
        error = client.api_healthcheck()
    if error is not None:
        return f"the Prefect server at {url} does not answer ({type(error).__name__}: {error})"
    return None
