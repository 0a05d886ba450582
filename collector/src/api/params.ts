/**
 * Query-parameter validation for the REST API. Every parameter goes through a zod schema;
 * the first bad one becomes `BadParameterError` → HTTP 400 `{ error, parameter }`. Times are
 * ISO-8601 or epoch milliseconds; windows default to the last hour before `now`.
 */
import { z } from 'zod';
import { ANOMALY_KINDS, type TimeWindow } from '../contract/index.js';

export class BadParameterError extends Error {
  override name = 'BadParameterError';
  constructor(
    readonly parameter: string,
    message: string,
  ) {
    super(message);
  }
}

/** Parses `input` (a query or params object) or throws the first problem, naming its parameter. */
export function parseParams<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const parameter = String(issue.path[0] ?? 'query');
  throw new BadParameterError(parameter, `${parameter}: ${issue.message}`);
}

/** Latest accepted timestamp (year 2200): anything later is a typo or an attack. */
const MAX_TIME_MS = 7_258_118_400_000;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
/** Control characters never occur in ids or search text; refuse them early. */
const CONTROL = /[\u0000-\u001f\u007f]/; // eslint-disable-line no-control-regex -- matching them is the point

/** One value given once (a repeated parameter arrives as an array and is refused). */
const single = (what: string) =>
  z.string({ error: (issue) => (issue.input === undefined ? `is required` : `must be given once, as ${what}`) });

export const timeParam = single('a time').transform((value, ctx) => {
  const ms = /^\d{1,16}$/.test(value) ? Number(value) : ISO_8601.test(value) ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_TIME_MS) {
    ctx.addIssue({
      code: 'custom',
      message: `must be an ISO-8601 time (2026-01-31T12:00:00Z) or epoch milliseconds, got "${value.slice(0, 40)}"`,
    });
    return z.NEVER;
  }
  return ms;
});

export const textParam = (maxLength = 512) =>
  single('text').check((ctx) => {
    if (ctx.value.length === 0) ctx.issues.push({ code: 'custom', message: 'must not be empty', input: ctx.value });
    else if (ctx.value.length > maxLength)
      ctx.issues.push({ code: 'custom', message: `must be at most ${maxLength} characters`, input: ctx.value });
    else if (CONTROL.test(ctx.value)) ctx.issues.push({ code: 'custom', message: 'must not contain control characters', input: ctx.value });
  });

export const intParam = (min: number, max: number) =>
  single('an integer').transform((value, ctx) => {
    const n = /^\d{1,10}$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `must be an integer from ${min} to ${max}, got "${value.slice(0, 40)}"` });
      return z.NEVER;
    }
    return n;
  });

export const booleanParam = single('true or false').transform((value, ctx) => {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  ctx.addIssue({ code: 'custom', message: `must be true or false, got "${value.slice(0, 40)}"` });
  return z.NEVER;
});

export const enumParam = <const T extends readonly [string, ...string[]]>(values: T) =>
  single('text').transform((value, ctx) => {
    if ((values as readonly string[]).includes(value)) return value as T[number];
    ctx.addIssue({ code: 'custom', message: `must be one of ${values.join(', ')}, got "${value.slice(0, 40)}"` });
    return z.NEVER;
  });

export const anomalyKindParam = enumParam(ANOMALY_KINDS);

const STEP_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
export const MIN_STEP_MS = 1000;

/** A bucket width: `30s`, `1m`, `1h`, `1d`, or milliseconds. */
export const stepParam = single('a duration').transform((value, ctx) => {
  const match = /^(\d{1,10})(ms|s|m|h|d)?$/.exec(value);
  const ms = match ? Number(match[1]) * STEP_UNITS[match[2] ?? 'ms'] : NaN;
  if (!Number.isSafeInteger(ms) || ms < MIN_STEP_MS) {
    ctx.addIssue({
      code: 'custom',
      message: `must be a duration of at least 1s such as 30s, 1m, 5m, 1h (or milliseconds), got "${value.slice(0, 40)}"`,
    });
    return z.NEVER;
  }
  return ms;
});

export const windowParams = { from: timeParam.optional(), to: timeParam.optional() };

export const DEFAULT_WINDOW_MS = 3_600_000;
/** The longest window a query may span (stores bucket it; longer asks are mistakes). */
export const MAX_WINDOW_MS = 400 * 86_400_000;

/** Resolves optional from/to into a window: `to` defaults to now, `from` to an hour before `to`. */
export function resolveWindow(params: { from?: number; to?: number }, nowMs: number): TimeWindow {
  const toMs = params.to ?? (params.from !== undefined ? Math.max(nowMs, params.from + 1) : nowMs);
  const fromMs = params.from ?? toMs - DEFAULT_WINDOW_MS;
  if (fromMs >= toMs) throw new BadParameterError('from', 'from: must be before to');
  if (toMs - fromMs > MAX_WINDOW_MS)
    throw new BadParameterError('from', `from: the window may span at most ${MAX_WINDOW_MS / 86_400_000} days`);
  return { fromMs, toMs };
}

const NICE_STEPS_MS = [
  1000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000,
  43_200_000, 86_400_000,
];
export const TARGET_BUCKETS = 60;
export const MAX_BUCKETS = 2000;

/** The smallest round step giving at most ~60 buckets over the window. */
export function defaultStepMs(window: TimeWindow): number {
  const wanted = (window.toMs - window.fromMs) / TARGET_BUCKETS;
  return NICE_STEPS_MS.find((step) => step >= wanted) ?? Math.ceil(wanted / 86_400_000) * 86_400_000;
}

/** The requested step, or the default; refuses one that would make too many buckets. */
export function resolveStep(step: number | undefined, window: TimeWindow): number {
  if (step === undefined) return defaultStepMs(window);
  if ((window.toMs - window.fromMs) / step > MAX_BUCKETS) {
    throw new BadParameterError('step', `step: gives more than ${MAX_BUCKETS} buckets over the window; use a larger step`);
  }
  return step;
}
