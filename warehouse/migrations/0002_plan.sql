-- 0002: nightly runs and the plan they publish (forecasts, replenishment,
-- transfer orders, routes). Later issues extend these by rebuilding.

CREATE TABLE runs (
    run_id       VARCHAR PRIMARY KEY,
    kind         VARCHAR NOT NULL CHECK (kind IN ('nightly', 'ingest', 'forecast', 'plan', 'route')),
    status       VARCHAR NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    as_of        DATE,
    started_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    params       JSON,
    summary      JSON,
    error        VARCHAR,
    CHECK (finished_at IS NULL OR finished_at >= started_at),
    CHECK ((status = 'running') = (finished_at IS NULL))
);

-- Same columns as `partsflow forecast` output plus run, warehouse, sku, class.
CREATE TABLE forecasts (
    run_id        VARCHAR NOT NULL REFERENCES runs (run_id),
    warehouse_id  VARCHAR NOT NULL,
    sku           VARCHAR NOT NULL,
    unique_id     VARCHAR NOT NULL,
    ds            DATE NOT NULL,
    mean          DOUBLE NOT NULL CHECK (mean >= 0),
    model         VARCHAR NOT NULL,
    class         VARCHAR NOT NULL CHECK (class IN (
                      'smooth', 'erratic', 'intermittent', 'lumpy', 'new', 'dormant')),
    q50           DOUBLE CHECK (q50 >= 0),
    q80           DOUBLE CHECK (q80 >= q50),
    q90           DOUBLE CHECK (q90 >= q80),
    q95           DOUBLE CHECK (q95 >= q90),
    q99           DOUBLE CHECK (q99 >= q95),
    PRIMARY KEY (run_id, warehouse_id, sku, ds)
);

CREATE TABLE replenishment_plan (
    run_id                 VARCHAR NOT NULL REFERENCES runs (run_id),
    warehouse_id           VARCHAR NOT NULL,
    sku                    VARCHAR NOT NULL,
    as_of                  DATE NOT NULL,
    on_hand                INTEGER NOT NULL CHECK (on_hand >= 0),
    reserved               INTEGER NOT NULL CHECK (reserved >= 0),
    in_transit             INTEGER NOT NULL CHECK (in_transit >= 0),
    inventory_position     INTEGER NOT NULL,
    protection_days        INTEGER NOT NULL CHECK (protection_days > 0),
    forecast_mean          DOUBLE NOT NULL CHECK (forecast_mean >= 0),
    service_target         DOUBLE NOT NULL CHECK (service_target > 0 AND service_target < 1),
    order_up_to            INTEGER NOT NULL CHECK (order_up_to >= 0),
    raw_need               INTEGER NOT NULL CHECK (raw_need >= 0),
    proposed_quantity      INTEGER NOT NULL CHECK (proposed_quantity >= 0),
    pack_size              INTEGER NOT NULL CHECK (pack_size > 0),
    reason                 VARCHAR NOT NULL,
    PRIMARY KEY (run_id, warehouse_id, sku)
);

CREATE TABLE transfer_orders (
    transfer_id        VARCHAR PRIMARY KEY,
    run_id             VARCHAR REFERENCES runs (run_id),
    from_warehouse_id  VARCHAR NOT NULL REFERENCES warehouses (warehouse_id),
    to_warehouse_id    VARCHAR NOT NULL REFERENCES warehouses (warehouse_id),
    created_at         TIMESTAMPTZ NOT NULL,
    needed_by          DATE NOT NULL,
    status             VARCHAR NOT NULL CHECK (status IN (
                           'proposed', 'approved', 'overridden', 'released', 'cancelled')),
    status_reason      VARCHAR,
    CHECK (from_warehouse_id <> to_warehouse_id)
);

CREATE TABLE transfer_order_lines (
    transfer_id        VARCHAR NOT NULL REFERENCES transfer_orders (transfer_id),
    line_no            INTEGER NOT NULL CHECK (line_no > 0),
    sku                VARCHAR NOT NULL REFERENCES skus (sku),
    proposed_quantity  INTEGER NOT NULL CHECK (proposed_quantity >= 0),
    quantity           INTEGER NOT NULL CHECK (quantity >= 0),
    reason             VARCHAR,
    PRIMARY KEY (transfer_id, line_no)
);

-- Planned routes, one row per stop visit (kind: DC line-haul or FW dispatch).
CREATE TABLE routes (
    run_id        VARCHAR NOT NULL REFERENCES runs (run_id),
    kind          VARCHAR NOT NULL CHECK (kind IN ('linehaul', 'dispatch')),
    route_id      VARCHAR NOT NULL,
    vehicle_id    VARCHAR NOT NULL,
    seq           INTEGER NOT NULL CHECK (seq >= 0),
    stop_id       VARCHAR NOT NULL,
    location_id   VARCHAR NOT NULL,
    arrival       TIMESTAMPTZ NOT NULL,
    load          DOUBLE NOT NULL CHECK (load >= 0),
    distance_m    INTEGER NOT NULL CHECK (distance_m >= 0),
    PRIMARY KEY (run_id, kind, route_id, seq)
);
