-- 0004: the service-driven plan, DC allocation, planner targets and the
-- transfer-order workflow (issue 4).
--
-- replenishment_plan is rebuilt (a new CHECK cannot be added with ALTER): every
-- column of 0002 keeps its name and meaning (service_target is the target's
-- level, of the kind in target_kind); the new columns explain the proposal and
-- the allocation. Rows of older runs get the values the old Poisson
-- cycle-service plan implied.

CREATE TABLE replenishment_plan_v4 (
    run_id                  VARCHAR NOT NULL REFERENCES runs (run_id),
    warehouse_id            VARCHAR NOT NULL,
    sku                     VARCHAR NOT NULL,
    as_of                   DATE NOT NULL,
    category                VARCHAR NOT NULL,
    action                  VARCHAR NOT NULL CHECK (action IN (
                                'replenish', 'pull_back', 'hold', 'do_not_stock')),
    on_hand                 INTEGER NOT NULL CHECK (on_hand >= 0),
    reserved                INTEGER NOT NULL CHECK (reserved >= 0),
    in_transit              INTEGER NOT NULL CHECK (in_transit >= 0),
    committed               INTEGER NOT NULL CHECK (committed >= 0),
    inventory_position      INTEGER NOT NULL,
    lead_time_days          INTEGER NOT NULL CHECK (lead_time_days >= 0),
    protection_days         INTEGER NOT NULL CHECK (protection_days > 0),
    rate                    DOUBLE NOT NULL CHECK (rate >= 0),
    dispersion              DOUBLE NOT NULL CHECK (dispersion >= 1),
    forecast_mean           DOUBLE NOT NULL CHECK (forecast_mean >= 0),
    target_kind             VARCHAR NOT NULL CHECK (target_kind IN ('fill_rate', 'cycle_service')),
    service_target          DOUBLE NOT NULL CHECK (service_target > 0 AND service_target < 1),
    order_up_to             INTEGER NOT NULL CHECK (order_up_to >= 0),
    expected_fill_rate      DOUBLE NOT NULL,
    expected_cycle_service  DOUBLE NOT NULL,
    raw_need                INTEGER NOT NULL CHECK (raw_need >= 0),
    pack_size               INTEGER NOT NULL CHECK (pack_size > 0),
    moq                     INTEGER NOT NULL CHECK (moq > 0),
    proposed_quantity       INTEGER NOT NULL CHECK (proposed_quantity >= 0),
    rounding                VARCHAR NOT NULL CHECK (rounding IN ('none', 'pack', 'moq')),
    idle_days               INTEGER,
    pull_back_quantity      INTEGER NOT NULL CHECK (pull_back_quantity >= 0),
    unit_volume_l           DOUBLE NOT NULL CHECK (unit_volume_l >= 0),
    unit_cost               DOUBLE NOT NULL CHECK (unit_cost >= 0),
    weight                  DOUBLE NOT NULL CHECK (weight >= 0),
    allocated_quantity      INTEGER NOT NULL CHECK (allocated_quantity >= 0),
    cut_by                  VARCHAR NOT NULL,
    decision                VARCHAR NOT NULL,
    solver_status           VARCHAR NOT NULL,
    reason                  VARCHAR NOT NULL,
    PRIMARY KEY (run_id, warehouse_id, sku),
    CHECK (allocated_quantity <= proposed_quantity)
);

INSERT INTO replenishment_plan_v4
SELECT p.run_id, p.warehouse_id, p.sku, p.as_of,
       coalesce(s.category, ''), CASE WHEN p.proposed_quantity > 0 THEN 'replenish' ELSE 'hold' END,
       p.on_hand, p.reserved, p.in_transit, 0, p.inventory_position,
       p.protection_days - 1, p.protection_days, p.forecast_mean / p.protection_days, 1.0,
       p.forecast_mean, 'cycle_service', p.service_target, p.order_up_to, 0.0, 0.0,
       p.raw_need, p.pack_size, 1, p.proposed_quantity,
       CASE WHEN p.proposed_quantity = p.raw_need THEN 'none' ELSE 'pack' END,
       NULL, 0, coalesce(s.unit_volume_l, 0), coalesce(s.unit_cost, 0), 1.0,
       p.proposed_quantity, 'none', 'planned before DC allocation existed', 'not allocated',
       p.reason
FROM replenishment_plan p LEFT JOIN skus s USING (sku);

