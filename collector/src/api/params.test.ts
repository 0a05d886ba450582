import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BadParameterError, defaultStepMs, parseParams, resolveStep, resolveWindow, stepParam, timeParam } from './params.js';

const HOUR = 3_600_000;

describe('timeParam', () => {
  const schema = z.object({ from: timeParam });
  it.each([
    ['1767225600000', 1767225600000],
    ['2026-01-01T00:00:00Z', 1767225600000],
    ['2026-01-01T01:00:00+01:00', 1767225600000],
    ['2026-01-01T00:00:00.250Z', 1767225600250],
  ])('accepts %s', (text, ms) => {
    expect(parseParams(schema, { from: text })).toEqual({ from: ms });
  });

  it.each(['yesterday', '-5', '1e12', '2026-13-45T00:00:00Z', '99999999999999999', '', "1' OR 1=1"])(
    'refuses %j naming the parameter',
    (text) => {
      const error = captureError(() => parseParams(schema, { from: text }));
      expect(error).toBeInstanceOf(BadParameterError);
      expect(error.parameter).toBe('from');
    },
  );
});

describe('resolveWindow', () => {
  const now = 10 * HOUR;
  it('defaults to the last hour', () => {
    expect(resolveWindow({}, now)).toEqual({ fromMs: 9 * HOUR, toMs: now });
  });
  it('takes an hour before an explicit end', () => {
    expect(resolveWindow({ to: 5 * HOUR }, now)).toEqual({ fromMs: 4 * HOUR, toMs: 5 * HOUR });
  });
  it('runs from an explicit start to now', () => {
    expect(resolveWindow({ from: 2 * HOUR }, now)).toEqual({ fromMs: 2 * HOUR, toMs: now });
  });
  it('refuses an empty or inverted window', () => {
    expect(captureError(() => resolveWindow({ from: 5 * HOUR, to: 5 * HOUR }, now)).parameter).toBe('from');
    expect(captureError(() => resolveWindow({ from: 6 * HOUR, to: 5 * HOUR }, now)).parameter).toBe('from');
  });
});

describe('steps', () => {
  it('picks a round step giving at most ~60 buckets', () => {
    expect(defaultStepMs({ fromMs: 0, toMs: HOUR })).toBe(60_000);
    expect(defaultStepMs({ fromMs: 0, toMs: 24 * HOUR })).toBe(30 * 60_000);
    expect(defaultStepMs({ fromMs: 0, toMs: 5 * 60_000 })).toBe(5000);
    expect(defaultStepMs({ fromMs: 0, toMs: 30 * 24 * HOUR })).toBe(12 * HOUR);
    expect(defaultStepMs({ fromMs: 0, toMs: 90 * 24 * HOUR })).toBe(48 * HOUR);
  });
  it('parses durations', () => {
    const schema = z.object({ step: stepParam });
    expect(parseParams(schema, { step: '5m' })).toEqual({ step: 300_000 });
    expect(parseParams(schema, { step: '60000' })).toEqual({ step: 60_000 });
    expect(captureError(() => parseParams(schema, { step: '10ms' })).parameter).toBe('step');
  });
  it('refuses too many buckets', () => {
    expect(captureError(() => resolveStep(1000, { fromMs: 0, toMs: 24 * HOUR })).parameter).toBe('step');
  });
});

function captureError(fn: () => unknown): BadParameterError {
  try {
    fn();
  } catch (error) {
    return error as BadParameterError;
  }
  throw new Error('expected an error');
}
