/**
 * The trace link: the configured `trace_url` template with `{trace_id}` replaced. Only http(s) templates
 * become links (a `javascript:` template from a bad config must never be clickable), and the id itself
 * must look like a W3C trace id before it goes into a URL.
 */
const TRACE_ID = /^[0-9a-f]{32}$/i;

export function traceLink(
  template: string | null | undefined,
  traceId: string | null | undefined,
): string | null {
  if (!template || !traceId || !TRACE_ID.test(traceId)) return null;
  if (!/^https?:\/\//i.test(template.trim())) return null;
  const url = template.trim().split('{trace_id}').join(encodeURIComponent(traceId));
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
  } catch {
    return null;
  }
}
