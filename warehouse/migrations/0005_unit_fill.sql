-- 0005: a planner's target can be a unit fill rate of a group of series (issue 4).
--
-- service_targets.kind and replenishment_plan.target_kind accept 'unit_fill':
-- the expected unit fill rate of the whole group a target row covers, per
-- forward warehouse (optimization/service.py, ServiceTarget). DuckDB cannot
-- change a CHECK with ALTER, so both tables are rebuilt with every row and
-- column kept (as 0004 did). Neither is referenced by a foreign key, so each
-- can be dropped and its copy renamed.

CREATE TABLE service_targets_v5 (
    scope       VARCHAR NOT NULL CHECK (scope IN ('sku', 'category')),
    key         VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL CHECK (kind IN ('fill_rate', 'cycle_service', 'unit_fill')),
    level       DOUBLE NOT NULL CHECK (level > 0 AND level < 1),
    updated_at  TIMESTAMPTZ NOT NULL,
    updated_by  VARCHAR NOT NULL,
    PRIMARY KEY (scope, key)
);
INSERT INTO service_targets_v5 BY NAME SELECT * FROM service_targets;
DROP TABLE service_targets;
ALTER TABLE service_targets_v5 RENAME TO service_targets;

CREATE TABLE replenishment_plan_v5 (
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
    target_kind             VARCHAR NOT NULL CHECK (target_kind IN (
                                'fill_rate', 'cycle_service', 'unit_fill')),
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
INSERT INTO replenishment_plan_v5 BY NAME SELECT * FROM replenishment_plan;
DROP TABLE replenishment_plan;
ALTER TABLE replenishment_plan_v5 RENAME TO replenishment_plan;

-- The nightly what-if replay also runs the unit_fill kind (policy 'nb1_unit_fill').
CREATE TABLE policy_replays_v5 (
    run_id               VARCHAR NOT NULL REFERENCES runs (run_id),
    warehouse_id         VARCHAR NOT NULL,
    policy               VARCHAR NOT NULL CHECK (policy IN (
                             'nb1_fill_rate', 'nb1_cycle_service', 'nb1_unit_fill',
                             'normal_fill_rate', 'min_max')),
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
INSERT INTO policy_replays_v5 BY NAME SELECT * FROM policy_replays;
DROP TABLE policy_replays;
ALTER TABLE policy_replays_v5 RENAME TO policy_replays;
