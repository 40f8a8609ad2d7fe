/**
 * The bearer token lives in sessionStorage only (CONTRACT.md "Auth"): it dies with the tab and is never
 * sent anywhere but the Authorization header.
 */
const KEY = 'tasker.token';

type Listener = () => void;
const listeners = new Set<Listener>();

function storage(): Storage | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null; // storage disabled by browser policy: the token then lives for this page only
  }
}

let memoryToken: string | null = null;

export function getToken(): string | null {
  return storage()?.getItem(KEY) ?? memoryToken;
}

export function setToken(token: string): void {
  memoryToken = token;
  storage()?.setItem(KEY, token);
  listeners.forEach((l) => l());
}

export function clearToken(): void {
  memoryToken = null;
  storage()?.removeItem(KEY);
  listeners.forEach((l) => l());
}

export function onTokenChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function authHeader(): Record<string, string> {
  const token = getToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}
