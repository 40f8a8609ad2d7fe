/**
 * Numbered SQLite migrations. A shipped migration is never edited: add the next number instead.
 * Times are epoch milliseconds (INTEGER); JSON is TEXT.
 */
import type { Migration } from '../migration.js';

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
CREATE TABLE tasks (
  id              TEXT PRIMARY KEY,
  namespace       TEXT NOT NULL,
  name            TEXT NOT NULL,
  version         TEXT NOT NULL,
  status          TEXT NOT NULL,
  context         TEXT NOT NULL,
  correlation_id  TEXT NOT NULL,
  idempotency_key TEXT,
  tags            TEXT NOT NULL DEFAULT '[]',
  business        TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  started_at      INTEGER,
  finished_at     INTEGER
);
-- Task ids are UUIDv7 (time-ordered), so "newest first" is id order: the primary key serves the unfiltered
-- listing and each filter index ends in id for keyset pagination.
CREATE UNIQUE INDEX tasks_idempotency ON tasks (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX tasks_status ON tasks (status, id);
CREATE INDEX tasks_template ON tasks (namespace, name, id);
CREATE INDEX tasks_correlation ON tasks (correlation_id, id);

CREATE TABLE task_tags (
  task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  tag     TEXT NOT NULL,
  PRIMARY KEY (tag, task_id)
) WITHOUT ROWID;

CREATE TABLE steps (
  id               INTEGER PRIMARY KEY,
  task_id          TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  name             TEXT NOT NULL,
  position         INTEGER NOT NULL,
  handler          TEXT NOT NULL,
  status           TEXT NOT NULL,
  depends_on       TEXT NOT NULL,
  attempts         INTEGER NOT NULL DEFAULT 0,
  attempt_limit    INTEGER NOT NULL,
  retry            TEXT NOT NULL,
  timeout_ms       INTEGER,
  handler_config   TEXT NOT NULL,
  ready_at         INTEGER,
  lease_owner      TEXT,
  lease_expires_at INTEGER,
  started_at       INTEGER,
  finished_at      INTEGER,
  results          TEXT,
  error_message    TEXT,
  error_type       TEXT,
  UNIQUE (task_id, name)
);
-- The claim query: ready steps in ready order. Partial, so it only holds claimable rows.
CREATE INDEX steps_ready ON steps (ready_at) WHERE ready_at IS NOT NULL;
-- Lease recovery: in-flight attempts by lease expiry.
CREATE INDEX steps_lease ON steps (lease_expires_at) WHERE lease_expires_at IS NOT NULL;

-- Clustered by task: one B-tree serves both the insert and "all attempts of a task".
CREATE TABLE step_attempts (
  task_id       TEXT NOT NULL,
  step_id       INTEGER NOT NULL REFERENCES steps (id) ON DELETE CASCADE,
  attempt       INTEGER NOT NULL,
  step_name     TEXT NOT NULL,
  started_at    INTEGER NOT NULL,
  finished_at   INTEGER NOT NULL,
  duration_ms   INTEGER NOT NULL,
  outcome       TEXT NOT NULL,
  error_message TEXT,
  error_type    TEXT,
  worker_id     TEXT,
  PRIMARY KEY (task_id, step_id, attempt)
) WITHOUT ROWID;

CREATE TABLE transitions (
  id         INTEGER PRIMARY KEY,
  task_id    TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  step_name  TEXT,
  from_state TEXT,
  to_state   TEXT NOT NULL,
  at         INTEGER NOT NULL,
  attempt    INTEGER,
  reason     TEXT,
  error_type TEXT
);
CREATE INDEX transitions_task ON transitions (task_id, id);
`,
  },
  {
    version: 2,
    name: 'task_list_indexes',
    // The API's filtered lists: status with namespace (and name), newest first. Without these the planner
    // (which has no statistics on a young database) walked the template index through every task of the
    // template to find the few failed ones: p99 7 s under load at 100k tasks (npm run bench:api).
    sql: `
CREATE INDEX tasks_template_status ON tasks (namespace, name, status, id);
CREATE INDEX tasks_namespace_status ON tasks (namespace, status, id);
`,
  },
  {
    version: 3,
    name: 'telemetry',
    // traceparent: the W3C trace context a task was created under, so its steps join that trace in any
    // process. tasks_active: the tasks_in_progress gauge counts running tasks at every scrape; the partial
    // index keeps that proportional to the running tasks, not to the table.
    sql: `
ALTER TABLE tasks ADD COLUMN traceparent TEXT;
CREATE INDEX tasks_active ON tasks (namespace, name) WHERE status = 'in_progress';
`,
  },
  {
    version: 4,
    name: 'console',
    // workers: the registry of worker processes (one row each, upserted at start, every heartbeat and at a
    // clean stop), so any process can say which workers are live and which handlers they have. queued_at:
    // when the current (steps) or a finished (step_attempts) attempt became claimable, so a timeline can
    // tell queue wait from retry backoff.
    sql: `
CREATE TABLE workers (
  id           TEXT PRIMARY KEY,
  host         TEXT NOT NULL,
  pid          INTEGER NOT NULL,
  version      TEXT NOT NULL,
  started_at   INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  stopped_at   INTEGER,
  concurrency  INTEGER NOT NULL,
  in_flight    INTEGER NOT NULL DEFAULT 0,
  handlers     TEXT NOT NULL
);
ALTER TABLE steps ADD COLUMN queued_at INTEGER;
ALTER TABLE step_attempts ADD COLUMN queued_at INTEGER;
`,
  },
  {
    version: 5,
    name: 'triage',
    // business_value/business_customer: a task's value and customer as its template's business fields read
    // them at creation, so failure groups sum money and count customers in SQL. error_signature: a failing
    // attempt's message normalised (core/failure-signature.ts); error_fingerprint: its group (template, step,
    // error type, signature hashed: core/failure-groups.ts), the one short GROUP BY key of failure groups.
    // Only failing attempts have a fingerprint, and both partial indexes hold those only, so a window's
    // failures are a short range however many attempts succeed. Each covers its query: the first the
    // window's count of every group, the second one group's newest failures, sparkline and workers. audit_log (+ audit_tasks to find a task's entries) is append-only. bulk_jobs and
    // bulk_job_tasks: a bulk action's plan, written before it runs; each task's row is marked done in the
    // transaction that acts on the task, so a job resumed after a crash never acts on a task twice.
    sql: `
ALTER TABLE tasks ADD COLUMN business_value REAL;
ALTER TABLE tasks ADD COLUMN business_customer TEXT;
ALTER TABLE step_attempts ADD COLUMN error_signature TEXT;
ALTER TABLE step_attempts ADD COLUMN error_fingerprint TEXT;
CREATE INDEX step_attempts_failing ON step_attempts (finished_at, error_fingerprint, task_id)
  WHERE error_fingerprint IS NOT NULL;
CREATE INDEX step_attempts_failure_group ON step_attempts (error_fingerprint, finished_at, worker_id)
  WHERE error_fingerprint IS NOT NULL;
CREATE TABLE audit_log (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  at         INTEGER NOT NULL,
  actor      TEXT NOT NULL,
  action     TEXT NOT NULL,
  outcome    TEXT NOT NULL,
  reason     TEXT,
  namespace  TEXT,
  task_ids   TEXT NOT NULL,
  task_count INTEGER NOT NULL,
  filter     TEXT,
  job_id     TEXT,
  detail     TEXT
);
CREATE TABLE audit_tasks (
  task_id  TEXT NOT NULL,
  audit_id INTEGER NOT NULL,
  PRIMARY KEY (task_id, audit_id)
) WITHOUT ROWID;
CREATE TABLE bulk_jobs (
  id               TEXT PRIMARY KEY,
  action           TEXT NOT NULL,
  status           TEXT NOT NULL,
  actor            TEXT NOT NULL,
  reason           TEXT NOT NULL,
  filter           TEXT NOT NULL,
  step             TEXT,
  results          TEXT,
  namespaces       TEXT,
  max_tasks        INTEGER NOT NULL,
  rate_per_second  REAL NOT NULL,
  created_at       INTEGER NOT NULL,
  finished_at      INTEGER,
  lease_owner      TEXT,
  lease_expires_at INTEGER
);
CREATE INDEX bulk_jobs_running ON bulk_jobs (created_at) WHERE status = 'running';
CREATE TABLE bulk_job_tasks (
  job_id   TEXT NOT NULL REFERENCES bulk_jobs (id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  task_id  TEXT NOT NULL,
  status   TEXT NOT NULL,
  message  TEXT,
  at       INTEGER,
  PRIMARY KEY (job_id, position)
) WITHOUT ROWID;
CREATE UNIQUE INDEX bulk_job_tasks_task ON bulk_job_tasks (job_id, task_id);
`,
  },
  {
    version: 6,
    name: 'transition_log',
    // See the PostgreSQL migration of the same name: one row per write per task. Copied rows keep their
    // ids, and new ids are assigned above the largest, so a task's history stays in order across the move.
    sql: `
CREATE TABLE transition_log (
  id      INTEGER PRIMARY KEY,
  task_id TEXT NOT NULL,
  entries TEXT NOT NULL
);
INSERT INTO transition_log (id, task_id, entries)
  SELECT id, task_id, json_array(json_array(step_name, from_state, to_state, at, attempt, reason, error_type))
  FROM transitions;
CREATE INDEX transition_log_task ON transition_log (task_id, id);
DROP TABLE transitions;
`,
  },
  {
    version: 7,
    name: 'retention',
    // Pruning deletes a task's rows by task id, and audit entries' task links by entry: these are the two
    // tables where that was not an index range (their keys start with the tag and the task). See the
    // PostgreSQL migration of the same name for template_retention.
    sql: `
CREATE INDEX task_tags_task ON task_tags (task_id);
CREATE INDEX audit_tasks_audit ON audit_tasks (audit_id);
CREATE TABLE template_retention (
  namespace  TEXT NOT NULL,
  name       TEXT NOT NULL,
  version    TEXT NOT NULL,
  retention  TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, name)
);
`,
  },
  {
    version: 8,
    name: 'business_dimensions',
    // The region and tier a task's business fields read from its context at creation, beside its value and
    // customer (migration 5), so the business-impact report groups a window's failed tasks in SQL. Tasks
    // created before this migration have neither: the report counts them under "unknown".
    sql: `
ALTER TABLE tasks ADD COLUMN business_region TEXT;
ALTER TABLE tasks ADD COLUMN business_tier TEXT;
`,
  },
];

export const LATEST_SQLITE_VERSION = SQLITE_MIGRATIONS.reduce((m, x) => Math.max(m, x.version), 0);
