/**
 * The composition root: options compiled, templates and handlers loaded, the store opened, telemetry
 * wired, and every collaborator built here and handed finished to the Tasker facade. Nothing below
 * constructs its own collaborators.
 */
import pino, { type Logger } from 'pino';
import { compileOptions, type ResolvedOptions, type TaskerOptions } from '../config/options.js';
import { deepFreeze } from '../core/json.js';
import { withTemplateDefaults } from '../core/template.js';
import { PruneSchedule } from './prune-schedule.js';
import { Pruner } from './pruner.js';
import { formatIssue, ValidationError } from '../errors.js';
import { ChangeFeed } from '../events/change-feed.js';
import { packageInfo } from '../package-root.js';
import { HandlerRegistry, loadHandlersModule, type HandlerMap } from '../runtime/handlers.js';
import { newWorkerId } from '../runtime/ids.js';
import { Worker } from '../runtime/worker.js';
import { openStore } from '../store/open-store.js';
import type { TaskStore } from '../store/port.js';
import { loadTemplatesFrom } from '../templates/load.js';
import { TemplateRegistry } from '../templates/registry.js';
import { Tasker } from '../tasker.js';
import { BulkActions } from '../triage/bulk-actions.js';
import { BulkRunner } from '../triage/bulk-runner.js';
import { FailureGroups } from '../triage/failure-groups.js';
import { afterCommit, TaskCommands } from './task-commands.js';
import { TaskDrafts } from './task-drafts.js';
import { TaskReads } from './task-reads.js';
import { wireTelemetry, type EngineTelemetry } from './telemetry-wiring.js';
import { TemplateCatalog } from './template-catalog.js';
import { WorkerSlot } from './worker-slot.js';

/** Open the store, load templates and handlers, and return a ready (not yet started) Tasker. */
export async function createTasker(options: TaskerOptions = {}): Promise<Tasker> {
  return createCompiledTasker(compileOptions(options), options);
}

/**
 * @internal createTasker for options already compiled (the CLI compiles its settings once, naming the
 * file or variable a bad value came from); `options` supplies only what compiling does not cover: the
 * templates, handlers, logger, store, workerId and migration choices.
 */
export async function createCompiledTasker(opts: ResolvedOptions, options: TaskerOptions): Promise<Tasker> {
  const logger =
    options.logger === false
      ? pino({ level: 'silent' })
      : (options.logger ?? pino({ level: process.env.TASKER_LOG_LEVEL ?? 'info' }, pino.destination(2)));

  const registry = new TemplateRegistry();
  const sources =
    options.templates === undefined
      ? []
      : Array.isArray(options.templates)
        ? options.templates
        : [options.templates];
  const handlerMap: HandlerMap =
    typeof options.handlers === 'string'
      ? await loadHandlersModule(options.handlers)
      : (options.handlers ?? {});
  const handlers = new HandlerRegistry(handlerMap);
  for (const src of sources) {
    if (typeof src === 'string') {
      const { templates, issues, warnings } = await loadTemplatesFrom(
        src,
        handlers.size > 0 ? { handlerNames: handlers.names() } : {},
      );
      // Said once, at start: the file loads, but someone reading it might expect these keys to act.
      for (const w of warnings) logger.warn({ template_file: w.file, field: w.path }, formatIssue(w));
      if (issues.length > 0) {
        throw new ValidationError('TEMPLATE_INVALID', `invalid task templates in ${src}:`, issues, {
          source: src,
        });
      }
      for (const t of templates) registry.register(deepFreeze(t));
    } else {
      // A private frozen copy: handlers receive handler_config by reference and must not change the template.
      registry.register(deepFreeze(withTemplateDefaults(structuredClone(src))));
    }
  }

  const store =
    options.store ??
    (await openStore(opts, { migrate: options.migrate ?? false, postgresSchema: options.postgresSchema }));
  try {
    return assemble(store, registry, handlers, logger, opts, options.workerId ?? newWorkerId());
  } catch (err) {
    // Nothing else holds the store yet: a Tasker that could not be built must not leave it open.
    if (!options.store) await store.close();
    throw err;
  }
}

