-- 0006: forecasts without a primary key or a foreign key.
--
-- The table takes one row per series and day every night (18.5 M rows on the
-- large network). Its PRIMARY KEY (run_id, warehouse_id, sku, ds) made each
-- night's insert 4-5x slower (16-18 s against 3.6 s for 18.5 M synthetic
-- rows, measured on this machine) and the file ~5x larger (the index
-- outweighed the rows), and DuckDB keeps such an index in memory; the
-- foreign key to runs cost another 6 s of a 15 s insert of a real night's
-- rows (one lookup per row). A night writes its forecasts once, in the
-- transaction that finishes its run (warehouse/plan.py), from frames with
-- one row per (series, day) by construction (models/engine.py, tested), and
-- reads them by run_id, which zone maps serve. Rows and CHECKs are kept; the
-- table is not referenced by a foreign key, so it is rebuilt and renamed (as
-- 0004/0005 did).

CREATE TABLE forecasts_v6 (
    run_id        VARCHAR NOT NULL,
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
    q99           DOUBLE CHECK (q99 >= q95)
);
INSERT INTO forecasts_v6 BY NAME SELECT * FROM forecasts ORDER BY run_id, warehouse_id, sku, ds;
DROP TABLE forecasts;
ALTER TABLE forecasts_v6 RENAME TO forecasts;
