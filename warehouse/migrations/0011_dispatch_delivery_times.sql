-- 0011: the dispatch replay's delivery-time distribution (issue 14): how many
-- orders of a warehouse's replayed day each dispatcher delivered in each whole
-- minute, per local (Asia/Shanghai) hour the order was placed, for the
-- dashboard's histogram and busy hours (optimization/delivery/day_replay.py,
-- DELIVERY_TIMES). minutes = the delivery time (as in dispatch_kpis: order to
-- handover done) rounded up, so bucket m holds (m - 1, m] minutes and the
-- buckets up to 30 are exactly the on-time orders; capped at DELIVERY_CAP_MIN
-- (120): the 120 bucket holds every delivery over 119 minutes. At most
-- 24 x 121 rows per run x warehouse x dispatcher x day; only buckets with
-- orders are stored. Runs replayed before this migration have no rows.

CREATE TABLE dispatch_delivery_times (
    run_id        VARCHAR NOT NULL REFERENCES runs (run_id),
    warehouse_id  VARCHAR NOT NULL,
    dispatcher    VARCHAR NOT NULL CHECK (dispatcher IN ('rolling', 'naive')),
    day           DATE NOT NULL,
    hour          INTEGER NOT NULL CHECK (hour BETWEEN 0 AND 23),
    minutes       INTEGER NOT NULL CHECK (minutes >= 0),
    orders        INTEGER NOT NULL CHECK (orders > 0),
    PRIMARY KEY (run_id, warehouse_id, dispatcher, day, hour, minutes)
);
