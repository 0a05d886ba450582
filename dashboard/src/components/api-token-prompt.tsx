/**
 * Asks for the collector's API token when the API refuses requests (the collector runs with
 * `--api-token`); the token is kept for this browser session, and every query is retried.
 */
import { useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { apiToken } from '../api/api-token.js';
import { useApiToken } from '../hooks/use-api-token.js';

export function ApiTokenPrompt() {
  const { refusal } = useApiToken();
  const client = useQueryClient();
  const [value, setValue] = useState('');
  if (!refusal) return null;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!value.trim()) return;
    apiToken.set(value.trim());
    setValue('');
    void client.invalidateQueries();
  };
  return (
    <div className="token-prompt" role="dialog" aria-modal="true" aria-labelledby="token-prompt-title">
      <form onSubmit={submit}>
        <strong id="token-prompt-title">This collector needs its API token</strong>
        <p>{refusal}</p>
        <label>
          API token <input type="password" autoComplete="off" value={value} onChange={(event) => setValue(event.target.value)} autoFocus />
        </label>
        <button type="submit">Use token</button>
        <p className="hint">Kept for this browser tab only (sessionStorage).</p>
      </form>
    </div>
  );
}
