/** The API token state (see api/api-token.ts) as React state. */
import { useSyncExternalStore } from 'react';
import { apiToken, type TokenState } from '../api/api-token.js';

export function useApiToken(): TokenState {
  return useSyncExternalStore(apiToken.subscribe, apiToken.get, apiToken.get);
}
