-- 0008: a plan a planner would sign (issue 12). replenishment_plan is rebuilt
-- (DuckDB cannot change a CHECK with ALTER) with the range decision, the sales
-- multiple transfers move in, the days of cover a proposal leaves and its value:
-- * action gains 'not_stocked' (the range decision keeps the series at the DC);
-- * rounding gains 'multiple' (up to the sales multiple) and 'cover_cap' (held back
--   by the cover cap); 'pack' and 'moq' stay for rows of older runs, which rounded
--   transfers to the supplier's case;
-- * pack_size and moq are now the supplier's case and minimum (they round the DC's
--   purchase orders), kept on the line for reference.
-- Rows of older runs get NULL for what they did not decide (stocked: true, as they
-- stocked every series; sales_multiple: 1).

CREATE TABLE replenishment_plan_v8 (
    run_id                  VARCHAR NOT NULL REFERENCES runs (run_id),
    warehouse_id            VARCHAR NOT NULL,
    sku                     VARCHAR NOT NULL,
    as_of                   DATE NOT NULL,
    category                VARCHAR NOT NULL,
    action                  VARCHAR NOT NULL CHECK (action IN (
                                'replenish', 'pull_back', 'hold', 'do_not_stock',
                                'not_stocked')),
    class                   VARCHAR,
    last_sale               DATE,
    stocked                 BOOLEAN NOT NULL,
    sell_probability        DOUBLE CHECK (sell_probability BETWEEN 0 AND 1),
    stock_threshold         DOUBLE CHECK (stock_threshold BETWEEN 0 AND 1),
    stocking_reason         VARCHAR,
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
    level_before_shelf      INTEGER CHECK (level_before_shelf >= 0),
    order_up_to             INTEGER NOT NULL CHECK (order_up_to >= 0),
    expected_fill_rate      DOUBLE NOT NULL,
    expected_cycle_service  DOUBLE NOT NULL,
    raw_need                INTEGER NOT NULL CHECK (raw_need >= 0),
    pack_size               INTEGER NOT NULL CHECK (pack_size > 0),
    moq                     INTEGER NOT NULL CHECK (moq > 0),
    sales_multiple          INTEGER NOT NULL CHECK (sales_multiple > 0),
    proposed_quantity       INTEGER NOT NULL CHECK (proposed_quantity >= 0),
    rounding                VARCHAR NOT NULL CHECK (rounding IN (
                                'none', 'multiple', 'cover_cap', 'pack', 'moq')),
    cover_days              DOUBLE CHECK (cover_days >= 0),
    proposed_value          DOUBLE CHECK (proposed_value >= 0),
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
INSERT INTO replenishment_plan_v8 BY NAME
SELECT *, true AS stocked, 1 AS sales_multiple FROM replenishment_plan;
DROP TABLE replenishment_plan;
ALTER TABLE replenishment_plan_v8 RENAME TO replenishment_plan;