DROP TABLE replenishment_plan;
ALTER TABLE replenishment_plan_v4 RENAME TO replenishment_plan;

-- What the DC allocation did per run and DC: the size of the problem and how it ended.
CREATE TABLE allocation_runs (
    run_id          VARCHAR NOT NULL REFERENCES runs (run_id),
    dc_id           VARCHAR NOT NULL,
    status          VARCHAR NOT NULL CHECK (status IN (
                        'uncontested', 'optimal', 'optimal_greedy', 'too_large_greedy',
                        'too_large_fair_share', 'time_limit_incumbent', 'time_limit_greedy',
                        'time_limit_fair_share', 'fair_share')),
    lines           INTEGER NOT NULL CHECK (lines >= 0),
    contested       INTEGER NOT NULL CHECK (contested >= 0),
    variables       INTEGER NOT NULL CHECK (variables >= 0),
    constraints     INTEGER NOT NULL CHECK (constraints >= 0),
    units_proposed  BIGINT NOT NULL CHECK (units_proposed >= 0),
    units_allocated BIGINT NOT NULL CHECK (units_allocated >= 0),
    objective       DOUBLE NOT NULL,
    proposed_value  DOUBLE NOT NULL,
    upper_bound     DOUBLE,          -- no allocation could serve more (NULL: unknown)
    solve_seconds   DOUBLE NOT NULL CHECK (solve_seconds >= 0),
    PRIMARY KEY (run_id, dc_id)
);

-- Tonight's what-if per warehouse: the last weeks replayed under each policy and
-- setting (optimization/replay.py), the points of the service-vs-inventory frontier.
CREATE TABLE policy_replays (
    run_id               VARCHAR NOT NULL REFERENCES runs (run_id),
    warehouse_id         VARCHAR NOT NULL,
    policy               VARCHAR NOT NULL CHECK (policy IN (
                             'nb1_fill_rate', 'nb1_cycle_service', 'normal_fill_rate', 'min_max')),
    setting              DOUBLE NOT NULL,   -- the target level, or the min/max cover
    days                 INTEGER NOT NULL CHECK (days > 0),
    series               INTEGER NOT NULL CHECK (series >= 0),
    sampled              INTEGER NOT NULL CHECK (sampled >= 0 AND sampled <= series),
    demand               BIGINT NOT NULL CHECK (demand >= 0),
    served               BIGINT NOT NULL CHECK (served >= 0 AND served <= demand),
    fill_rate            DOUBLE NOT NULL,
    item_fill_rate       DOUBLE NOT NULL,
    cycle_service        DOUBLE NOT NULL,
    stockout_days        BIGINT NOT NULL CHECK (stockout_days >= 0),
    avg_inventory_value  DOUBLE NOT NULL,
    turns                DOUBLE NOT NULL,
    dead_stock_value     DOUBLE NOT NULL,
    PRIMARY KEY (run_id, warehouse_id, policy, setting)
);

-- Which forward warehouse can serve each store within 5 km and 30 minutes at the
-- busy hour (optimization/coverage.py), checked every night.
CREATE TABLE store_coverage (
    run_id                VARCHAR NOT NULL REFERENCES runs (run_id),
    store_id              VARCHAR NOT NULL,
    warehouse_id          VARCHAR NOT NULL,
    distance_m            INTEGER NOT NULL CHECK (distance_m >= 0),
    reach_s               INTEGER NOT NULL CHECK (reach_s >= 0),
    within_distance       BOOLEAN NOT NULL,
    within_time           BOOLEAN NOT NULL,
    nearest_warehouse_id  VARCHAR,
    nearest_distance_m    INTEGER,
    covering_warehouses   INTEGER NOT NULL CHECK (covering_warehouses >= 0),
    ok                    BOOLEAN NOT NULL,
    issues                VARCHAR,
    PRIMARY KEY (run_id, store_id)
);

