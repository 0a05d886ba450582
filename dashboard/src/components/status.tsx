/**
 * Explicit loading, error and empty states. An unreachable collector says so; an empty store
 * says how to send data.
 */
import type { ReactNode } from 'react';
import { ApiError } from '../api/client.js';

export function Loading({ what }: { what: string }) {
  return (
    <div className="state state-loading" role="status">
      <span className="spinner" aria-hidden /> Loading {what}…
    </div>
  );
}

export function ErrorState({ error, what }: { error: unknown; what: string }) {
  const apiError = error instanceof ApiError ? error : null;
  if (apiError?.kind === 'unreachable') {
    return (
      <div className="state state-error" role="alert">
        <strong>The collector API is unreachable.</strong>
        <p>{apiError.message}</p>
        <p>
          Start it with <code>npm start</code> (or <code>onceflow serve</code>) and this page retries on its own.
        </p>
      </div>
    );
  }
  return (
    <div className="state state-error" role="alert">
      <strong>
        Could not load {what}
        {apiError?.status ? ` (HTTP ${apiError.status})` : ''}.
      </strong>
      <p>{error instanceof Error ? error.message : String(error)}</p>
    </div>
  );
}

export function EmptyStore({ children }: { children?: ReactNode }) {
  return (
    <div className="state state-empty">
      <strong>No telemetry in this window.</strong>
      {children}
      <p>To send data, either:</p>
      <ul>
        <li>
          point an OpenTelemetry SDK's OTLP/HTTP trace exporter at <code>http://localhost:4318/v1/traces</code> (services instrumented with{' '}
          <code>@onceflow/instrumentation</code> add message identity), or
        </li>
        <li>
          run <code>npm start</code> at the repository root: it starts the collector and the sample shop, which produces flows (and, with
          fault injection, every anomaly).
        </li>
      </ul>
      <p>If data was sent earlier, widen the time window above.</p>
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="state state-empty">{children}</div>;
}
