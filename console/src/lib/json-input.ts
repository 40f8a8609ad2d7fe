/** Validation for the Resolve dialog's JSON editor: parsed on every keystroke, submit only when valid. */

export type JsonCheck = { ok: true; value: unknown } | { ok: false; error: string };

function lineColumn(text: string, position: number): string {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

export function checkJson(text: string): JsonCheck {
  if (!text.trim()) return { ok: false, error: 'Enter a JSON value, e.g. {} or {"approved": true}' };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    let message = err instanceof Error ? err.message : String(err);
    // Engines report an offset; people read lines and columns.
    const at = /at position (\d+)/.exec(message);
    if (at?.[1] && !/line \d+/.test(message)) message = `${message} (${lineColumn(text, Number(at[1]))})`;
    return { ok: false, error: message };
  }
}

/** Pretty JSON text for results and handler config (already redacted by the server). */
export function prettyJson(value: unknown): string {
  if (value === undefined) return '';
  try {
    return JSON.stringify(value, null, 2) ?? '';
  } catch {
    return '(not serialisable)';
  }
}
