/**
 * Jest global setup for e2e tests: starts the local control plane (building it first if needed)
 * unless E2E_CLUSTER=external says the caller runs one (see with-cluster.sh).
 * Plain JavaScript: Jest loads global setup with Node's own ESM loader, which does not apply the
 * ts-jest transform or the `.js` → `.ts` moduleNameMapper, so it cannot import cluster.ts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const clusterDir = dirname(fileURLToPath(import.meta.url));
const stateDir = join(clusterDir, '..', '.cluster');

/** Runs up.sh or down.sh with its output on this terminal. */
export function runScript(script) {
  execFileSync('bash', [join(clusterDir, script)], { stdio: 'inherit' });
}

/** Stops the cluster if jest is interrupted: jest skips globalTeardown on SIGINT/SIGTERM. */
function stopOnSignal(signal, code) {
  process.once(signal, () => {
    try {
      runScript('down.sh');
    } finally {
      process.exit(code);
    }
  });
}

export default async function globalSetup() {
  if (process.env.E2E_CLUSTER === 'external') {
    if (!existsSync(join(stateDir, 'pids')) || !existsSync(join(stateDir, 'kubeconfig'))) {
      throw new Error('E2E_CLUSTER=external but no cluster is up: run npm run cluster:up');
    }
    // Read by jest-global-teardown.js: jest shares globalThis between the two.
    globalThis.__E2E_OWNS_CLUSTER__ = false;
    return;
  }
  globalThis.__E2E_OWNS_CLUSTER__ = true;
  stopOnSignal('SIGINT', 130);
  stopOnSignal('SIGTERM', 143);
  // up.sh stops what it started when it fails, so a failed setup leaves nothing running.
  runScript('up.sh');
}
