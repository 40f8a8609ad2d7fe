import { useEffect, useRef, useState } from 'react';

/**
 * Width of an element in CSS pixels, kept up to date, so SVG charts draw at real size (crisp text). Read
 * from ResizeObserver only: measuring with getBoundingClientRect during the commit forces a synchronous
 * layout of the whole page, which on a 200-step task cost ~50 ms per chart.
 */
export function useElementWidth<T extends HTMLElement>(fallback = 800) {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const observer = new ResizeObserver((entries) => {
      const w = Math.floor(entries[entries.length - 1]?.contentRect.width ?? 0);
      if (w > 0) setWidth(w);
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return [ref, width] as const;
}
