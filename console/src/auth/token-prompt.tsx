import { useId, useState, type FormEvent } from 'react';
import { setToken } from './token';

/** Asks for the API token; it goes to sessionStorage only and is sent as a bearer header. */
export function TokenPrompt({ rejected }: { rejected: boolean }) {
  const [value, setValue] = useState('');
  const id = useId();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const token = value.trim();
    if (token) setToken(token);
  };
  return (
    <div className="gate">
      <form className="gate__card" onSubmit={submit}>
        <h1>Sign in to Tasker</h1>
        <p>
          This server needs an API token. It is kept in this tab only (sessionStorage) and never in a cookie
          or URL.
        </p>
        {rejected && (
          <p className="error-box" role="alert">
            That token was not accepted (invalid, revoked or expired). Paste another one.
          </p>
        )}
        <label htmlFor={id} className="field__label">
          API token
        </label>
        <input
          id={id}
          className="input input--wide mono"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={value}
          onChange={(e) => setValue(e.target.value)}
          autoFocus
        />
        <div className="gate__actions">
          <button type="submit" className="btn btn--primary" disabled={!value.trim()}>
            Sign in
          </button>
        </div>
      </form>
    </div>
  );
}
