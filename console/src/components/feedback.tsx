import type { ReactNode } from 'react';
import { errorMessage } from '../api/client';

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p className="loading" role="status">
      {what}…
    </p>
  );
}

/** An API error's message, as text. */
export function ErrorMessage({ error, retry }: { error: unknown; retry?: () => void }) {
  return (
    <div className="error-box" role="alert">
      <span>{errorMessage(error)}</span>
      {retry && (
        <button type="button" className="btn btn--tiny" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

export function NeedsScope({ scope }: { scope: string }) {
  return <p className="empty">needs the {scope} scope</p>;
}
