-- 0007: the second echelon (issue 12): suppliers, how each SKU is bought and
-- moved, and the DC's purchase orders with the transfer orders' workflow.
--
-- skus cannot gain columns (a referenced table cannot be altered in DuckDB), so
-- a SKU's supply terms live beside it in sku_supply, one row per SKU:
-- * case_pack and moq are the supplier's: they round the DC's purchase orders,
--   never a DC -> forward-warehouse transfer (those move units);
-- * sales_multiple is how stores buy the part (tyres in 2s or 4s): levels and
--   transfers at the forward warehouses are multiples of it.
-- A SKU without a row is bought in cases of skus.pack_size, MOQ one case, sold
-- in ones, from no known supplier (no purchase order is proposed for it).
-- skus.lead_time_days keeps its name: days beyond the overnight DC -> forward
-- warehouse hop. The supplier's delay is suppliers.lead_time_days.

CREATE TABLE suppliers (
    supplier_id       VARCHAR PRIMARY KEY,
    name              VARCHAR NOT NULL,
    lead_time_days    INTEGER NOT NULL CHECK (lead_time_days BETWEEN 1 AND 180),
    -- The DC orders from this supplier every order_cycle_days (its review period).
    order_cycle_days  INTEGER NOT NULL CHECK (order_cycle_days BETWEEN 1 AND 90)
);

CREATE TABLE sku_supply (
    sku             VARCHAR PRIMARY KEY REFERENCES skus (sku),
    supplier_id     VARCHAR NOT NULL REFERENCES suppliers (supplier_id),
    case_pack       INTEGER NOT NULL CHECK (case_pack > 0),
    moq             INTEGER NOT NULL CHECK (moq > 0),
    sales_multiple  INTEGER NOT NULL CHECK (sales_multiple > 0)
);

-- The DC's orders to its suppliers: proposed by the nightly run, then the
-- workflow of transfer orders (proposed -> approved / overridden -> released,
-- or cancelled), every step in the history. A new night cancels the open
-- proposals of earlier nights.
CREATE TABLE purchase_orders (
    po_id            VARCHAR PRIMARY KEY,
    run_id           VARCHAR REFERENCES runs (run_id),
    supplier_id      VARCHAR NOT NULL REFERENCES suppliers (supplier_id),
    dc_id            VARCHAR NOT NULL REFERENCES warehouses (warehouse_id),
    created_at       TIMESTAMPTZ NOT NULL,
    -- The day the goods are due at the DC: the order day + the supplier's lead time.
    expected_on      DATE NOT NULL,
    status           VARCHAR NOT NULL CHECK (status IN (
                         'proposed', 'approved', 'overridden', 'released', 'cancelled')),
    status_reason    VARCHAR
);

CREATE TABLE purchase_order_lines (
    po_id               VARCHAR NOT NULL REFERENCES purchase_orders (po_id),
    line_no             INTEGER NOT NULL CHECK (line_no > 0),
    sku                 VARCHAR NOT NULL REFERENCES skus (sku),
    proposed_quantity   INTEGER NOT NULL CHECK (proposed_quantity > 0),
    quantity            INTEGER NOT NULL CHECK (quantity >= 0),
    unit_cost           DECIMAL(12, 2) NOT NULL CHECK (unit_cost >= 0),
    reason              VARCHAR NOT NULL,
    PRIMARY KEY (po_id, line_no)
);

CREATE TABLE purchase_order_status_history (
    po_id       VARCHAR NOT NULL REFERENCES purchase_orders (po_id),
    seq         INTEGER NOT NULL CHECK (seq > 0),
    status      VARCHAR NOT NULL CHECK (status IN (
                    'proposed', 'approved', 'overridden', 'released', 'cancelled')),
    reason      VARCHAR,
    changed_by  VARCHAR NOT NULL,
    changed_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (po_id, seq)
);

-- Planners' stocking decisions that beat the nightly's range rule: stock a
-- series the rule leaves at the DC (a pin), or keep one out.
CREATE TABLE stocking_overrides (
    warehouse_id  VARCHAR NOT NULL REFERENCES warehouses (warehouse_id),
    sku           VARCHAR NOT NULL REFERENCES skus (sku),
    stock         BOOLEAN NOT NULL,
    reason        VARCHAR NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    updated_by    VARCHAR NOT NULL,
    PRIMARY KEY (warehouse_id, sku)
);
