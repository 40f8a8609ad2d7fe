/**
 * Numbered PostgreSQL migrations. `{schema}` is replaced by the quoted schema name. A shipped migration
 * is never edited: add the next number instead. Times are epoch milliseconds (bigint), as in SQLite, so
 * both adapters hand the core identical records.
 */
import type { Migration } from '../migration.js';

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
CREATE TABLE {schema}.tasks (
  id              uuid PRIMARY KEY,
  namespace       text NOT NULL,
  name            text NOT NULL,
  version         text NOT NULL,
  status          text NOT NULL,
  context         jsonb NOT NULL,
  correlation_id  text NOT NULL,
  idempotency_key text,
  tags            jsonb NOT NULL DEFAULT '[]',
  business        jsonb,
  created_at      bigint NOT NULL,
  updated_at      bigint NOT NULL,
  started_at      bigint,
  finished_at     bigint
);
CREATE UNIQUE INDEX tasks_idempotency ON {schema}.tasks (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX tasks_status ON {schema}.tasks (status, id);
CREATE INDEX tasks_template ON {schema}.tasks (namespace, name, id);
CREATE INDEX tasks_correlation ON {schema}.tasks (correlation_id, id);

CREATE TABLE {schema}.task_tags (
  tag     text NOT NULL,
  task_id uuid NOT NULL REFERENCES {schema}.tasks (id) ON DELETE CASCADE,
  PRIMARY KEY (tag, task_id)
);

CREATE TABLE {schema}.steps (
  id               bigserial PRIMARY KEY,
  task_id          uuid NOT NULL REFERENCES {schema}.tasks (id) ON DELETE CASCADE,
  name             text NOT NULL,
  position         integer NOT NULL,
  handler          text NOT NULL,
  status           text NOT NULL,
  depends_on       jsonb NOT NULL,
  attempts         integer NOT NULL DEFAULT 0,
  attempt_limit    integer NOT NULL,
  retry            jsonb NOT NULL,
  timeout_ms       integer,
  handler_config   jsonb NOT NULL,
  ready_at         bigint,
  lease_owner      text,
  lease_expires_at bigint,
  started_at       bigint,
  finished_at      bigint,
  results          jsonb,
  error_message    text,
  error_type       text,
  UNIQUE (task_id, name)
);
CREATE INDEX steps_ready ON {schema}.steps (ready_at, id) WHERE ready_at IS NOT NULL;
CREATE INDEX steps_lease ON {schema}.steps (lease_expires_at) WHERE lease_expires_at IS NOT NULL;

CREATE TABLE {schema}.step_attempts (
  task_id       uuid NOT NULL,
  step_id       bigint NOT NULL REFERENCES {schema}.steps (id) ON DELETE CASCADE,
  attempt       integer NOT NULL,
  step_name     text NOT NULL,
  started_at    bigint NOT NULL, finished_at bigint NOT NULL,
  duration_ms   bigint NOT NULL,
  outcome       text NOT NULL,
  error_message text,
  error_type    text,
  worker_id     text,
  PRIMARY KEY (task_id, step_id, attempt)
);

-- Keyed by task first: one B-tree serves both the append and "the audit trail of a task", in order.
CREATE TABLE {schema}.transitions (
  id         bigserial,
  task_id    uuid NOT NULL REFERENCES {schema}.tasks (id) ON DELETE CASCADE,
  step_name  text,
  from_state text,
  to_state   text NOT NULL,
  at         bigint NOT NULL,
  attempt    integer,
  reason     text,
  error_type text,
  PRIMARY KEY (task_id, id)
);
`,
  },
  {
    version: 2,
    name: 'task_revision',
    // revision: bumped by every write to a task or its steps (all made under the task's row lock), so a
    // process can prove its cached snapshot of the task current by reading one integer under that lock.
    // Transitions and attempts lose their foreign keys: they are append-only, written only in the
    // transaction that holds their task's row lock, and the per-row trigger calls cost a fifth of a cycle.
    sql: `
ALTER TABLE {schema}.tasks ADD COLUMN revision bigint NOT NULL DEFAULT 0;
ALTER TABLE {schema}.transitions DROP CONSTRAINT IF EXISTS transitions_task_id_fkey;
ALTER TABLE {schema}.step_attempts DROP CONSTRAINT IF EXISTS step_attempts_step_id_fkey;
`,
  },
  {
    version: 3,
    name: 'task_list_indexes',
    // The API's filtered lists (status with namespace, and name), newest first, index-backed whatever the
    // statistics say; see the SQLite migration of the same name.
    sql: `
CREATE INDEX tasks_template_status ON {schema}.tasks (namespace, name, status, id);
CREATE INDEX tasks_namespace_status ON {schema}.tasks (namespace, status, id);
`,
  },
  {
    version: 4,
    name: 'telemetry',
    // See the SQLite migration of the same name.
    sql: `
ALTER TABLE {schema}.tasks ADD COLUMN traceparent text;
CREATE INDEX tasks_active ON {schema}.tasks (namespace, name) WHERE status = 'in_progress';
`,
  },
  {
    version: 5,
    name: 'console',
    // See the SQLite migration of the same name.
    sql: `
CREATE TABLE {schema}.workers (
  id           text PRIMARY KEY,
  host         text NOT NULL,
  pid          integer NOT NULL,
  version      text NOT NULL,
  started_at   bigint NOT NULL,
  heartbeat_at bigint NOT NULL,
  expires_at   bigint NOT NULL,
  stopped_at   bigint,
  concurrency  integer NOT NULL,
  in_flight    integer NOT NULL DEFAULT 0,
  handlers     jsonb NOT NULL
);
ALTER TABLE {schema}.steps ADD COLUMN queued_at bigint;
ALTER TABLE {schema}.step_attempts ADD COLUMN queued_at bigint;
`,
  },
  {
    version: 6,
    name: 'triage',
    // See the SQLite migration of the same name.
    sql: `
ALTER TABLE {schema}.tasks ADD COLUMN business_value double precision;
ALTER TABLE {schema}.tasks ADD COLUMN business_customer text;
ALTER TABLE {schema}.step_attempts ADD COLUMN error_signature text;
ALTER TABLE {schema}.step_attempts ADD COLUMN error_fingerprint text;
CREATE INDEX step_attempts_failing ON {schema}.step_attempts (finished_at, error_fingerprint, task_id)
  WHERE error_fingerprint IS NOT NULL;
CREATE INDEX step_attempts_failure_group ON {schema}.step_attempts (error_fingerprint, finished_at, worker_id)
  WHERE error_fingerprint IS NOT NULL;
CREATE TABLE {schema}.audit_log (
  id         bigserial PRIMARY KEY,
  at         bigint NOT NULL,
  actor      text NOT NULL,
  action     text NOT NULL,
  outcome    text NOT NULL,
  reason     text,
  namespace  text,
  task_ids   jsonb NOT NULL,
  task_count integer NOT NULL,
  filter     jsonb,
  job_id     text,
  detail     jsonb
);
CREATE TABLE {schema}.audit_tasks (
  task_id  uuid NOT NULL,
  audit_id bigint NOT NULL,
  PRIMARY KEY (task_id, audit_id)
);
CREATE TABLE {schema}.bulk_jobs (
  id               text PRIMARY KEY,
  action           text NOT NULL,
  status           text NOT NULL,
  actor            text NOT NULL,
  reason           text NOT NULL,
  filter           jsonb NOT NULL,
  step             text,
  results          jsonb,
  namespaces       jsonb,
  max_tasks        integer NOT NULL,
  rate_per_second  double precision NOT NULL,
  created_at       bigint NOT NULL,
  finished_at      bigint,
  lease_owner      text,
  lease_expires_at bigint
);
CREATE INDEX bulk_jobs_running ON {schema}.bulk_jobs (created_at) WHERE status = 'running';
CREATE TABLE {schema}.bulk_job_tasks (
  job_id   text NOT NULL REFERENCES {schema}.bulk_jobs (id) ON DELETE CASCADE,
  position integer NOT NULL,
  task_id  uuid NOT NULL,
  status   text NOT NULL,
  message  text,
  at       bigint,
  PRIMARY KEY (job_id, position)
);
CREATE UNIQUE INDEX bulk_job_tasks_task ON {schema}.bulk_job_tasks (job_id, task_id);
`,
  },
  {
    version: 7,
    name: 'task_fillfactor',
    // Between its start and its end a task's row changes only in columns no index holds (revision,
    // updated_at): with room left on its page that is a HOT update, which adds no index entries. At the
    // default fillfactor of 100 most were not (18 % HOT on a 10-step chain; 71 % at 75, +10 % steps/s).
    // Pages written from now on keep the room; a storage parameter, so nothing is rewritten or locked
    // against reads and writes.
    sql: `ALTER TABLE {schema}.tasks SET (fillfactor = 75);`,
  },
  {
    version: 8,
    name: 'transition_log',
    // One row per write per task, holding that write's transitions in order (store/rows.ts
    // transitionEntries), instead of one row per transition: a one-step task's run appended four rows
    // with an index entry and a sequence value each, a fifth of the cycle's write. Ids keep coming from
    // the same sequence, so existing rows, copied over, stay in order with new ones. Dropping the old
    // table is what refuses a worker of an older tasker-engine still running against this schema: its
    // next write fails ("relation … transitions does not exist") and rolls back whole, and its leases
    // expire to the new workers; it can never write a history the new readers miss.
    sql: `
CREATE TABLE {schema}.transition_log (
  task_id uuid NOT NULL,
  id      bigint NOT NULL,
  entries text NOT NULL,
  PRIMARY KEY (task_id, id)
);
ALTER SEQUENCE {schema}.transitions_id_seq OWNED BY {schema}.transition_log.id;
ALTER TABLE {schema}.transition_log ALTER COLUMN id SET DEFAULT nextval('{schema}.transitions_id_seq');
INSERT INTO {schema}.transition_log (task_id, id, entries)
  SELECT task_id, id,
         json_build_array(json_build_array(step_name, from_state, to_state, at, attempt, reason, error_type))::text
  FROM {schema}.transitions;
DROP TABLE {schema}.transitions;
ALTER SEQUENCE {schema}.transitions_id_seq RENAME TO transition_log_id_seq;
`,
  },
  {
    version: 9,
    name: 'retention',
    // Pruning deletes a task's rows by task id, and audit entries' task links by entry. task_tags' key
    // starts with the tag, so each deleted task's ON DELETE CASCADE scanned the whole table; audit_tasks'
    // starts with the task. template_retention: each template's own retention as its newest version
    // says, so the process that prunes honours templates it has not loaded itself.
    sql: `
CREATE INDEX task_tags_task ON {schema}.task_tags (task_id);
CREATE INDEX audit_tasks_audit ON {schema}.audit_tasks (audit_id);
CREATE TABLE {schema}.template_retention (
  namespace  text NOT NULL,
  name       text NOT NULL,
  version    text NOT NULL,
  retention  text NOT NULL,
  updated_at bigint NOT NULL,
  PRIMARY KEY (namespace, name)
);
`,
  },
  {
    version: 10,
    name: 'business_dimensions',
    // See the SQLite migration of the same name. Adding a nullable column without a default rewrites nothing.
    sql: `
ALTER TABLE {schema}.tasks ADD COLUMN business_region text;
ALTER TABLE {schema}.tasks ADD COLUMN business_tier text;
`,
  },
];

export const LATEST_POSTGRES_VERSION = POSTGRES_MIGRATIONS.reduce((m, x) => Math.max(m, x.version), 0);
