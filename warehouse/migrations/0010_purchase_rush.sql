-- 0010: rush purchase orders (issue 12). Off a supplier's review day the night
-- orders a SKU whose DC position would not meet the DC's target until the next
-- regular order's goods arrive: a new action 'rush', the days until those goods
-- arrive (gap_days) and the position that would meet the target over them
-- (rush_level). DuckDB cannot alter a CHECK, so the table is rebuilt.

CREATE TABLE purchase_plan_0010 (
    run_id                  VARCHAR NOT NULL REFERENCES runs (run_id),
    dc_id                   VARCHAR NOT NULL,
    sku                     VARCHAR NOT NULL,
    as_of                   DATE NOT NULL,
    action                  VARCHAR NOT NULL CHECK (action IN (
                                'order', 'rush', 'covered', 'not_review_day', 'no_supplier')),
    supplier_id             VARCHAR,
    review_day              BOOLEAN,
    review_on               DATE,
    expected_on             DATE,
    lead_time_days          INTEGER,
    order_cycle_days        INTEGER,
    protection_days         INTEGER,
    gap_days                INTEGER,
    target_kind             VARCHAR,
    target_level            DOUBLE,
    rate                    DOUBLE NOT NULL CHECK (rate >= 0),
    dispersion              DOUBLE,
    protection_mean         DOUBLE,
    order_up_to             INTEGER,
    rush_level              INTEGER,
    expected_fill_rate      DOUBLE,
    expected_cycle_service  DOUBLE,
    on_hand                 INTEGER NOT NULL,
    reserved                INTEGER NOT NULL,
    on_order                INTEGER NOT NULL,
    pull_backs              INTEGER NOT NULL,
    released_out            INTEGER NOT NULL,
    tonight                 INTEGER NOT NULL,
    inventory_position      INTEGER NOT NULL,
    raw_need                INTEGER,
    case_pack               INTEGER,
    moq                     INTEGER,
    quantity                INTEGER NOT NULL CHECK (quantity >= 0),
    rounding                VARCHAR,
    unit_cost               DOUBLE,
    value                   DOUBLE,
    cover_days              DOUBLE,
    reason                  VARCHAR NOT NULL,
    PRIMARY KEY (run_id, dc_id, sku)
);

INSERT INTO purchase_plan_0010 BY NAME SELECT * FROM purchase_plan;
DROP TABLE purchase_plan;
ALTER TABLE purchase_plan_0010 RENAME TO purchase_plan;
