/**
 * JSON as both stores write it. U+0000 and lone surrogates are written as U+FFFD: PostgreSQL's jsonb and
 * json-to-text refuse `\u0000` and an unpaired `\ud800`, and a value one store keeps and the other refuses
 * would fail a task's completion on one of them only. JSON.stringify escapes exactly these (a valid pair is
 * written as the character itself), so an escape of either in its output is one to replace.
 */
const REFUSED = /\\+u(?:0000|d[89a-f][0-9a-f]{2})/g;

export function jsonText(v: unknown): string {
  const s = JSON.stringify(v);
  // An escape preceded by an even number of backslashes is an escaped backslash followed by "uXXXX".
  return s.includes('\\u0000') || s.includes('\\ud')
    ? s.replace(REFUSED, (m) => ((m.length - 5) % 2 === 1 ? `${m.slice(0, -6)}\\ufffd` : m))
    : s;
}
