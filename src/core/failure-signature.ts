/**
 * An error message with what varies between occurrences of one cause (ids, numbers, UUIDs, hex, quoted
 * values, e-mail addresses, URLs' query strings) replaced by placeholders, so "timeout after 30s for order
 * 123" and "timeout after 30s for order 456" read the same. Stored with each failing attempt, so grouping
 * is an SQL GROUP BY, never a pass over every message in Node. Pure.
 */

/** Longer signatures are cut: past this, a message is a dump, not a cause. */
export const SIGNATURE_MAX = 300;

const RULES: ReadonlyArray<readonly [RegExp, string]> = [
  // Quoted values first: their content (names, ids with spaces) is data, whatever it looks like.
  [/"(?:[^"\\\n]|\\.){0,200}"/g, '<str>'],
  [/'(?:[^'\\\n]|\\.){0,200}'/g, '<str>'],
  [/`[^`\n]{0,200}`/g, '<str>'],
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>'],
  [/\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b/g, '<email>'],
  [/\b((?:https?|wss?):\/\/[^\s?#]+)[?#]\S*/g, '$1?<query>'],
  [/\b0x[0-9a-f]+\b/gi, '<hex>'],
  // A run of hex digits long enough to be a digest or an object id, with at least one digit in it.
  [/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/gi, '<hex>'],
  [/\b\d+(?:[.,]\d+)*(?:e[+-]?\d+)?\b/gi, '<n>'],
  // Identifiers mixing letters and digits ("cus_9fK2", "i-0abc12"): one placeholder.
  [/\b(?=[\w-]*\d)[\w-]+\b/g, '<id>'],
];

/** A number's unit is part of the cause and stays ("30s" → "<n>s", "250ms" → "<n>ms"). */
const NUMBER_WITH_UNIT = /\b(\d+(?:\.\d+)?)(ms|s|m|h|d|kb|mb|gb|%)\b/gi;

export function failureSignature(message: string | null | undefined): string | null {
  if (message === null || message === undefined) return null;
  let s = message.length > 4 * SIGNATURE_MAX ? message.slice(0, 4 * SIGNATURE_MAX) : message;
  // "30s", "250ms": keep the unit, drop the number (the <id> rule would otherwise take the whole token).
  s = s.replace(NUMBER_WITH_UNIT, '<n>$2');
  for (const [pattern, replacement] of RULES) s = s.replace(pattern, replacement);
  s = s.replace(/\s+/g, ' ').trim();
  return s.length > SIGNATURE_MAX ? `${s.slice(0, SIGNATURE_MAX)}…` : s;
}
