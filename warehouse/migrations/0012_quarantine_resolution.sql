-- 0012: quarantined rows resolved by a later load, and rows too large to keep whole
-- (issue 15, item 4).
-- * row_key: the row's key as JSON of its typed values ({"order_id":"O1","line_no":1}),
--   by which a later load of the same key resolves it (a file that arrived cut, then
--   whole). NULL when the key is unreadable, or was loaded already when the row was
--   quarantined (a change that failed, a conflict: they stay for a person to look at).
--   Rows quarantined before this migration have none: --retry-quarantine reads their
--   key from raw and resolves them when the key was loaded after them.
-- * resolution: why resolved_at is set: 'loaded' (the row itself loaded, when its file
--   came again or on --retry-quarantine) or 'superseded by <file> row <n>' (its key was
--   loaded from another file). Rows resolved before this migration were loaded.
-- * raw_bytes: the row's size as read when it was too large to keep (a field over
--   4 KiB, a row over 64 KiB): raw then holds each long field cut to a prefix, marked
--   so. NULL when raw is the whole row.
ALTER TABLE quarantine ADD COLUMN row_key VARCHAR;
ALTER TABLE quarantine ADD COLUMN resolution VARCHAR;
ALTER TABLE quarantine ADD COLUMN raw_bytes BIGINT;
UPDATE quarantine SET resolution = 'loaded' WHERE resolved_at IS NOT NULL;
