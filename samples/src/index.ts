/**
 * `@onceflow/samples`: the workshop's order system, for embedding in tests and tools (the
 * collector's demo mode starts `dist/demo.js` instead).
 */
export { startSystem, SERVICES, type OrderSystem, type SystemOptions, type ServiceName } from './system.js';
export { SCENARIOS, scenarioPlan, ALL_RECOVERABLE_FAULTS, NO_FAULTS, type FaultConfig, type FaultPlan } from './faults/faults.js';
export { createGroundTruth, readGroundTruth, type TruthRecord, type TruthKind } from './faults/ground-truth.js';
export { driveOrders, placeOrder, makeOrder, type Placed } from './load-generator.js';
export { verifySystem, waitUntilQuiet, type Verification } from './verify.js';
export { startMultiServiceTelemetry, type MultiServiceTelemetry } from './telemetry/multi-service.js';
