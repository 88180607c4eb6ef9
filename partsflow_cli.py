"""The ``partsflow`` command line: it parses arguments and prints; every workflow it starts
is in ``flows``, every default in ``settings``.

Bad input ends with one line on stderr naming the file/field and the problem
and a non-zero exit, never a traceback. Heavy imports (Prefect, polars) happen
inside the sub-commands so ``partsflow --help`` is instant.
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from flows import NightlyResult, SimulationResult
    from optimization.evaluation.closed_loop import NightKpis
    from settings import DataPaths, Settings

EXIT_BAD_INPUT = 2
#: ``partsflow route``: a mandatory stop could not be served (partial solution written).
EXIT_UNSERVED = 3
#: Another partsflow command holds the database (a nightly running): try again later
#: (sysexits' EX_TEMPFAIL).
EXIT_BUSY = 75
#: A write met a full disk (sysexits' EX_IOERR): free space, then run the command again.
EXIT_DISK_FULL = 74


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see --help)\n")


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _settings() -> Settings:
    """The settings, or one line naming each bad ``PARTSFLOW_*`` variable and what it takes."""
    from pydantic import ValidationError

    from settings import Settings

    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"PARTSFLOW_{'_'.join(str(part) for part in e['loc']).upper()}: {e['msg']}, "
            f"got {e['input']!r}"
            if e["loc"]
            else str(e["msg"]).removeprefix("Value error, ")
            for e in error.errors()
        )
        raise _input_error(f"bad settings: {problems}") from None


def cmd_generate(args: argparse.Namespace) -> int:
    from flows.progress import progress
    from pipelines.generate import generate

    with progress(f"generate: {args.scale or 'small'} network into {args.out}"):
        summary = generate(Path(args.out), **_given(scale=args.scale, seed=args.seed))
    counts = ", ".join(f"{k} {v:,}" for k, v in summary.counts.items())
    print(f"generated {summary.scale} network (seed {summary.seed}) into {args.out}")
    print(f"  {summary.start} .. {summary.end}: {counts}")
    print(
        f"  {len(summary.files)} files, {summary.rows_written:,} rows in {summary.elapsed_s:.1f} s"
    )
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from flows import ingest_files
    from flows.progress import progress

    paths = _settings().paths(db=_path(args.db))
    with progress("ingest") as bar:

        def file_done(path: Path) -> None:
            bar.step(f"{path.name} loaded")
            bar.advance()

        report, retried = ingest_files(
            paths.db, [Path(p) for p in args.paths], args.kind, args.retry_quarantine, file_done
        )
    failed = False
    if report is not None:
        print(report.render())
        for file in report.errors:
            print(f"partsflow ingest: {file.error}", file=sys.stderr)
            failed = True
    if retried is not None:
        print(retried.render())
    return 1 if failed else 0


def cmd_forecast(args: argparse.Namespace) -> int:
    from flows import forecast_file
    from models.params import ForecastParams

    started = time.perf_counter()
    levels = tuple(args.quantiles) if args.quantiles else None
    params = ForecastParams(
        horizon=args.horizon,
        season_length=args.season_length,
        **_given(freq=args.freq, levels=levels, n_jobs=args.n_jobs),
    )
    forecast_file(Path(args.input), Path(args.output), params)
    print(f"wrote {args.output} in {time.perf_counter() - started:.1f} s")
    return 0


def _positive(name: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{name} must be at least 1, got {value}")
        return value

    return parse


def _quantile_list(text: str) -> list[int]:
    try:
        levels = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of integer levels: {text!r}"
        ) from None
    if any(not 0 < q < 100 for q in levels) or len(set(levels)) != len(levels):
        raise argparse.ArgumentTypeError(
            f"--quantiles must be distinct integers in 1..99, got {levels}"
        )
    return levels


def cmd_route(args: argparse.Namespace) -> int:
    from flows import route_file
    from optimization.routing import SolveParams

    try:
        params = SolveParams(**_given(time_limit=args.time_limit, seed=args.seed))
    except ValueError as error:
        raise _usage(str(error)) from None
    if not route_file(Path(args.problem), Path(args.output), params):
        print(
            f"partsflow route: mandatory stops could not be served; see 'unassigned' in "
            f"{args.output}",
            file=sys.stderr,
        )
        return EXIT_UNSERVED
    return 0


def cmd_nightly(args: argparse.Namespace) -> int:
    settings = _settings()
    paths = settings.paths(db=_path(args.db), landing=_path(args.landing))
    if args.no_landing:
        paths = dataclasses.replace(paths, landing=None)
    dask = args.dask or settings.dask_address
    _print_nightly(_run_nightly(settings, paths, args.as_of, dask))
    return 0


def cmd_schedule(args: argparse.Namespace) -> int:
    """``partsflow schedule``: serve the nightly on its cron against a Prefect server."""
    settings = _settings()
    paths = settings.paths(db=_path(args.db), landing=_path(args.landing))
    if args.no_landing:
        paths = dataclasses.replace(paths, landing=None)
    _prepare_prefect()
    from flows import schedule

    weekday = args.reselect_day or settings.reselect_weekday
    try:
        night = schedule.NightSchedule(
            cron=args.cron or settings.schedule_cron,
            timezone=args.timezone or settings.schedule_timezone,
            reselect_weekday=None if weekday == "never" else weekday,
        )
    except ValueError as error:
        raise _usage(str(error)) from None
    problem = schedule.server_problem()
    if problem:
        raise _CliError(problem, 1)
    served = schedule.start(paths, night, catch_up_missed=not args.no_catch_up)
    print(f"serving {schedule.DEPLOYMENT} on {schedule.api_url()} (database {paths.db})")
    for slug, cron in night.crons().items():
        what = ": every model re-selected" if slug == "weekly-reselection" else ""
        print(f"  {slug}: {cron} ({night.timezone}){what}")
    missed = served.catch_up
    if missed is not None:
        print(
            f"  missed the night of {missed.slot:%Y-%m-%d %H:%M %Z} (the latest nightly"
            f" finished {missed.last_success.astimezone(missed.slot.tzinfo):%Y-%m-%d %H:%M}):"
            f" running it now, once (flow run {missed.flow_run_id})",
            flush=True,
        )
    schedule.serve(served)
    return 0


def cmd_dispatch(args: argparse.Namespace) -> int:
    _prepare_prefect()
    import polars as pl

    from flows import dispatch_review
    from flows.progress import progress

    with progress("dispatch: warehouses replayed"):
        review = dispatch_review(
            _settings().paths(db=_path(args.db)), args.day, args.riders, args.workers
        )
    print(f"dispatch run {review.run_id}: store deliveries of {review.day} replayed")
    totals = review.kpis.group_by("dispatcher").agg(
        pl.col("orders", "on_time", "riders", "rider_hours", "km").sum()
    )
    for row in totals.sort("dispatcher", descending=True).iter_rows(named=True):
        print(
            f"  {row['dispatcher']:>7}: {row['on_time'] / max(row['orders'], 1):.1%} on time"
            f" of {row['orders']:,} orders, {row['riders']} riders,"
            f" {row['rider_hours']:,.0f} rider-hours, {row['km']:,.0f} km"
        )
    print("per warehouse: tables dispatch_kpis and dispatch_delivery_times")
    return 0


def cmd_linehaul(args: argparse.Namespace) -> int:
    from flows import replan_linehaul

    settings = _settings()
    done = replan_linehaul(settings.paths(db=_path(args.db)), settings.linehaul_params())
    print(
        f"line-haul of run {done.run_id} re-planned on what was released:"
        f" {done.volume_l:,.0f} l to {done.warehouses} warehouses,"
        f" {done.vans} vans, {done.trips} trips, {done.km:,.1f} km"
    )
    if done.late_l:
        print(f"WARNING: {done.late_l:,.0f} l cannot reach the warehouses before opening")
    return 0


def cmd_orders(args: argparse.Namespace) -> int:
    """``partsflow transfer ...`` and ``partsflow purchase ...``: the same workflow, in the
    operational store (``PARTSFLOW_OPS_URL``), through the functions the API calls."""
    from flows import change_order, list_orders

    url = _settings().ops_url
    if args.action == "list":
        columns = _LISTED[args.command]
        for row in list_orders(url, args.command, args.status, args.warehouse):
            print("  ".join("" if row.get(c) is None else str(row[c]) for c in columns))
        return 0
    if not args.order_id:
        raise _usage(f"{args.command} {args.action}: give the order id")
    user = args.by or os.environ.get("USER") or "planner"
    status = change_order(
        url,
        args.command,
        args.action,
        args.order_id,
        user,
        args.reason or "",
        _quantities(args.set),
    )
    print(f"{args.order_id}: {status}")
    return 0


#: What ``partsflow transfer|purchase list`` prints of each order, in this order.
_LISTED = {
    "transfer": (
        "transfer_id", "status", "from_warehouse_id", "to_warehouse_id", "needed_by", "lines",
        "units", "status_reason",
    ),
    "purchase": (
        "po_id", "status", "supplier_id", "dc_id", "expected_on", "lines", "units", "value",
        "status_reason",
    ),
}  # fmt: skip


def _quantities(pairs: list[str] | None) -> dict[str, int]:
    """``SKU=QTY`` pairs from ``--set``."""
    out: dict[str, int] = {}
    for pair in pairs or []:
        sku, sep, quantity = pair.partition("=")
        if not sep or not sku or not quantity.strip().lstrip("-").isdigit():
            raise _usage(f"--set expects SKU=QUANTITY, got {pair!r}")
        out[sku] = int(quantity)
    return out


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate the medium network (once), then run the nightly job on it."""
    from flows.progress import progress
    from pipelines.generate import generate

    settings = _settings()
    landing = settings.landing_dir
    if not (landing / "manifest.json").exists():
        print(f"generating the {args.scale} network into {landing} ...", flush=True)
        with progress(f"generate: {args.scale} network"):
            summary = generate(landing, scale=args.scale, **_given(seed=args.seed))
        print(f"  {summary.rows_written:,} rows in {summary.elapsed_s:.0f} s")
    else:
        print(f"using the network already in {landing}")
    started = time.perf_counter()
    result = _run_nightly(settings, settings.paths(), None, settings.dask_address)
    _print_nightly(result)
    print(f"nightly job finished in {time.perf_counter() - started:.0f} s")
    print(f"database: {settings.db_path}   published plan: {result.snapshot}")
    print(
        "look at: tables runs, forecasts, forecast_accuracy, replenishment_plan, transfer_orders,"
        " purchase_orders, purchase_plan,"
        " transfer_order_lines, allocation_runs, routes, quarantine; e.g."
    )
    print(
        f"  .venv/bin/python -c \"import duckdb; print(duckdb.connect('{result.snapshot}', "
        "read_only=True).sql('SELECT warehouse_id, sku, order_up_to, inventory_position, "
        "proposed_quantity, allocated_quantity, cut_by FROM replenishment_plan "
        "ORDER BY proposed_quantity DESC LIMIT 9'))\""
    )
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    """``partsflow simulate``: the nightly N nights in a closed loop on a copy; a KPI table."""
    if args.db and args.seed is not None:
        raise _usage("--seed is the generator's: give it with --scale, not with --db")
    settings = _settings()
    _prepare_prefect()
    from flows import Source, simulate, write_json
    from flows.progress import progress

    source = (
        Source(db=Path(args.db))
        if args.db
        else Source(scale=args.scale or "small", seed=0 if args.seed is None else args.seed)
    )
    rows: list[str] = []  # the header goes above the first night, after the set-up's log

    with progress(f"simulate: {args.nights} nights", total=args.nights) as bar:

        def night_done(night: NightKpis, wall: float) -> None:
            rows.append(_sim_row(night, wall))
            print(*([_SIM_HEADER] if len(rows) == 1 else []), rows[-1], sep="\n", flush=True)
            bar.advance()

        result = simulate(
            source,
            args.nights,
            args.policy,
            settings.nightly_params(),
            _path(args.workdir),
            night_done,
        )
    _print_simulation(result)
    if args.json:
        write_json(result, Path(args.json))
        print(f"KPIs per night and in total: {args.json}")
    return 0


