/**
 * Jest global teardown for e2e tests: always stops the cluster jest-global-setup.js started, whatever
 * the tests did; logs stay in e2e/.cluster/logs. Plain JavaScript for the reason given there.
 */
import { runScript } from './jest-global-setup.js';

export default async function globalTeardown() {
  if (globalThis.__E2E_OWNS_CLUSTER__ === false) return;
  runScript('down.sh');
}
