/**
 * Who the console is acting as (GET /whoami) and what that allows. With `auth_required` the user pastes
 * a token; any 401 later (revoked, expired) brings the prompt back. Only the scopes decide which controls
 * render: the server enforces them anyway.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, use, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { ApiError, api, onUnauthorized } from '../api/client';
import { keys } from '../api/queries';
import type { Principal } from '../api/types';
import { clearToken, getToken, onTokenChange } from './token';

export interface AuthState {
  principal: Principal;
  hasToken: boolean;
  canWrite: boolean;
  canReadAnalytics: boolean;
  signOut(): void;
}

const AuthContext = createContext<AuthState | null>(null);

export function useAuth(): AuthState {
  const auth = use(AuthContext);
  if (!auth) throw new Error('useAuth outside AuthProvider');
  return auth;
}

export function hasScope(principal: Principal, scope: string): boolean {
  return principal.scopes.includes('admin') || principal.scopes.includes(scope);
}

export type Gate =
  | { kind: 'checking' }
  | { kind: 'need-token'; rejected: boolean }
  | { kind: 'forbidden'; message: string }
  | { kind: 'error'; message: string; retry: () => void }
  | { kind: 'ready'; auth: AuthState };

/** The sign-in state machine; App renders the prompt or the console from it. */
export function useGate(): Gate {
  const queryClient = useQueryClient();
  const [session, setSession] = useState(0);
  const [rejected, setRejected] = useState(false);

  useEffect(
    () =>
      onTokenChange(() => {
        if (getToken() !== null) setRejected(false);
        setSession((s) => s + 1);
      }),
    [],
  );
  const whoami = useQuery({
    queryKey: keys.whoami(session),
    queryFn: ({ signal }) => api.whoami(signal),
    retry: false,
    staleTime: Infinity,
    refetchOnWindowFocus: false,
  });

  const principal = whoami.data;
  const signedIn = useRef(false);
  useEffect(() => {
    signedIn.current = principal !== undefined;
  }, [principal]);

  useEffect(
    () =>
      onUnauthorized(() => {
        if (getToken() !== null) {
          // The token we hold no longer works (revoked, or mistyped): forget it and ask again.
          setRejected(true);
          clearToken();
        } else if (signedIn.current) {
          // Anonymous access was allowed and no longer is: ask whoami again, which shows the prompt.
          setSession((s) => s + 1);
        } else {
          return;
        }
        queryClient.removeQueries({ predicate: (q) => q.queryKey[0] !== 'whoami' });
      }),
    [queryClient],
  );
  const auth = useMemo<AuthState | null>(() => {
    if (!principal) return null;
    return {
      principal,
      hasToken: getToken() !== null,
      canWrite: hasScope(principal, 'tasks:write'),
      canReadAnalytics: hasScope(principal, 'analytics:read'),
      signOut: () => {
        clearToken();
        queryClient.clear();
      },
    };
  }, [principal, queryClient]);

  if (auth) return { kind: 'ready', auth };
  const error = whoami.error;
  if (error instanceof ApiError) {
    if (error.status === 401) return { kind: 'need-token', rejected };
    if (error.status === 403) return { kind: 'forbidden', message: error.message };
    return { kind: 'error', message: error.message, retry: () => void whoami.refetch() };
  }
  if (error) return { kind: 'error', message: String(error), retry: () => void whoami.refetch() };
  return { kind: 'checking' };
}

export function AuthProvider({ auth, children }: { auth: AuthState; children: ReactNode }) {
  return <AuthContext value={auth}>{children}</AuthContext>;
}
