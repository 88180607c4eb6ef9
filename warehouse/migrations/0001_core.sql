-- 0001: the network, the catalogue and the order history.
--
-- Conventions
-- * Natural keys are the primary keys named in DESIGN.md.
-- * Enumerations are VARCHAR + CHECK (not DuckDB ENUM types) so that a later
--   migration can widen them by rebuilding the one table.
-- * Foreign keys are declared where DuckDB supports them. DuckDB cannot add a
--   FOREIGN KEY or CHECK with ALTER TABLE, and a referenced table cannot be
--   altered: a migration that changes a constrained table rebuilds it (create
--   new, copy, drop old, rename). References are enforced at ingestion too,
--   so a bad row is quarantined with a reason instead of failing a batch.
-- * Money is DECIMAL(12, 2) CNY; volumes in litres; distances in metres.
-- * Timestamps are TIMESTAMPTZ (UTC inside); a demand day is the
--   Asia/Shanghai calendar date, stored beside the timestamp as `demand_date`.

CREATE TABLE warehouses (
    warehouse_id         VARCHAR PRIMARY KEY,
    name                 VARCHAR NOT NULL,
    kind                 VARCHAR NOT NULL CHECK (kind IN ('dc', 'forward')),
    lat                  DOUBLE NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon                  DOUBLE NOT NULL CHECK (lon BETWEEN -180 AND 180),
    shelf_capacity_l     DOUBLE NOT NULL CHECK (shelf_capacity_l > 0),
    parent_warehouse_id  VARCHAR,            -- the DC that replenishes a forward warehouse
    opened_on            DATE NOT NULL,
    CHECK ((kind = 'dc') = (parent_warehouse_id IS NULL))
);

CREATE TABLE stores (
    store_id      VARCHAR PRIMARY KEY,
    name          VARCHAR NOT NULL,
    lat           DOUBLE NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon           DOUBLE NOT NULL CHECK (lon BETWEEN -180 AND 180),
    warehouse_id  VARCHAR NOT NULL REFERENCES warehouses (warehouse_id),
    opened_on     DATE NOT NULL,
    is_franchise  BOOLEAN NOT NULL
);