_SIM_HEADER = (
    "night       unit fill item fill stock-out FW ¥k   DC ¥k   FW cover DC cover "
    "moved (lines/units) pull-backs  PO lines PO ¥k   DC out  idle>90  wall s"
)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _days(value: float | None) -> str:
    return "–" if value is None else ("∞" if value == float("inf") else f"{value:.1f}")


def _sim_row(night: NightKpis, wall: float) -> str:
    dc_out = (
        night.dc_stockout_sku_days / night.dc_demand_sku_days if night.dc_demand_sku_days else None
    )
    return (
        f"{night.day}  {_pct(night.unit_fill):>9} {_pct(night.item_fill):>9}"
        f" {night.stockout_sku_days:>9,}"
        f" {night.fw_value / 1e3:>7,.0f} {night.dc_value / 1e3:>7,.0f}"
        f" {_days(night.fw_cover_days):>8} {_days(night.dc_cover_days):>8}"
        f" {night.transfer_lines:>9,} / {night.transfer_units:<7,}"
        f" {night.pull_back_lines:>4,} / {night.pull_back_units:<5,}"
        f" {night.purchase_lines:>6,} {night.purchase_value / 1e3:>7,.0f}"
        f" {_pct(dc_out):>7} {_pct(night.idle_share):>8} {wall:>7.1f}"
    )


