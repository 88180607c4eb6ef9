-- 0003: what the forecasting engine keeps between nights, and its accuracy.
--
-- forecast_selection / forecast_calibration hold the CURRENT model choice
-- (re-selected weekly per series, see models/selection.py); the run that last
-- chose a series is recorded. forecast_accuracy holds each run's backtest
-- accuracy, per series and aggregated, for the dashboard.

CREATE TABLE forecast_selection (
    unique_id         VARCHAR PRIMARY KEY,
    warehouse_id      VARCHAR NOT NULL,
    sku               VARCHAR NOT NULL,
    class             VARCHAR NOT NULL,
    peer_group        VARCHAR NOT NULL,
    model             VARCHAR NOT NULL,
    score             DOUBLE,
    selected_through  DATE NOT NULL,
    run_id            VARCHAR NOT NULL REFERENCES runs (run_id)
);

-- Calibration is estimated per forward warehouse (one engine chunk each).
CREATE TABLE forecast_calibration (
    warehouse_id  VARCHAR NOT NULL,
    class       VARCHAR NOT NULL,
    model       VARCHAR NOT NULL,
    level       INTEGER NOT NULL CHECK (level > 0 AND level < 100),
    scale       DOUBLE NOT NULL CHECK (scale > 0),
    level_used  DOUBLE NOT NULL CHECK (level_used > 0 AND level_used < 100),
    run_id      VARCHAR NOT NULL REFERENCES runs (run_id),
    PRIMARY KEY (warehouse_id, class, model, level)
);

-- scope: 'series' (key = unique_id), 'warehouse', 'category', 'class', 'network'.
CREATE TABLE forecast_accuracy (
    run_id          VARCHAR NOT NULL REFERENCES runs (run_id),
    scope           VARCHAR NOT NULL CHECK (scope IN (
                        'series', 'warehouse', 'category', 'class', 'network')),
    key             VARCHAR NOT NULL,
    series          BIGINT NOT NULL CHECK (series > 0),
    mase            DOUBLE,
    rmsse           DOUBLE,
    wape            DOUBLE,
    bias            DOUBLE,
    spl             DOUBLE,
    coverage_q50    DOUBLE CHECK (coverage_q50 BETWEEN 0 AND 1),
    coverage_q80    DOUBLE CHECK (coverage_q80 BETWEEN 0 AND 1),
    coverage_q90    DOUBLE CHECK (coverage_q90 BETWEEN 0 AND 1),
    coverage_q95    DOUBLE CHECK (coverage_q95 BETWEEN 0 AND 1),
    coverage_q99    DOUBLE CHECK (coverage_q99 BETWEEN 0 AND 1),
    PRIMARY KEY (run_id, scope, key)
);