/** The settings in force that clients act on (`tasker.settings`). */
export interface TaskerSettings {
  /** The header correlation ids travel in (telemetry.correlation_id_header). */
  readonly correlationIdHeader: string;
  /** Where the metrics are served (telemetry.metrics_endpoint). */
  readonly metricsEndpoint: string;
  /** Where tasks live, for people: a file path, or a URL without its password. */
  readonly storeLocation: string;
}

/** @internal What the composition root hands the Tasker facade: finished collaborators. */
export interface TaskerParts {
  settings: TaskerSettings;
  wired: EngineTelemetry;
  templates: TemplateRegistry;
  handlers: HandlerRegistry;
  catalog: TemplateCatalog;
  commands: TaskCommands;
  reads: TaskReads;
  runner: BulkRunner;
  changes: ChangeFeed;
  worker: WorkerSlot;
  pruner: Pruner;
  pruneSchedule: PruneSchedule;
  telemetry: ResolvedOptions['telemetry'];
}

/** Every collaborator, built once and wired by constructor injection. */
function assemble(
  rawStore: TaskStore,
  templates: TemplateRegistry,
  handlers: HandlerRegistry,
  baseLogger: Logger,
  opts: ResolvedOptions,
  workerId: string,
): Tasker {
  const wired = wireTelemetry(rawStore, baseLogger, opts, templates);
  const { store, events, logger } = wired;
  const changes = new ChangeFeed(store, baseLogger);
  const worker = new WorkerSlot(
    () =>
      new Worker(store, handlers, events, logger, {
        observer: wired.observer,
        maskFailure: wired.maskFailure,
        handlerLogger: wired.handlerLogger,
        workerId,
        concurrency: opts.concurrency,
        perTaskConcurrency: opts.perTaskConcurrency,
        leaseMs: opts.leaseMs,
        heartbeatMs: opts.heartbeatMs,
        pollMs: opts.pollMs,
        recoveryIntervalMs: opts.recoveryIntervalMs,
        now: opts.now,
        registry: opts.workerRegistry ? { version: packageInfo().version } : undefined,
        onCommitted: (ids) => changes.touch(ids),
      }),
  );
  const groups = new FailureGroups(store, templates, opts.now);
  const committed = afterCommit(events, changes, worker);
  const runner = new BulkRunner(
    store,
    {
      owner: workerId,
      leaseMs: opts.leaseMs,
      // Only for jobs left by a process that died (a new job is run by the process that made it): looking
      // twice a lease is enough, and keeps an idle process's queries down.
      pollMs: Math.max(Math.min(1000, opts.leaseMs), opts.leaseMs / 2),
      now: opts.now,
      committed: (snapshot, published, abort) => {
        committed(snapshot, published);
        worker.abortSteps(abort, 'task cancelled');
      },
    },
    baseLogger,
  );
  const bulk = new BulkActions(store, groups, opts.now, () => runner.kick());
  const reads = new TaskReads(store, templates, groups, opts.now);
  const drafts = new TaskDrafts(templates, handlers, wired.tracing, logger, opts.now);
  const commands = new TaskCommands(
    store,
    drafts,
    reads,
    bulk,
    runner,
    events,
    changes,
    worker,
    committed,
    logger,
    opts.now,
  );
  const catalog = new TemplateCatalog(templates, handlers, opts.telemetry.slowStepThresholdMs);
  const pruner = new Pruner(
    store,
    templates,
    opts.retention,
    logger,
    opts.now,
    (v) => wired.redactor.redact(v),
    (r) => wired.pruned(r),
    () => worker.busy,
  );
  const pruneSchedule = new PruneSchedule(pruner, logger);
  const settings: TaskerSettings = Object.freeze({
    correlationIdHeader: opts.telemetry.correlationIdHeader,
    metricsEndpoint: opts.telemetry.metricsEndpoint,
    storeLocation: store.location,
  });
  return new Tasker({
    settings,
    wired,
    templates,
    handlers,
    catalog,
    commands,
    reads,
    runner,
    changes,
    worker,
    pruner,
    pruneSchedule,
    telemetry: opts.telemetry,
  });
}
