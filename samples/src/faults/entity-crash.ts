/**
 * Crashes of the key-value service: a message chosen by the plan kills its first attempt at
 * one step of the entity algorithm (the step drawn from the seed too), and the ground truth
 * records what the recovery will look like: a crash before the commit is a failed attempt
 * retried; after it, the redelivery is a duplicate. (A crash between a send and the clear sends
 * that message again: the endpoint's `onResend` records that when it happens.)
 */
import type { EntityStep } from '../kv/entity-endpoint.js';
import { decide, draw, type FaultConfig, type FaultPlan } from './faults.js';
import type { GroundTruth } from './ground-truth.js';

const STEPS: EntityStep[] = ['received', 'loaded', 'applied', 'committed', 'sent 1', 'cleared'];
const BEFORE_COMMIT = new Set<EntityStep>(['received', 'loaded', 'applied']);

export function entityCrashes(plan: FaultPlan, faults: FaultConfig, service: string, truth: GroundTruth) {
  return (step: EntityStep, delivery: { messageId: string; messageType: string; attempt: number }): boolean => {
    if (delivery.attempt !== 1 || !decide(plan, faults.entityCrash, 'entity-crash', service, delivery.messageId)) return false;
    const chosen = STEPS[Math.floor(draw(plan.seed, 'entity-crash-step', service, delivery.messageId) * STEPS.length)];
    if (step !== chosen) return false;
    const base = { messageId: delivery.messageId, service, messageType: delivery.messageType };
    const detail = `${service} crashed after "${step}"`;
    truth.record({ ...base, kind: BEFORE_COMMIT.has(step) ? 'retry' : 'duplicate-delivery', detail });
    return true;
  };
}
