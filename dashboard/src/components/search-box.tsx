/**
 * Search by any id (conversation, message, idempotency key, trace, business key). One hit opens
 * the flow (selecting the message when the id was a message id); several list them.
 */
import { useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api } from '../api/client.js';
import { linkTo, navigateTo } from '../hooks/use-location.js';
import { queryKeys } from '../hooks/use-api.js';

export function SearchBox() {
  const client = useQueryClient();
  const [text, setText] = useState('');
  const [status, setStatus] = useState<string | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const q = text.trim();
    if (!q) return;
    setStatus('searching…');
    try {
      const result = await client.fetchQuery({ queryKey: queryKeys.search(q), queryFn: ({ signal }) => api.search(q, signal) });
      if (result.flows.length === 0) setStatus(`nothing matches “${q}”`);
      else if (result.flows.length === 1) {
        setStatus(null);
        navigateTo(linkTo({ view: 'flow', conversationId: result.flows[0].conversationId }, { msg: q }));
      } else {
        setStatus(null);
        navigateTo(linkTo({ view: 'flows' }, { search: q }));
      }
    } catch (error) {
      setStatus((error as Error).message);
    }
  };
  return (
    <form className="search-box" onSubmit={submit} role="search">
      <input
        type="search"
        value={text}
        placeholder="Search any id: conversation, message, idempotency key, trace, business key"
        aria-label="Search by id"
        onChange={(event) => {
          setText(event.target.value);
          setStatus(null);
        }}
      />
      {status && <span className="search-status">{status}</span>}
    </form>
  );
}
