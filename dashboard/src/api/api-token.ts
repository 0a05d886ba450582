/**
 * The collector's API token (`--api-token`) for this browser session: kept in sessionStorage
 * (gone when the tab closes), sent as a bearer token by the API client and as `?token=` by the
 * live stream (EventSource cannot set headers). When the API answers 401/403 the client marks
 * the token as needed and the prompt (components/api-token-prompt.tsx) asks for it.
 */
const STORAGE_KEY = 'onceflow.apiToken';

export interface TokenState {
  token: string | null;
  /** Why the API refused the last request (401/403), while a (new) token is needed; else null. */
  refusal: string | null;
}

let state: TokenState = { token: readStored(), refusal: null };
const listeners = new Set<() => void>();

function readStored(): string | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

function update(next: TokenState): void {
  state = next;
  for (const listener of listeners) listener();
}

export const apiToken = {
  get: (): TokenState => state,
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  set(token: string): void {
    try {
      sessionStorage.setItem(STORAGE_KEY, token);
    } catch {
      // Storage disabled: the token lasts until the page reloads.
    }
    update({ token, refusal: null });
  },
  refused(message: string): void {
    if (state.refusal !== message) update({ ...state, refusal: message });
  },
  /** Headers carrying the token, if there is one. */
  headers: (): Record<string, string> => (state.token ? { authorization: `Bearer ${state.token}` } : {}),
};
