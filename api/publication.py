"""Is the plan this API serves the latest night's, everywhere? (``/readyz``)

Three records name a night, written in this order at its end: the working
database's commit (announced by ``latest-run.json`` beside the snapshot,
:mod:`warehouse.published.latest`), the snapshot ``plan.duckdb`` itself, and
the operational store's ``plan_publications`` (tonight's orders for the
planners). A night killed between two of them leaves them apart; the next
night's start puts them right. Between them, in a live night, they differ for
the seconds a publish takes, so a difference counts only once it is older
than :data:`PUBLISH_GRACE`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from warehouse.published import LatestRun

#: Longer than the large network's snapshot build and store publish take (about a minute).
PUBLISH_GRACE = timedelta(minutes=15)


@dataclass(frozen=True)
class Publication:
    """The three records of the latest night as one worker sees them."""

    snapshot_run: str
    latest_run: str | None  # None: no latest-run.json (a snapshot from before it existed)
    store_run: str | None  # None: nothing published into the store yet
    problems: tuple[str, ...]

    @property
    def in_sync(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, object]:
        return {
            "snapshot_run": self.snapshot_run,
            "latest_run": self.latest_run,
            "store_run": self.store_run,
            "in_sync": self.in_sync,
            "problems": list(self.problems),
        }


def check_publication(
    snapshot_run: str,
    published_at: datetime,
    latest: LatestRun | None,
    store_run: str | None,
    now: datetime,
) -> Publication:
    """Compare the snapshot's run with the latest commit and the store's latest night.

    Parameters
    ----------
    snapshot_run, published_at
        The served snapshot's run and when it was published.
    latest
        ``latest-run.json``: the run last committed.
    store_run
        The operational store's latest published night.
    now
        The time of the check (aware).
    """
    problems = []
    if (
        latest is not None
        and latest.run_id != snapshot_run
        and now - latest.committed_at > PUBLISH_GRACE
    ):
        problems.append(
            f"run {latest.run_id} (as of {latest.as_of}) was committed at "
            f"{latest.committed_at:%Y-%m-%d %H:%M} UTC but the snapshot is run {snapshot_run}: "
            "the next nightly's start republishes it"
        )
    if store_run is not None and store_run != snapshot_run and now - published_at > PUBLISH_GRACE:
        problems.append(
            f"the operational store's latest night is run {store_run} but the snapshot is run "
            f"{snapshot_run}: the next nightly's start publishes the latest night into the store"
        )
    return Publication(snapshot_run, latest.run_id if latest else None, store_run, tuple(problems))
