"""Every workflow of partsflow, the one place that wires the pieces together.

* :mod:`flows.night`: the nightly run (the Prefect flow :func:`nightly`), with its
  inputs (:mod:`flows.night_inputs`), its forecast (:mod:`flows.night_forecast`),
  its decisions (:mod:`flows.night_plan`), the operational store's side
  (:mod:`flows.store`) and the per-warehouse fan-out, here or on Dask
  (:mod:`flows.fanout`).
* :mod:`flows.dispatch`: the dispatch review, a day of store deliveries replayed (a
  Prefect flow behind :func:`dispatch_review`).
* :mod:`flows.simulate`: the nightly run N consecutive nights in a closed loop on a
  copy (:func:`simulate`, ``partsflow simulate``).
* :mod:`flows.commands`: what a planner or a file user runs without Prefect: the
  line-haul re-plan on what was released, loading landing files, the transfer- and
  purchase-order workflows, and the ``forecast`` and ``route`` file commands.

The CLI (``partsflow_cli``) parses arguments, calls these and prints; the defaults
and the parameter objects come from ``settings``.

Prefect's environment defaults (``settings.PREFECT_DEFAULTS``: its run log on
stdout, so stderr carries only the CLI's one-line errors) are set here, before
any module of this package imports Prefect, which reads them on import.
"""

# ruff: noqa: E402  (the package's imports come after Prefect's environment is set)
from settings import use_prefect_defaults

use_prefect_defaults()

from flows.commands import (
    LinehaulReplan,
    OrderAction,
    OrderKind,
    change_order,
    forecast_file,
    ingest_files,
    list_orders,
    replan_linehaul,
    route_file,
)
from flows.dispatch import DispatchReview, dispatch_review
from flows.night import NightlyResult, nightly
from flows.simulate import MAX_NIGHTS, SimulationResult, Source, simulate, write_json

__all__ = [
    "MAX_NIGHTS",
    "DispatchReview",
    "LinehaulReplan",
    "NightlyResult",
    "OrderAction",
    "OrderKind",
    "SimulationResult",
    "Source",
    "change_order",
    "dispatch_review",
    "forecast_file",
    "ingest_files",
    "list_orders",
    "nightly",
    "replan_linehaul",
    "route_file",
    "simulate",
    "write_json",
]
