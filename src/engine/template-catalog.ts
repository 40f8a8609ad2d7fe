/**
 * What clients may know about this process's templates and handlers, read-only: the registries
 * themselves stay private to the engine (registering goes through Tasker.registerHandlers).
 */
import type { StepTemplate, TaskTemplate } from '../core/template.js';
import type { HandlerRegistry } from '../runtime/handlers.js';
import { thresholdOf } from '../telemetry/performance.js';
import type { TemplateRegistry } from '../templates/registry.js';

export class TemplateCatalog {
  constructor(
    private readonly templates: TemplateRegistry,
    private readonly handlers: HandlerRegistry,
    private readonly slowStepThresholdMs: number,
  ) {}

  /** A registered template (the latest version unless named); TEMPLATE_NOT_FOUND when there is none. */
  get(namespace: string, name: string, version?: string): TaskTemplate {
    return this.templates.get(namespace, name, version);
  }

  /** A registered template (the latest version unless named), or undefined. */
  find(namespace: string, name: string, version?: string): TaskTemplate | undefined {
    return this.templates.find(namespace, name, version);
  }

  /** Every registered template, every version. */
  list(): TaskTemplate[] {
    return this.templates.list();
  }

  /** The namespaces of the registered templates. */
  namespaces(): string[] {
    return this.templates.namespaces();
  }

  /** Whether this process can run steps naming this handler. */
  hasHandler(name: string): boolean {
    return this.handlers.has(name);
  }

  /** The handlers this process has, in registration order. */
  handlerNames(): string[] {
    return [...this.handlers.names()];
  }

  /** Handlers that registered templates name but this process lacks (it cannot run those steps). */
  missingHandlers(inNamespace: (namespace: string) => boolean = () => true): string[] {
    return [...this.templates.handlerNames(inNamespace)].filter((h) => !this.handlers.has(h)).sort();
  }

  /**
   * How long a step may run before it counts as slow, in seconds: its sla_seconds, else
   * handler_config.monitoring.sla_seconds, else telemetry.slow_step_threshold_seconds.
   */
  stepSlaSeconds(step: StepTemplate): number {
    return thresholdOf(step, this.slowStepThresholdMs).ms / 1000;
  }
}
