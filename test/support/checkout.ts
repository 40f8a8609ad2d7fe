/** The seed's checkout workflow for tests: the shipped template with test timings, and the demo's handlers. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { packageInfo } from '../../src/package-root.js';

interface StepYaml {
  name: string;
  timeout_seconds?: number;
  retry?: { max_attempts?: number; backoff?: Record<string, number> };
  handler_config?: Record<string, unknown>;
}

/**
 * examples/checkout/templates/process_order.yaml with no random failures and fast retries;
 * `update_inventory` times out after `inventoryTimeoutSeconds`.
 */
export function checkoutYaml(inventoryTimeoutSeconds = 0.3): string {
  const file = join(packageInfo().root, 'examples', 'checkout', 'templates', 'process_order.yaml');
  const doc = parse(readFileSync(file, 'utf8')) as { steps: StepYaml[] };
  for (const s of doc.steps) {
    s.handler_config = { ...s.handler_config, failure_rate: 0 };
    if (s.retry) s.retry.backoff = { base_seconds: 0.05, multiplier: 2, max_seconds: 0.2, jitter: 0 };
    if (s.name === 'update_inventory') s.timeout_seconds = inventoryTimeoutSeconds;
  }
  return stringify(doc);
}
