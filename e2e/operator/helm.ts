import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { clusterEnv, kubeconfigPath, repoRoot } from '../cluster/cluster.js';

/** The helm binary the cluster scripts unpacked. */
export const helmBin = (): string => join(clusterEnv()['E2E_TOOLS_BIN']!, 'helm');

const CRD = 'customresourcedefinition/trainingrequests.traineragent.io';

/**
 * `helm upgrade --install` the chart. The CRD outlives releases (resource-policy keep) and other
 * suites apply it with kubectl, so an existing CRD is first marked as this release's, the way Helm
 * adopts resources; otherwise the install fails on ownership and the suites depend on their order.
 */
export function installChart(release: string, namespace: string, sets: string[]): void {
  const kubectl = join(clusterEnv()['E2E_TOOLS_BIN']!, 'kubectl');
  const k = (...args: string[]) => execFileSync(kubectl, [`--kubeconfig=${kubeconfigPath}`, ...args], { stdio: 'pipe' });
  try {
    k('get', CRD);
    k('label', CRD, 'app.kubernetes.io/managed-by=Helm', '--overwrite');
    k('annotate', CRD, `meta.helm.sh/release-name=${release}`, `meta.helm.sh/release-namespace=${namespace}`, '--overwrite');
  } catch {
    // No CRD yet: the chart creates it.
  }
  execFileSync(helmBin(), ['upgrade', '--install', release, join(repoRoot, 'charts/trainer-agent'), `--kubeconfig=${kubeconfigPath}`, '--namespace', namespace, '--create-namespace', ...sets.flatMap((s) => ['--set', s])], { stdio: 'inherit' });
}
