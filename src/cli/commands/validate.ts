/** `tasker validate <file|dir>`: every problem, with file:line:column and field. */
import type { Command } from 'commander';
import { formatIssue } from '../../errors.js';
import { loadHandlersModule } from '../../runtime/handlers.js';
import { loadTemplatesFrom } from '../../templates/load.js';
import { templateKey } from '../../core/template.js';
import type { CliIo } from '../context.js';

export function registerValidate(program: Command, io: CliIo): void {
  program
    .command('validate <path>')
    .description('check task template files (a file or a folder of *.yaml)')
    .option('--handlers <module>', 'also check that every step handler exists in this module')
    .option('--json', 'machine-readable output')
    .action(async (path: string, o: { handlers?: string; json?: boolean }) => {
      const handlerNames = o.handlers
        ? new Set(Object.keys(await loadHandlersModule(o.handlers)))
        : undefined;
      const { templates, issues, warnings, files } = await loadTemplatesFrom(
        path,
        handlerNames ? { handlerNames } : {},
      );
      if (o.json) {
        io.out(
          JSON.stringify(
            { valid: issues.length === 0, files, templates: templates.map(templateKey), issues, warnings },
            null,
            2,
          ),
        );
      } else if (issues.length === 0) {
        for (const w of warnings) io.err(`⚠ ${formatIssue(w)}`);
        io.out(
          `✔ ${templates.length} template(s) valid in ${files.length} file(s): ${templates.map(templateKey).join(', ')}`,
        );
      } else {
        for (const w of warnings) io.err(`⚠ ${formatIssue(w)}`);
        for (const i of issues) io.err(formatIssue(i));
        io.err(`✘ ${issues.length} problem(s) in ${new Set(issues.map((i) => i.file)).size} file(s)`);
      }
      if (issues.length > 0) io.exitCode = 1;
    });
}
