/**
 * What the server tells the page about itself: a `<meta name="tasker-config">` it injects into index.html.
 * The Vite dev server has no such meta, so the defaults match `tasker serve`'s mount path.
 */
export interface ConsoleConfig {
  api: string;
  trace_url: string | null;
  version: string | null;
}

const DEFAULTS: ConsoleConfig = { api: '/tasker', trace_url: null, version: null };

export function parseConfig(content: string | null | undefined): ConsoleConfig {
  if (!content) return DEFAULTS;
  try {
    const raw = JSON.parse(content) as Partial<Record<keyof ConsoleConfig, unknown>>;
    return {
      api: typeof raw.api === 'string' ? raw.api.replace(/\/+$/, '') : DEFAULTS.api,
      trace_url: typeof raw.trace_url === 'string' ? raw.trace_url : null,
      version: typeof raw.version === 'string' ? raw.version : null,
    };
  } catch {
    return DEFAULTS;
  }
}

function readConfig(): ConsoleConfig {
  if (typeof document === 'undefined') return DEFAULTS;
  const meta = document.querySelector('meta[name="tasker-config"]');
  return parseConfig(meta?.getAttribute('content'));
}

export const config: ConsoleConfig = readConfig();