CREATE TABLE skus (
    sku             VARCHAR PRIMARY KEY,
    name            VARCHAR NOT NULL,
    category        VARCHAR NOT NULL CHECK (category IN (
                        'tyres', 'engine_oil', 'filters', 'batteries', 'brake_pads',
                        'wipers', 'bulbs', 'nev_parts', 'service_packages')),
    part_type       VARCHAR NOT NULL,
    brand           VARCHAR NOT NULL,
    pack_size       INTEGER NOT NULL CHECK (pack_size > 0),
    unit_volume_l   DOUBLE NOT NULL CHECK (unit_volume_l > 0),
    unit_cost       DECIMAL(12, 2) NOT NULL CHECK (unit_cost >= 0),
    unit_price      DECIMAL(12, 2) NOT NULL CHECK (unit_price >= 0),
    lead_time_days  INTEGER NOT NULL CHECK (lead_time_days BETWEEN 0 AND 365),
    is_nev          BOOLEAN NOT NULL,
    do_not_stock    BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE vehicle_models (
    vehicle_model_id  VARCHAR PRIMARY KEY,
    make              VARCHAR NOT NULL,
    model             VARCHAR NOT NULL,
    powertrain        VARCHAR NOT NULL CHECK (powertrain IN ('ice', 'hev', 'phev', 'bev')),
    year_from         INTEGER NOT NULL CHECK (year_from BETWEEN 1950 AND 2100),
    year_to           INTEGER CHECK (year_to BETWEEN 1950 AND 2100),
    segment           VARCHAR NOT NULL,
    CHECK (year_to IS NULL OR year_to >= year_from)
);

CREATE TABLE fitment (
    sku               VARCHAR NOT NULL REFERENCES skus (sku),
    vehicle_model_id  VARCHAR NOT NULL REFERENCES vehicle_models (vehicle_model_id),
    position          VARCHAR NOT NULL CHECK (position IN (
                          'any', 'front', 'rear', 'front_left', 'front_right',
                          'rear_left', 'rear_right', 'engine', 'cabin')),
    quantity          INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (sku, vehicle_model_id, position)
);

CREATE TABLE maintenance_schedules (
    vehicle_model_id  VARCHAR NOT NULL REFERENCES vehicle_models (vehicle_model_id),
    part_type         VARCHAR NOT NULL,
    interval_km       INTEGER CHECK (interval_km > 0),
    interval_months   INTEGER CHECK (interval_months > 0),
    PRIMARY KEY (vehicle_model_id, part_type),
    CHECK (interval_km IS NOT NULL OR interval_months IS NOT NULL)
);

-- The vehicles a store serves, by model, month by month (the NEV share grows).
CREATE TABLE store_vehicles (
    store_id          VARCHAR NOT NULL REFERENCES stores (store_id),
    vehicle_model_id  VARCHAR NOT NULL REFERENCES vehicle_models (vehicle_model_id),
    month             DATE NOT NULL CHECK (day(month) = 1),
    vehicles          INTEGER NOT NULL CHECK (vehicles >= 0),
    annual_km         INTEGER NOT NULL CHECK (annual_km > 0),
    PRIMARY KEY (store_id, vehicle_model_id, month)
);

-- Order header: one per order_id, derived from its lines at ingestion.
CREATE TABLE orders (
    order_id          VARCHAR PRIMARY KEY,
    store_id          VARCHAR NOT NULL REFERENCES stores (store_id),
    warehouse_id      VARCHAR NOT NULL REFERENCES warehouses (warehouse_id),
    channel           VARCHAR NOT NULL CHECK (channel IN ('store', 'online')),
    ordered_at        TIMESTAMPTZ NOT NULL,
    demand_date       DATE NOT NULL,
    vehicle_model_id  VARCHAR
);

-- Lines carry the landing columns too (denormalised for analytics).
CREATE TABLE order_lines (
    order_id          VARCHAR NOT NULL REFERENCES orders (order_id),
    line_no           INTEGER NOT NULL CHECK (line_no > 0),
    ordered_at        TIMESTAMPTZ NOT NULL,
    demand_date       DATE NOT NULL,
    store_id          VARCHAR NOT NULL,
    warehouse_id      VARCHAR NOT NULL,
    sku               VARCHAR NOT NULL REFERENCES skus (sku),
    quantity          INTEGER NOT NULL CHECK (quantity > 0),
    unit_price        DECIMAL(12, 2) NOT NULL CHECK (unit_price >= 0),
    channel           VARCHAR NOT NULL CHECK (channel IN ('store', 'online')),
    status            VARCHAR NOT NULL CHECK (status IN ('completed', 'cancelled')),
    vehicle_model_id  VARCHAR,
    source_file       VARCHAR NOT NULL,
    loaded_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (order_id, line_no)
);

-- Every status a line has had, in order (seq 1 = as first loaded).
CREATE TABLE order_line_status_history (
    order_id     VARCHAR NOT NULL,
    line_no      INTEGER NOT NULL,
    seq          INTEGER NOT NULL CHECK (seq > 0),
    status       VARCHAR NOT NULL CHECK (status IN ('completed', 'cancelled')),
    recorded_at  TIMESTAMPTZ NOT NULL,
    source_file  VARCHAR NOT NULL,
    PRIMARY KEY (order_id, line_no, seq)
);

-- Returns under the 90-day rule (enforced at ingestion: quarantined otherwise).
CREATE TABLE returns (
    return_id    VARCHAR PRIMARY KEY,
    order_id     VARCHAR NOT NULL,
    line_no      INTEGER NOT NULL,
    store_id     VARCHAR NOT NULL REFERENCES stores (store_id),
    sku          VARCHAR NOT NULL REFERENCES skus (sku),
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    returned_at  TIMESTAMPTZ NOT NULL,
    return_date  DATE NOT NULL,
    reason       VARCHAR NOT NULL CHECK (reason IN (
                     'wrong_fitment', 'unused', 'defective', 'other')),
    source_file  VARCHAR NOT NULL,
    loaded_at    TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (order_id, line_no) REFERENCES order_lines (order_id, line_no)
);

-- Stock history: one row per warehouse, sku and day on which it changed.
-- The level on day d is the row with the greatest as_of <= d.
CREATE TABLE stock_levels (
    warehouse_id  VARCHAR NOT NULL REFERENCES warehouses (warehouse_id),
    sku           VARCHAR NOT NULL REFERENCES skus (sku),
    as_of         DATE NOT NULL,
    on_hand       INTEGER NOT NULL CHECK (on_hand >= 0),
    reserved      INTEGER NOT NULL CHECK (reserved >= 0),
    in_transit    INTEGER NOT NULL CHECK (in_transit >= 0),
    source_file   VARCHAR NOT NULL,
    loaded_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (warehouse_id, sku, as_of)
);

-- Forward warehouse -> store deliveries (the 30-minute promise).
CREATE TABLE deliveries (
    delivery_id    VARCHAR PRIMARY KEY,
    order_id       VARCHAR NOT NULL REFERENCES orders (order_id),
    warehouse_id   VARCHAR NOT NULL REFERENCES warehouses (warehouse_id),
    store_id       VARCHAR NOT NULL REFERENCES stores (store_id),
    rider_id       VARCHAR,
    dispatched_at  TIMESTAMPTZ NOT NULL,
    delivered_at   TIMESTAMPTZ,
    distance_m     INTEGER CHECK (distance_m >= 0),
    CHECK (delivered_at IS NULL OR delivered_at >= dispatched_at)
);

-- Rows that could not be loaded, with the reason. Re-loading the same file
-- does not add them twice (key: file digest + row number).
CREATE SEQUENCE quarantine_seq;
CREATE TABLE quarantine (
    quarantine_id   BIGINT PRIMARY KEY DEFAULT nextval('quarantine_seq'),
    kind            VARCHAR NOT NULL,
    source_file     VARCHAR NOT NULL,
    source_sha256   VARCHAR NOT NULL,
    row_number      BIGINT NOT NULL CHECK (row_number > 0),
    raw             VARCHAR NOT NULL,          -- the row as read, JSON object of strings
    reason          VARCHAR NOT NULL,
    quarantined_at  TIMESTAMPTZ NOT NULL,
    resolved_at     TIMESTAMPTZ,               -- set when --retry-quarantine loads it
    UNIQUE (source_sha256, row_number)
);

-- One row per file ingested (a file is all-or-nothing).
CREATE TABLE ingested_files (
    source_sha256  VARCHAR NOT NULL,
    source_file    VARCHAR NOT NULL,
    kind           VARCHAR NOT NULL,
    encoding       VARCHAR,
    rows_read      BIGINT NOT NULL CHECK (rows_read >= 0),
    loaded         BIGINT NOT NULL CHECK (loaded >= 0),
    unchanged      BIGINT NOT NULL CHECK (unchanged >= 0),
    updated        BIGINT NOT NULL CHECK (updated >= 0),
    quarantined    BIGINT NOT NULL CHECK (quarantined >= 0),
    ingested_at    TIMESTAMPTZ NOT NULL,
    -- `updated` (status changes of known lines) is part of `loaded`.
    CHECK (loaded + unchanged + quarantined = rows_read),
    CHECK (updated <= loaded)
);
