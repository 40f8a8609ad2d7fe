import type { Step } from '../src/api/types';

/** A step as the API returns it: pending, never run; override what a test needs. */
export const step = (over: Partial<Step>): Step => ({
  name: 's',
  handler: 's',
  status: 'pending',
  depends_on: [],
  execution_time_seconds: null,
  attempts: 0,
  max_attempts: 3,
  retry_attempts: 0,
  started_at: null,
  error_message: null,
  error_type: null,
  ...over,
});