def _print_simulation(result: SimulationResult) -> None:
    total = result.total
    walls = result.wall_s
    print(
        f"simulated {total.nights} nights ({result.policy}) after {result.split_day} "
        f"on a {result.source}"
    )
    print(
        f"  unit fill {_pct(total.unit_fill)}, item fill {_pct(total.item_fill)} at the forward "
        f"warehouses: {total.units_served:,} of {total.units_ordered:,} units; "
        f"{total.units_late:,} sent late by the DC, {total.units_short:,} short there too; "
        f"{total.stockout_sku_days:,} stock-out SKU-days"
    )
    print(
        f"  stock value: forward warehouses ¥{total.fw_value_mean:,.0f} on average "
        f"(¥{total.fw_value_end:,.0f} at the end, median cover {_days(total.fw_cover_days_end)}"
        f" days), DCs ¥{total.dc_value_mean:,.0f} (¥{total.dc_value_end:,.0f}, "
        f"{_days(total.dc_cover_days_end)} days); idle > 90 days at the end: "
        f"{total.idle_units_end:,} units ({_pct(total.idle_share_end)})"
    )
    cv = total.transfer_lines_cv_after_week
    print(
        f"  moved {total.transfer_lines:,} lines ({total.transfer_lines_per_night:,.0f} a night"
        f"{'' if cv is None else f', variation {cv:.0%} after the first week'}), "
        f"{total.transfer_units:,} units; pulled back {total.pull_back_lines:,} lines "
        f"({total.pull_back_units:,} units); sent and pulled back within 14 days: "
        f"{total.sent_and_pulled_back} (pulled back and sent again: {total.pulled_back_and_sent})"
    )
    print(
        f"  purchase orders: {total.purchase_lines:,} lines, {total.purchase_units:,} units, "
        f"¥{total.purchase_value:,.0f}; DC stock-out on {_pct(total.dc_stockout_share)} of the "
        f"SKU-days with demand"
    )
    after = f", {sum(walls[1:]) / (len(walls) - 1):.1f} s after the first" if len(walls) > 1 else ""
    print(
        f"  wall time {sum(walls) / len(walls):.1f} s a night{after} (nightly flow "
        f"{sum(result.nightly_s) / len(walls):.1f} s); setup {result.setup_s:.0f} s"
    )
    if result.refused:
        print(
            f"  WARNING: {len(result.refused)} order(s) refused at release,"
            f" e.g. {result.refused[0]}"
        )


