/** A fresh database name per test run (`onceflow_test_<random>`), so parallel runs never collide. */
import { randomBytes } from 'node:crypto';

export function testDatabaseName(): string {
  return `onceflow_test_${randomBytes(6).toString('hex')}`;
}
