/**
 * Leader election against the real API server when the leader's calls hang: two operator
 * processes share the Lease; the leader reaches the API server through a proxy that then freezes
 * (connections open, nothing answered). The leader must step down and exit within its renew
 * deadline — before its lease expires — and only then may the standby take over.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { dump, load } from 'js-yaml';
import { clusterEnv, kubectl, loadKubeConfig, serviceAccountKubeConfig, waitFor } from '../cluster/cluster.js';
import { FreezableProxy } from './freezable-proxy.js';
import { installChart } from './helm.js';
import { OperatorProcess } from './operator-process.js';

const RELEASE = 'ta';
const RELEASE_NS = 'trainer-agent-system';
const LEASE = 'ta-le-e2e';
let admin: KubeConfig;
let work: string;
let proxy: FreezableProxy;
const operators: OperatorProcess[] = [];

/** An operator process with short lease timings; `server` replaces the API server address. */
async function operator(identity: string, server?: string): Promise<OperatorProcess> {
  const sa = await serviceAccountKubeConfig(RELEASE_NS, 'ta-trainer-agent', admin);
  const config = load(sa.exportConfig()) as { clusters: { cluster: { server: string } }[] };
  if (server) for (const c of config.clusters) c.cluster.server = server;
  const kubeconfig = join(work, `${identity}.kubeconfig`);
  writeFileSync(kubeconfig, dump(config), { mode: 0o600 });
  const configFile = join(work, `${identity}.yaml`);
  // Its own namespace to watch (none of the other suites' requests), and a short lease.
  writeFileSync(configFile, dump({ namespace: RELEASE_NS, watchNamespace: 'le-e2e-empty', leaderElection: { leaseName: LEASE, leaseDurationSeconds: 6, renewDeadlineSeconds: 4, retryPeriodSeconds: 1 } }));
  const process = new OperatorProcess({ kubeconfig, config: configFile, identity, logFile: join(work, `${identity}.log`) });
  operators.push(process);
  return process;
}

const lease = () => admin.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: RELEASE_NS, name: LEASE });

beforeAll(async () => {
  admin = loadKubeConfig();
  work = mkdtempSync(join(tmpdir(), 'ta-e2e-le-'));
  installChart(RELEASE, RELEASE_NS, ['replicaCount=0', 'artifacts.persistence.create=false', 'artifacts.mountInOperator=false']);
  await kubectl(['create', 'namespace', 'le-e2e-empty']).catch(() => undefined);
  const api = new URL(clusterEnv()['E2E_API_SERVER']!);
  proxy = new FreezableProxy({ host: api.hostname, port: Number(api.port) });
}, 120_000);

afterAll(async () => {
  for (const o of operators) await o.stop();
  await proxy.stop();
});

describe('leader election with a hung API server', () => {
  it('the leader whose calls hang steps down within its renew deadline, before the standby takes over', async () => {
    const port = await proxy.start();
    const a = await operator('le-a', `https://127.0.0.1:${port}`);
    await a.start();
    await waitFor('a leads', async () => ((await lease()).spec?.holderIdentity === 'le-a' ? true : undefined), 30_000, 250);
    const b = await operator('le-b');
    await b.start();
    expect((await lease()).spec?.holderIdentity).toBe('le-a');

    const lastRenew = Date.parse(String((await lease()).spec!.renewTime));
    proxy.freeze();
    const frozenAt = Date.now();
    await waitFor('a exits', async () => (a.incarnations[0]!.exit ? true : undefined), 20_000, 100);
    const exitedAt = a.incarnations[0]!.exitedAt!;
    expect(a.incarnations[0]!.exit!.code).toBe(1);
    // It stepped down at its renew deadline (4 s after its last renewal), not later.
    const steppedDown = readFileSync(join(work, 'le-a.log'), 'utf8').split('\n').find((l) => l.includes('stepped down'));
    expect(steppedDown).toBeDefined();
    const steppedDownAt = Date.parse((JSON.parse(steppedDown!) as { time: string }).time);
    expect(steppedDownAt - lastRenew).toBeLessThan(4000 + 1500);
    expect(steppedDownAt - frozenAt).toBeLessThan(4000 + 1500);

    const taken = await waitFor('b leads', async () => {
      const l = await lease();
      return l.spec?.holderIdentity === 'le-b' ? l : undefined;
    }, 30_000, 250);
    // The standby waited for the lease to expire, and the old leader was gone by then.
    const acquiredAt = Date.parse(String(taken.spec!.acquireTime));
    expect(acquiredAt).toBeGreaterThanOrEqual(lastRenew + 6000);
    expect(exitedAt).toBeLessThan(acquiredAt);
    expect(taken.spec!.leaseTransitions).toBeGreaterThanOrEqual(1);
    const metrics = await b.metrics();
    expect(metrics).toMatch(new RegExp(`leader_election_master_status\\{name="${LEASE}"\\} 1`));
  }, 120_000);
});