def cmd_serve(args: argparse.Namespace) -> int:
    """``partsflow serve``: the API under uvicorn; each worker builds its app (``--factory``)."""
    _settings()  # a bad PARTSFLOW_* variable is one line here, not a traceback per worker
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from api.transport import NoDelayHttpToolsProtocol, reuse_port_listener

    options: dict[str, Any] = {
        "factory": True,
        "host": args.host,
        "port": args.port,
        "workers": args.workers,
        "http": NoDelayHttpToolsProtocol,  # TCP_NODELAY with --workers N too (api/transport.py)
        "loop": "uvloop",
        "access_log": False,  # the app writes its own access log, as JSON lines
        "log_level": "info",
    }
    if args.workers == 1:
        uvicorn.run("api.app:factory", **options)
        return 0
    config = uvicorn.Config("api.app:factory", **options)
    # A listening socket per worker (SO_REUSEPORT), so connections spread over the workers.
    listener = reuse_port_listener(args.host, args.port)
    host, port = listener.getsockname()[:2]
    logging.getLogger("uvicorn.error").info(
        "Uvicorn running on http://%s:%d with %d workers", host, port, args.workers
    )
    Multiprocess(config, sockets=[listener]).run()
    return 0


def cmd_api_key(args: argparse.Namespace) -> int:
    """``partsflow api-key create | list | revoke``: keys of store systems and planners."""
    from sqlalchemy.exc import SQLAlchemyError

    from api.admin import create_api_key, list_api_keys, revoke_api_key
    from ops import UnknownKeyError

    url = _settings().ops_url
    who = os.environ.get("USER") or "cli"
    try:
        if args.action == "create":
            new = create_api_key(url, store_id=args.store, name=args.name, by=who)
            key = new.key.identity
            scope = f"store {key.store_id}" if key.store_id else "planners"
            print(f"created key {key.key_id} ({key.name!r}) for {scope}")
            print("the token is shown this once; only its hash is stored:")
            print(new.token)
        elif args.action == "list":
            for listed in list_api_keys(url):
                key = listed.identity
                state = (
                    f"revoked {listed.revoked_at:%Y-%m-%d %H:%M}" if listed.revoked_at else "active"
                )
                print(
                    f"{key.key_id}  {key.role:<7}  {key.store_id or '-':<8}  "
                    f"{listed.created_at:%Y-%m-%d %H:%M}  {state}  {key.name}"
                )
        else:
            revoked = revoke_api_key(url, args.key_id, by=who)
            print(f"revoked key {revoked.identity.key_id} ({revoked.identity.name!r})")
    except (ValueError, UnknownKeyError) as error:
        raise _input_error(_one_line(error)) from None
    except SQLAlchemyError as error:
        raise _CliError(
            f"operational store {url}: {_one_line(error.__cause__ or error)}", 1
        ) from None
    return 0


