/** Building audit entries: one shape for single actions, bulk jobs and refusals. */
import { TaskerError } from '../errors.js';
import type { AuditDraft, AuditOutcome } from '../store/port.js';

/** Who acts: the API token's name, `cli:<user>` for the local CLI, `library` by default. */
export interface Actor {
  actor?: string | undefined;
}

export const LIBRARY_ACTOR = 'library';

export function auditEntry(
  at: number,
  fields: {
    actor: string;
    action: string;
    outcome?: AuditOutcome;
    reason?: string | null | undefined;
    taskIds?: readonly string[];
    namespaces?: Iterable<string>;
    filter?: Record<string, unknown> | null;
    jobId?: string | null;
    detail?: Record<string, unknown> | null;
  },
): AuditDraft {
  const ns = new Set(fields.namespaces ?? []);
  return {
    at,
    actor: fields.actor,
    action: fields.action,
    outcome: fields.outcome ?? 'ok',
    reason: fields.reason ?? null,
    namespace: ns.size === 1 ? ([...ns][0] ?? null) : null,
    taskIds: fields.taskIds ?? [],
    filter: fields.filter ?? null,
    jobId: fields.jobId ?? null,
    detail: fields.detail ?? null,
  };
}

/** The detail of a refused action: the error code and message the caller got. */
export function refusal(err: unknown): Record<string, unknown> {
  const body = err as { error?: unknown; message?: unknown } | null;
  // The HTTP API's own error body ({error, message}), as the caller got it.
  if (!(err instanceof Error) && typeof body?.error === 'string' && typeof body.message === 'string')
    return { error: body.error, message: body.message };
  return err instanceof TaskerError
    ? { error: err.code, message: err.message }
    : { error: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

/** Errors whose refusal the engine has written already (so the API does not write it twice). */
const audited = new WeakSet<object>();

export function markAudited(err: unknown): void {
  if (err !== null && typeof err === 'object') audited.add(err);
}

export function isAudited(err: unknown): boolean {
  return err !== null && typeof err === 'object' && audited.has(err);
}
