import { useEffect, useState } from 'react';

/** The current time, re-read every `intervalMs`, for relative times and bars growing to now. */
export function useNow(intervalMs = 5000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    // Read again when the pace changes (a task that just ended): a stale "now" would sit inside its bars.
    const first = setTimeout(() => setNow(Date.now()), 0);
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => {
      clearTimeout(first);
      clearInterval(timer);
    };
  }, [intervalMs]);
  return now;
}
