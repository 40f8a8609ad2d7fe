/**
 * A task's monitoring settings, in our words (`sla_seconds`, `critical` at the top level) or as Tasker's
 * files carry them in a top-level `handler_config` (`monitoring.sla_seconds`, `monitoring.critical_workflow`,
 * `monitoring.alert_on_failure`, `business_metrics`), so those files load as they ship. The rest of that
 * handler_config is free-form and kept as written. Pure.
 */
import type { TaskTemplate } from './template.js';
import { bool, isRec, map, pick, read, timeoutSeconds } from './template-fields.js';
import type { Found, Issues, Rec } from './template-fields.js';

export type TaskMonitoring = Pick<
  TaskTemplate,
  'slaSeconds' | 'critical' | 'alertOnFailure' | 'businessMetrics' | 'handlerConfig'
>;

export function parseMonitoring(c: Issues, raw: Rec): TaskMonitoring {
  const config = read(c, raw, [], 'handler_config', map);
  const monitoring = config && read(c, config.value, config.segs, 'monitoring', map);
  const inMonitoring = <T>(key: string, check: Parameters<typeof read<T>>[4]): Found<T> | undefined =>
    monitoring && read(c, monitoring.value, monitoring.segs, key, check);
  const sla = pick(c, [
    read(c, raw, [], 'sla_seconds', timeoutSeconds),
    inMonitoring('sla_seconds', timeoutSeconds),
  ]);
  const critical = pick(c, [read(c, raw, [], 'critical', bool), inMonitoring('critical_workflow', bool)]);
  const alertOnFailure = inMonitoring('alert_on_failure', bool);
  const businessMetrics = config && read(c, config.value, config.segs, 'business_metrics', map);
  const out: TaskMonitoring = {};
  if (sla) out.slaSeconds = sla.value;
  if (critical) out.critical = critical.value;
  if (alertOnFailure) out.alertOnFailure = alertOnFailure.value;
  if (businessMetrics) out.businessMetrics = businessMetrics.value;
  if (config && isRec(config.value)) out.handlerConfig = config.value;
  return out;
}
