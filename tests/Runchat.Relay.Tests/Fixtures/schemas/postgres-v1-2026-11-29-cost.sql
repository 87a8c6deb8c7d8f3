-- The schema a relay of 2026-11-29-cost (commit c353439) created on an empty postgres store, verbatim.
CREATE TABLE IF NOT EXISTS runchat_relay_schema (version integer NOT NULL);
CREATE TABLE IF NOT EXISTS runchat_relay_deliveries (
id              text    PRIMARY KEY,
route           text    NOT NULL,
job_id          text    NOT NULL,
dedupe_key      text    NOT NULL,
body            bytea   NOT NULL,
state           text    NOT NULL,
attempts        integer NOT NULL DEFAULT 0,
received_at     bigint  NOT NULL,
updated_at      bigint  NOT NULL,
next_attempt_at bigint  NOT NULL,
last_sent_at    bigint  NULL,
claimed_by      text    NULL,
lease_until     bigint  NULL,
last_error      text    NULL,
run_status      text    NULL,
final_reply     text    NULL,
trace_parent    text    NULL,
sender_trace    text    NULL,
sender_id       text    NULL,
replayed_at     bigint  NULL,
event_name      text    NULL,
flow_id         text    NULL
);
ALTER TABLE runchat_relay_deliveries ADD COLUMN IF NOT EXISTS sender_id text NULL;
ALTER TABLE runchat_relay_deliveries ADD COLUMN IF NOT EXISTS replayed_at bigint NULL;
ALTER TABLE runchat_relay_deliveries ADD COLUMN IF NOT EXISTS event_name text NULL;
ALTER TABLE runchat_relay_deliveries ADD COLUMN IF NOT EXISTS flow_id text NULL;
CREATE UNIQUE INDEX IF NOT EXISTS ux_runchat_relay_route_dedupe ON runchat_relay_deliveries (route, dedupe_key);
CREATE INDEX IF NOT EXISTS ix_runchat_relay_due ON runchat_relay_deliveries (next_attempt_at, received_at) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS ix_runchat_relay_sending ON runchat_relay_deliveries (lease_until) WHERE state = 'sending';
CREATE INDEX IF NOT EXISTS ix_runchat_relay_claimed ON runchat_relay_deliveries (claimed_by) WHERE claimed_by IS NOT NULL;
CREATE INDEX IF NOT EXISTS ix_runchat_relay_last_sent ON runchat_relay_deliveries (last_sent_at) WHERE last_sent_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS ix_runchat_relay_received ON runchat_relay_deliveries (received_at, id);
CREATE INDEX IF NOT EXISTS ix_runchat_relay_state_received ON runchat_relay_deliveries (state, received_at, id);
CREATE INDEX IF NOT EXISTS ix_runchat_relay_state ON runchat_relay_deliveries (state, received_at);
CREATE TABLE IF NOT EXISTS runchat_relay_starts (second bigint PRIMARY KEY, starts integer NOT NULL);
INSERT INTO runchat_relay_schema (version) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM runchat_relay_schema);