-- A day of store deliveries replayed per warehouse and dispatcher (optimization/daysim.py).
CREATE TABLE dispatch_kpis (
    run_id            VARCHAR NOT NULL REFERENCES runs (run_id),
    warehouse_id      VARCHAR NOT NULL,
    dispatcher        VARCHAR NOT NULL CHECK (dispatcher IN ('rolling', 'naive')),
    day               DATE NOT NULL,
    orders            INTEGER NOT NULL CHECK (orders >= 0),
    on_time           INTEGER NOT NULL CHECK (on_time >= 0 AND on_time <= orders),
    on_time_rate      DOUBLE NOT NULL,
    delivery_p50_min  DOUBLE,
    delivery_p90_min  DOUBLE,
    delivery_p99_min  DOUBLE,
    riders            INTEGER NOT NULL CHECK (riders >= 0),
    riders_used       INTEGER NOT NULL CHECK (riders_used >= 0),
    trips             INTEGER NOT NULL CHECK (trips >= 0),
    orders_per_trip   DOUBLE,
    rider_hours       DOUBLE NOT NULL,
    busy_hours        DOUBLE NOT NULL,
    utilisation       DOUBLE,
    km                DOUBLE NOT NULL,
    ticks             INTEGER NOT NULL,
    tick_solve_p50_s  DOUBLE,
    tick_solve_p99_s  DOUBLE,
    fleet_sized       BOOLEAN NOT NULL,   -- riders = the smallest fleet keeping 99 % on time
    PRIMARY KEY (run_id, warehouse_id, dispatcher, day)
);

-- Planner targets: a sku row beats its category's row; neither: the run's default.
CREATE TABLE service_targets (
    scope       VARCHAR NOT NULL CHECK (scope IN ('sku', 'category')),
    key         VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL CHECK (kind IN ('fill_rate', 'cycle_service')),
    level       DOUBLE NOT NULL CHECK (level > 0 AND level < 1),
    updated_at  TIMESTAMPTZ NOT NULL,
    updated_by  VARCHAR NOT NULL,
    PRIMARY KEY (scope, key)
);

-- transfer_orders is rebuilt without its table CHECK (from <> to): with it,
-- DuckDB 2.0 refuses any UPDATE of an order that has lines ("still referenced
-- by a foreign key"), so the status workflow could not work. The planner code
-- (optimization/planning.py) never builds an order from a warehouse to itself,
-- and warehouse/transfers.py refuses one. transfer_order_lines gains
-- allocated_quantity: what the allocation gave, kept when a planner overrides
-- `quantity`. A referenced table cannot be renamed, so the rebuild goes
-- through temporary copies.
CREATE TEMP TABLE old_transfer_orders AS SELECT * FROM transfer_orders;
CREATE TEMP TABLE old_transfer_order_lines AS SELECT * FROM transfer_order_lines;
DROP TABLE transfer_order_lines;
DROP TABLE transfer_orders;

CREATE TABLE transfer_orders (
    transfer_id        VARCHAR PRIMARY KEY,
    run_id             VARCHAR REFERENCES runs (run_id),
    from_warehouse_id  VARCHAR NOT NULL REFERENCES warehouses (warehouse_id),
    to_warehouse_id    VARCHAR NOT NULL REFERENCES warehouses (warehouse_id),
    created_at         TIMESTAMPTZ NOT NULL,
    needed_by          DATE NOT NULL,
    status             VARCHAR NOT NULL CHECK (status IN (
                           'proposed', 'approved', 'overridden', 'released', 'cancelled')),
    status_reason      VARCHAR
);
INSERT INTO transfer_orders SELECT * FROM old_transfer_orders;

CREATE TABLE transfer_order_lines (
    transfer_id         VARCHAR NOT NULL REFERENCES transfer_orders (transfer_id),
    line_no             INTEGER NOT NULL CHECK (line_no > 0),
    sku                 VARCHAR NOT NULL REFERENCES skus (sku),
    proposed_quantity   INTEGER NOT NULL CHECK (proposed_quantity >= 0),
    quantity            INTEGER NOT NULL CHECK (quantity >= 0),
    reason              VARCHAR,
    allocated_quantity  INTEGER CHECK (allocated_quantity >= 0),
    PRIMARY KEY (transfer_id, line_no)
);
INSERT INTO transfer_order_lines BY NAME SELECT * FROM old_transfer_order_lines;
DROP TABLE old_transfer_orders;
DROP TABLE old_transfer_order_lines;

-- Every status a transfer order has had (seq 1 = proposed by the nightly run).
CREATE TABLE transfer_order_status_history (
    transfer_id  VARCHAR NOT NULL REFERENCES transfer_orders (transfer_id),
    seq          INTEGER NOT NULL CHECK (seq > 0),
    status       VARCHAR NOT NULL CHECK (status IN (
                     'proposed', 'approved', 'overridden', 'released', 'cancelled')),
    reason       VARCHAR,
    changed_by   VARCHAR NOT NULL,
    changed_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (transfer_id, seq)
);
