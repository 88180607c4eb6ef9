"""The planners' dashboard: Dash pages under ``/dashboard`` on the API's own server.

How it is served
----------------
:func:`build` (``dashboard.app``) makes one Flask + Dash app per API worker,
around the worker's :class:`api.deps.AppState`; :func:`api.app.create_app`
mounts it at ``/dashboard`` (``a2wsgi``: layouts and callbacks run in a
thread pool, off the event loop). Dash serves every script, style sheet and
font from its wheels and ``dashboard/assets`` (``serve_locally``): a page
makes no request outside the server.

Sign-in (:mod:`dashboard.auth`, :mod:`dashboard.session`): a planner key at
``/dashboard/login`` gives a signed, expiring session cookie; every other
request needs it (a page without it is redirected to the login page, an XHR
is a 401) and every POST must be same-origin. Inside a page the planner is
:func:`dashboard.context.planner`.

The contract a page codes against
---------------------------------
* **A page is a module in** ``dashboard/pages/`` that calls, at import,
  ``dash.register_page(__name__, path="/plan", name="Plan review", order=2)``
  and defines ``layout(**query) -> Component`` (query-string parameters
  arrive as keyword strings: ``/dashboard/sku?warehouse_id=FW01&sku=K1``).
  The nav bar (:mod:`dashboard.layout`) lists pages by ``order``; pass
  ``nav=False`` to ``register_page`` for a detail page reached only by links.
  Paths and orders in use: ``/`` Overview 0, ``/exceptions`` Exceptions 1,
  ``/plan`` Plan review 2, ``/sku`` SKU drill-down (``nav=False``),
  ``/targets`` Targets & frontier 4, ``/delivery`` Delivery 5, ``/runs`` Runs 6.
  Links inside the dashboard: ``dash.get_relative_path("/sku")`` (gives
  ``/dashboard/sku``) in a ``dcc.Link``.
* **Callbacks** are ``@dash.callback(...)`` in the page module. Give every
  component id a page prefix (``plan-grid``, ``sku-chart``): all pages share
  one id space. A callback that changes something must check nothing more
  about the caller: the guard let only a signed-in planner through.
* **What a layout or callback may reach** (:mod:`dashboard.context`):
  ``context.state()`` the running app's ``AppState`` (``engine``: the
  operational store's SQLAlchemy engine, ``watcher``: the published
  snapshot in memory, ``config``); ``context.planner()`` the signed-in
  ``ops.KeyIdentity`` (its ``name`` is *who* in every audit entry);
  ``with context.snapshot() as con:`` the published snapshot, read-only, for
  :mod:`warehouse.published`'s readers (type it ``context.Snapshot``: only
  :mod:`dashboard.context` imports DuckDB; raises
  ``warehouse.published.SnapshotError`` before the first night: show
  :func:`dashboard.components.no_plan`); ``context.live()`` the API's
  in-memory view (stores with their reach, counts), or None.
* **Where figures and changes come from**: the functions the API's routes
  call, nothing else — :mod:`warehouse.published` readers over the snapshot,
  :mod:`ops.workflow` (transfer and purchase orders: list, approve,
  override, release, cancel, with their audit), :mod:`ops.audit`,
  :mod:`ops.exceptions` (the inbox's acknowledge and snooze). Writes go in
  ``ops.engine`` transactions as the routes open them. Never SQL of the
  dashboard's own, never ``warehouse.duckdb`` (an import-linter contract
  keeps ``dashboard`` to ``warehouse.published`` and off ``pipelines``
  and ``flows``).
* **Shared components** (:mod:`dashboard.components`): ``csv_download(grid_id)``
  beside any dash-ag-grid (a client-side grid exports its own current
  filter); for a server-side-paged grid, ``register_csv_source(name, fn)`` at
  import, where ``fn(CsvRequest) -> pl.DataFrame`` produces the whole
  filtered set, and ``csv_download(grid_id, source=name, params={...})``;
  ``filter_frame(frame, filter_model, sort_model)`` applies an AG Grid
  filter and sort to a polars frame; ``kpi_card``, ``page_title``,
  ``no_plan``, and the formatters ``percent``, ``number``, ``money``.
  Styles: ``dashboard/assets/partsflow.css`` (classes ``pf-section``,
  ``pf-kpis``, ``pf-filters``, ``pf-toolbar``, ``pf-button``, ...).
"""

from dashboard.app import PREFIX, build

__all__ = ["PREFIX", "build"]
