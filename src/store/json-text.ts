/**
 * JSON as both stores write it. U+0000 is written as U+FFFD: PostgreSQL's jsonb refuses `\u0000`, and a
 * value one store keeps and the other refuses would fail a task's completion on one of them only.
 */
export function jsonText(v: unknown): string {
  const s = JSON.stringify(v);
  // `\u0000` preceded by an even number of backslashes is an escaped backslash followed by "u0000".
  return s.includes('\\u0000')
    ? s.replace(/\\+u0000/g, (m) => ((m.length - 5) % 2 === 1 ? `${m.slice(0, -6)}\\ufffd` : m))
    : s;
}
