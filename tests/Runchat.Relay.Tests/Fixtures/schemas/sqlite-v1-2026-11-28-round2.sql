-- The schema a relay of 2026-11-28-round2 (commit 224823b) created on an empty sqlite store, verbatim.
CREATE TABLE IF NOT EXISTS runchat_relay_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
id              TEXT    PRIMARY KEY,
route           TEXT    NOT NULL,
job_id          TEXT    NOT NULL,
dedupe_key      TEXT    NOT NULL,
body            BLOB    NOT NULL,
state           TEXT    NOT NULL,
attempts        INTEGER NOT NULL DEFAULT 0,
received_at     INTEGER NOT NULL,
updated_at      INTEGER NOT NULL,
next_attempt_at INTEGER NOT NULL,
last_sent_at    INTEGER NULL,
claimed_by      TEXT    NULL,
lease_until     INTEGER NULL,
last_error      TEXT    NULL,
run_status      TEXT    NULL,
final_reply     TEXT    NULL,
trace_parent    TEXT    NULL,
sender_trace    TEXT    NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS ux_deliveries_route_dedupe ON deliveries (route, dedupe_key);
CREATE INDEX IF NOT EXISTS ix_deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX IF NOT EXISTS ix_deliveries_last_sent ON deliveries (last_sent_at);
INSERT INTO runchat_relay_schema (version) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM runchat_relay_schema);