def _store_id(text: str) -> str:
    if not 1 <= len(text) <= 64 or not text.isprintable() or text != text.strip():
        raise argparse.ArgumentTypeError(f"not a store id (1-64 characters): {text!r}")
    return text


def _key_name(text: str) -> str:
    if not 1 <= len(text.strip()) <= 200:
        raise argparse.ArgumentTypeError(f"--name must be 1-200 characters, got {len(text)}")
    return text.strip()


def _port(text: str) -> int:
    port = _positive("--port")(text)
    if port > 65535:
        raise argparse.ArgumentTypeError(f"--port must be at most 65535, got {port}")
    return port


def _given(**options: Any) -> dict[str, Any]:
    """The options given on the command line; the rest keep the parameter object's default."""
    return {name: value for name, value in options.items() if value is not None}


def _path(text: str | None) -> Path | None:
    return Path(text) if text else None


def _prepare_prefect() -> None:
    """Prefect's environment defaults, the quiet teardown, one-line bad-input failures."""
    from settings import use_prefect_defaults

    use_prefect_defaults()
    # Registered before Prefect's own exit handlers, so it runs after them.
    atexit.register(quiet_interpreter_teardown)
    import flows  # noqa: F401  (Prefect sets up its log handlers on import)

    _hide_input_error_tracebacks()


