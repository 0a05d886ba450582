/**
 * The samples keep their own copy of the collector's anomaly kinds (this package does not
 * depend on the collector at run time); the copy must not drift, or a new kind would go
 * unscored.
 */
import { describe, expect, it } from 'vitest';
import { ANOMALY_KINDS } from '../../../collector/src/contract/anomalies.js';
import { DETECTABLE_KINDS } from './ground-truth.js';

describe('detectable kinds', () => {
  it("are exactly the collector's anomaly kinds", () => {
    expect([...DETECTABLE_KINDS].sort()).toEqual([...ANOMALY_KINDS].sort());
  });
});
