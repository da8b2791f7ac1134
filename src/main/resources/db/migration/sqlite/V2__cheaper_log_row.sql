-- Each row of the request log cost the writer thread about 4.4 µs of CPU in a micro-benchmark
-- (bench/probes/RowCostBench.java; 5.0 µs per request at saturation), and every µs of it is taken
-- from the core that proxies. Two parts of that bought little:
--   * the (model, ts) index (~0.8 µs a row): a model filter is served by the ts index when it has
--     a time range, and otherwise by a scan back from the newest row;
--   * AUTOINCREMENT (~0.5 µs a row: it rewrites sqlite_sequence in every insert). A plain INTEGER
--     PRIMARY KEY takes max(id) + 1, so ids only go back if the newest row is deleted; pruning
--     now always keeps the newest row (RequestLog.pruneOlderThan), so cursors stay valid.
--     Ids continue from the highest id the log holds when this runs (a log that the first schema's
--     pruning had emptied starts again at 1).
-- SQLite cannot drop AUTOINCREMENT in place: the table is rebuilt with the same columns and ids.
CREATE TABLE request_log_v2 (
  id                INTEGER PRIMARY KEY,
  request_id        TEXT    NOT NULL,
  ts                BIGINT  NOT NULL,
  key_id            TEXT,
  endpoint          TEXT,
  model             TEXT,
  provider          TEXT,
  deployment        TEXT,
  status            INTEGER NOT NULL,
  outcome           TEXT    NOT NULL,
  error_type        TEXT,
  error_message     TEXT,
  latency_ms        DOUBLE PRECISION NOT NULL,
  first_token_ms    DOUBLE PRECISION,
  attempts          INTEGER NOT NULL,
  route             TEXT,
  hedged            INTEGER NOT NULL DEFAULT 0,
  stream            INTEGER NOT NULL DEFAULT 0,
  cache             TEXT,
  prompt_tokens     INTEGER,
  completion_tokens INTEGER,
  deadline_ms       DOUBLE PRECISION,
  priority          TEXT,
  overhead_ms       DOUBLE PRECISION
);
INSERT INTO request_log_v2 (id, request_id, ts, key_id, endpoint, model, provider, deployment, status, outcome,
    error_type, error_message, latency_ms, first_token_ms, attempts, route, hedged, stream, cache, prompt_tokens,
    completion_tokens, deadline_ms, priority, overhead_ms)
  SELECT id, request_id, ts, key_id, endpoint, model, provider, deployment, status, outcome,
    error_type, error_message, latency_ms, first_token_ms, attempts, route, hedged, stream, cache, prompt_tokens,
    completion_tokens, deadline_ms, priority, overhead_ms
  FROM request_log;
DROP TABLE request_log;
ALTER TABLE request_log_v2 RENAME TO request_log;
CREATE INDEX request_log_ts ON request_log (ts);