def _run_nightly(
    settings: Settings, paths: DataPaths, as_of: date | None, dask: str | None = None
) -> NightlyResult:
    from flows.night import check_landing
    from warehouse.dblock import database_lock

    # Refused before Prefect's server starts (15-40 s); the flow takes the lock for the night.
    check_landing(paths.landing)
    with database_lock(paths.db, "nightly"):
        pass
    _prepare_prefect()
    from flows import nightly
    from flows.progress import NIGHTLY_STEPS, progress

    with progress("nightly", steps=NIGHTLY_STEPS):
        return nightly(paths, settings.nightly_params(), as_of, dask_address=dask)


class _NoInputErrorTraceback(logging.Filter):
    """Keep the log line of a bad-input failure but drop its traceback.

    Prefect logs a failed task or flow with its traceback; for an
    ``InputError`` (bad input the user can fix), a database held by another
    command or a full disk, the one-line message is the whole story, and the CLI prints it
    again at the end.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        from pipelines.errors import InputError, is_disk_full
        from warehouse.dblock import DatabaseInUseError

        error = record.exc_info[1] if record.exc_info else None
        if error is not None and (
            isinstance(error, InputError | DatabaseInUseError) or is_disk_full(error)
        ):
            record.exc_info = None
            record.exc_text = None
        return True


def _hide_input_error_tracebacks() -> None:
    hide = _NoInputErrorTraceback()
    for name in ("prefect", "prefect.flow_runs", "prefect.task_runs", ""):
        for handler in logging.getLogger(name).handlers:
            handler.addFilter(hide)


def quiet_interpreter_teardown() -> None:
    """Silence stderr for the last step of interpreter shutdown.

    After a Prefect flow run, DuckDB 2.0's bindings (nanobind) report dozens of
    "leaked instance" lines while the interpreter tears down its modules; the
    run is complete by then and the report is about the binding's own
    objects. Everything partsflow and Prefect print comes before this.
    """
    sys.stderr.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)


def _print_nightly(result: NightlyResult) -> None:
    from flows.artifacts import summary_lines

    print(*summary_lines(result), sep="\n")


class _CliError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _usage(message: str) -> _CliError:
    return _CliError(message, EXIT_BAD_INPUT)


def _input_error(message: str) -> _CliError:
    return _CliError(message, EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="partsflow", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    gen = sub.add_parser("generate", help="write a synthetic network and its history")
    gen.add_argument("--out", required=True, help="folder to write the landing files into")
    gen.add_argument("--scale", choices=["small", "medium", "large"], help="default small")
    gen.add_argument("--seed", type=int, help="default 0")
    gen.set_defaults(func=cmd_generate)

    ing = sub.add_parser("ingest", help="validate and load landing files into the database")
    ing.add_argument("paths", nargs="*", metavar="PATH", help="files or folders")
    ing.add_argument("--db", help="database file (default data/warehouse.duckdb)")
    ing.add_argument("--kind", help="kind of every file given, instead of the name prefix")
    ing.add_argument(
        "--retry-quarantine",
        action="store_true",
        help="re-check quarantined rows whose master data may have arrived",
    )
    ing.set_defaults(func=cmd_ingest)

    fc = sub.add_parser("forecast", help="forecast any long-format file (unique_id, ds, y)")
    fc.add_argument("input", help="Parquet or CSV with columns unique_id, ds, y")
    fc.add_argument(
        "--horizon", type=_positive("--horizon"), required=True, help="periods to forecast"
    )
    fc.add_argument("--freq", choices=["D", "W", "MS"], help="period of the data (default D)")
    fc.add_argument(
        "--season-length", type=_positive("--season-length"), help="default 7 (D), 52 (W), 12 (MS)"
    )
    fc.add_argument(
        "--quantiles", type=_quantile_list, help="levels in percent (default 50,80,90,95,99)"
    )
    fc.add_argument("--output", required=True, help="Parquet file to write")
    fc.add_argument("--n-jobs", type=int, help="parallel statsforecast workers (default 1)")
    fc.set_defaults(func=cmd_forecast)

    route = sub.add_parser("route", help="solve a routing problem JSON (VRP with time windows)")
    route.add_argument("problem", help="problem JSON (see DESIGN.md)")
    route.add_argument("--time-limit", type=float, help="seconds of search (default 10)")
    route.add_argument("--seed", type=int, help="search seed (default 0)")
    route.add_argument("--output", required=True, help="solution JSON to write")
    route.set_defaults(func=cmd_route)

    night = sub.add_parser("nightly", help="ingest, forecast, plan and publish (Prefect flow)")
    night.add_argument("--db", help="database file (default data/warehouse.duckdb)")
    landing = night.add_mutually_exclusive_group()
    landing.add_argument(
        "--landing",
        help="landing folder (default data/landing); one missing or without a file is an error",
    )
    landing.add_argument(
        "--no-landing", action="store_true", help="load no files: plan on what is loaded"
    )
    night.add_argument("--as-of", type=_iso_date, help="planning day (default: last order day)")
    night.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run the per-warehouse tasks on this Dask scheduler, e.g. tcp://host:8786 "
        "(default PARTSFLOW_DASK_ADDRESS; unset: in this process)",
    )
    night.set_defaults(func=cmd_nightly)

    sched = sub.add_parser(
        "schedule",
        help="serve the nightly on a cron against a Prefect server (PREFECT_API_URL)",
    )
    sched.add_argument("--db", help="database file (default data/warehouse.duckdb)")
    sched_landing = sched.add_mutually_exclusive_group()
    sched_landing.add_argument("--landing", help="landing folder (default data/landing)")
    sched_landing.add_argument(
        "--no-landing", action="store_true", help="load no files: plan on what is loaded"
    )
    sched.add_argument(
        "--cron", help="when the nightly runs, five fields (default 30 1 * * *: 01:30)"
    )
    sched.add_argument("--timezone", help="the cron's time zone (default Asia/Shanghai)")
    sched.add_argument(
        "--reselect-day",
        choices=["sun", "mon", "tue", "wed", "thu", "fri", "sat", "never"],
        help="the weekday whose night re-selects every model (default sun)",
    )
    sched.add_argument(
        "--no-catch-up",
        action="store_true",
        help="do not run a missed night at start (default: run the last one, once)",
    )
    sched.set_defaults(func=cmd_schedule)

    for name, what in (
        ("transfer", "transfer orders (DC → forward warehouse)"),
        ("purchase", "the DC's purchase orders to its suppliers"),
    ):
        orders = sub.add_parser(
            name,
            help=f"list, approve, override, release or cancel {what}, in the operational store"
            " (PARTSFLOW_OPS_URL)",
        )
        orders.add_argument("action", choices=["list", "approve", "override", "release", "cancel"])
        orders.add_argument("order_id", nargs="?", help=f"the order (see `partsflow {name} list`)")
        orders.add_argument("--status", help="list: only orders in this status")
        orders.add_argument("--warehouse", help="list: only orders from or to this warehouse")
        orders.add_argument(
            "--set", action="append", metavar="SKU=QTY", help="override: a line's quantity"
        )
        orders.add_argument("--reason", help="why (required to override or cancel)")
        orders.add_argument("--by", help="who (default $USER)")
        orders.set_defaults(func=cmd_orders)

    disp = sub.add_parser(
        "dispatch", help="replay a day of store deliveries: rolling vs naive dispatcher"
    )
    disp.add_argument("--db", help="database file (default data/warehouse.duckdb)")
    disp.add_argument("--day", type=_iso_date, help="demand day (default: the busiest)")
    disp.add_argument(
        "--riders", type=int, help="riders per warehouse (default: each dispatcher's smallest"
        " fleet keeping 99 %% on time, found by search)",
    )  # fmt: skip
    disp.add_argument(
        "--workers", type=int, help="processes replaying warehouses side by side"
        " (default: one per core)",
    )  # fmt: skip
    disp.set_defaults(func=cmd_dispatch)

    haul = sub.add_parser(
        "linehaul", help="re-plan tonight's DC vans on the transfer orders actually released"
    )
    haul.add_argument("--db", help="database file (default data/warehouse.duckdb)")
    haul.set_defaults(func=cmd_linehaul)

    sim = sub.add_parser(
        "simulate", help="run the nightly N nights in a closed loop on a copy; KPIs per night"
    )
    sim.add_argument(
        "--nights", type=int, required=True, help="consecutive nights to simulate (1..365)"
    )
    where = sim.add_mutually_exclusive_group()
    where.add_argument(
        "--scale",
        choices=["small", "medium", "large"],
        help="generate this network and play its later days as demand (default small)",
    )
    where.add_argument("--db", help="copy this database and replay its last weeks forward")
    sim.add_argument("--policy", choices=["ours", "minmax"], default="ours")
    sim.add_argument("--seed", type=int, help="generator seed with --scale (default 0)")
    sim.add_argument("--json", help="write per-night and total KPIs to this file")
    sim.add_argument("--workdir", help="keep the working copy in this folder (default: removed)")
    sim.set_defaults(func=cmd_simulate)

    serve = sub.add_parser("serve", help="serve the HTTP API (uvicorn); see API.md")
    serve.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    serve.add_argument("--port", type=_port, default=8000, help="default 8000")
    serve.add_argument(
        "--workers", type=_positive("--workers"), default=1, help="worker processes (default 1)"
    )
    serve.set_defaults(func=cmd_serve)

    keys = sub.add_parser("api-key", help="create, list or revoke API keys (bearer tokens)")
    key_actions = keys.add_subparsers(dest="action", required=True, parser_class=_Parser)
    create = key_actions.add_parser("create", help="a key for one store or for planners")
    whose = create.add_mutually_exclusive_group(required=True)
    whose.add_argument("--store", type=_store_id, help="the store the key acts for")
    whose.add_argument("--role", choices=["planner"], help="a planner key (any store)")
    create.add_argument("--name", type=_key_name, help="shown in lists and the audit log")
    key_actions.add_parser("list", help="every key: id, role, store, created, revoked")
    revoke = key_actions.add_parser("revoke", help="stop a key at once")
    revoke.add_argument("key_id", help="the key's id (see `partsflow api-key list`)")
    keys.set_defaults(func=cmd_api_key)

    demo = sub.add_parser("demo", help="generate a network and run the nightly job on it")
    demo.add_argument("--scale", choices=["small", "medium", "large"], default="medium")
    demo.add_argument("--seed", type=int, help="default 0")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except Exception as error:
        line, exit_code = _error_line(args, error)
        print(f"partsflow {args.command}: {line}", file=sys.stderr)
        return exit_code
    return code


#: The arguments naming where a command writes: the first one given is named on a full disk.
_WRITES = ("output", "out", "db")


def _error_line(args: argparse.Namespace, error: Exception) -> tuple[str, int]:
    """One line and an exit code for the errors a user can act on; re-raise the rest."""
    import duckdb

    from pipelines.errors import InputError, disk_full_message, is_disk_full
    from warehouse.dblock import DatabaseInUseError
    from warehouse.schema import SchemaError

    if is_disk_full(error):
        # Wherever it struck (Python, polars, DuckDB's WAL, a Prefect task): one line.
        written = next((getattr(args, a) for a in _WRITES if getattr(args, a, None)), None)
        return disk_full_message(error, written and Path(written)), EXIT_DISK_FULL
    if isinstance(error, DatabaseInUseError):
        return _one_line(error), EXIT_BUSY
    if isinstance(error, _CliError):
        return str(error), error.code
    if isinstance(error, InputError | SchemaError):
        return _one_line(error), EXIT_BAD_INPUT
    if isinstance(error, OSError | duckdb.IOException):
        # E.g. DuckDB's "could not set lock on file": another process has it open.
        return _one_line(error), 1
    raise error


def _one_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
