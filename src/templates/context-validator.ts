/**
 * Validates a task's context against its template's `context_schema`, listing every failing path.
 * Compiled validators are cached per template object.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { TaskTemplate } from '../core/template.js';
import { ValidationError, type ValidationIssue } from '../errors.js';
import { templateKey } from '../core/template.js';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export class ContextValidator {
  private readonly ajv = addFormats(new Ajv({ allErrors: true, strict: false, logger: false }));
  private readonly cache = new WeakMap<TaskTemplate, ValidateFunction>();

  validate(template: TaskTemplate, context: unknown): void {
    if (!template.contextSchema) return;
    let fn = this.cache.get(template);
    if (!fn) {
      fn = this.ajv.compile(template.contextSchema);
      this.cache.set(template, fn);
    }
    if (fn(context)) return;
    const issues: ValidationIssue[] = (fn.errors ?? []).map((e) => {
      const missing =
        e.keyword === 'required' ? (e.params as { missingProperty?: string }).missingProperty : undefined;
      const path = toDotted(e.instancePath) + (missing ? (e.instancePath ? '.' : '') + missing : '');
      return {
        path: `context${path ? (path.startsWith('[') ? '' : '.') + path : ''}`,
        message: e.message ?? e.keyword,
      };
    });
    throw new ValidationError(
      'CONTEXT_INVALID',
      `context does not match the schema of ${templateKey(template)}:`,
      issues,
      {
        template: templateKey(template),
      },
    );
  }
}

/** `/cart_items/0/price` → `cart_items[0].price` */
function toDotted(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((seg) => seg.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), '');
}
