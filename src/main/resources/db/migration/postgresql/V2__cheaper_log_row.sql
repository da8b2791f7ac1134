-- The same schema as SQLite's V2: the (model, ts) index goes (a model filter is served by the ts
-- index or a scan from the newest row). The id stays BIGSERIAL: a sequence costs PostgreSQL little
-- and never goes back.
DROP INDEX IF EXISTS request_log_model_ts;
