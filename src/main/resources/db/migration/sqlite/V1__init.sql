CREATE TABLE request_log (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
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
CREATE INDEX request_log_ts ON request_log (ts);
CREATE INDEX request_log_model_ts ON request_log (model, ts);

CREATE TABLE api_keys (
  id              TEXT PRIMARY KEY,
  name            TEXT NOT NULL,
  key_hash        TEXT NOT NULL UNIQUE,
  key_prefix      TEXT NOT NULL,
  models          TEXT NOT NULL,
  rpm             INTEGER,
  tpm             INTEGER,
  max_concurrency INTEGER,
  priority        TEXT NOT NULL,
  max_tokens      INTEGER,
  created_at      BIGINT NOT NULL,
  revoked_at      BIGINT
);
CREATE UNIQUE INDEX api_keys_live_name ON api_keys (name) WHERE revoked_at IS NULL;
