-- 0009: the DC's purchase plan per SKU (issue 12). purchase_orders hold what is
-- ordered; this holds every (DC, SKU) the night looked at, so a planner sees the
-- level, the position and why nothing was ordered (covered, not the supplier's
-- review day, or no supplier known) as well as why something was.

CREATE TABLE purchase_plan (
    run_id                  VARCHAR NOT NULL REFERENCES runs (run_id),
    dc_id                   VARCHAR NOT NULL,
    sku                     VARCHAR NOT NULL,
    as_of                   DATE NOT NULL,
    action                  VARCHAR NOT NULL CHECK (action IN (
                                'order', 'covered', 'not_review_day', 'no_supplier')),
    supplier_id             VARCHAR,
    review_day              BOOLEAN,
    review_on               DATE,
    expected_on             DATE,
    lead_time_days          INTEGER,
    order_cycle_days        INTEGER,
    protection_days         INTEGER,
    target_kind             VARCHAR,
    target_level            DOUBLE,
    rate                    DOUBLE NOT NULL CHECK (rate >= 0),
    dispersion              DOUBLE,
    protection_mean         DOUBLE,
    order_up_to             INTEGER,
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
