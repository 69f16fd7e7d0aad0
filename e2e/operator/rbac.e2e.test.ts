/* eslint-disable @typescript-eslint/no-explicit-any -- untyped JSON from the API server, YAML files and Lua interop */
/**
 * The Kubernetes backend against a real API server with the chart's RBAC enforced, independent of
 * the agents: a stand-in pipeline asks for one GPU Job and then serving. Proves that every call the
 * operator makes (informers, Lease, Job create, pods, SSA of Deployment/Service/HPA/ConfigMap,
 * status patch, Events) is allowed to the chart's ServiceAccount, that GPU Jobs land on GPU nodes,
 * and that a pod's termination message reaches status.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { AppsV1Api, BatchV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { dump as stringify } from 'js-yaml';
import type { Estimate } from '../../agents/server/estimate.js';
import { startKubeOperator, type RunningOperator } from '../../operator/kube/backend.js';
import { OperatorConfig } from '../../operator/kube/config.js';
import type { ReconcileFn } from '../../operator/kube/controller.js';
import { installChart } from './helm.js';
import { createLogger } from '../../operator/observability/logger.js';
import { OperatorMetrics } from '../../operator/observability/metrics.js';
import { connectionOf, finishPod, kubectl, loadKubeConfig, serviceAccountKubeConfig, waitFor } from '../cluster/cluster.js';

const RELEASE = 'ta';
const RELEASE_NS = 'trainer-agent-system';
const ns = `rbac-${randomBytes(3).toString('hex')}`;
const treq = { group: 'traineragent.io', version: 'v1alpha1', plural: 'trainingrequests' };
const logLines: string[] = [];
const log = createLogger({ level: 'debug', destination: new Writable({ write: (c, _e, cb) => (logLines.push(String(c)), cb()) }) });

/** Stand-in pipeline: one GPU train job; on success serve; on failure Stalled with the message. */
const pipeline: ReconcileFn = async (request, observed) => {
  const name = `${request.metadata.name}-train-1-0000000000`;
  const job = observed.jobs[name];
  const now = new Date().toISOString();
  const overall = (type: string, reason: string, message: string) => ['Ready', 'Reconciling', 'Stalled'].map((t) => ({ type: t, status: t === type ? ('True' as const) : ('False' as const), reason, message: t === type ? message : '', lastTransitionTime: request.status?.conditions?.find((c) => c.type === t && c.status === (t === type ? 'True' : 'False'))?.lastTransitionTime ?? now }));
  const gen = request.metadata.generation ?? 1;
  if (!job || job.state === 'Pending' || job.state === 'Running') {
    return { actions: job ? [] : [{ kind: 'runJob', job: { name, kind: 'train', outDir: `${observed.artifactRoot}/jobs/${name}`, spec: { seed: 0 }, attempt: 1, gpu: observed.gpuAvailable, runtime: 'torch' } }, { kind: 'event', type: 'Normal', reason: 'Training', message: 'Started attempt 1' }], status: { observedGeneration: gen, phase: 'Training', conditions: overall('Reconciling', 'Training', 'Training attempt 1') }, requeue: true };
  }
  if (job.state === 'Failed') return { actions: [], status: { observedGeneration: gen, phase: 'Failed', conditions: overall('Stalled', 'TrainingFailed', job.message ?? '') }, requeue: false };
  const estimate = { replicas: 3, perReplicaQps: 10, saturationQps: 14, targetLatencyP99Ms: 100, predictedLatencyP99Ms: 20, memoryBytes: 5e8, accelerator: 'cpu', instances: 1, maxBatchSize: 8, reasoning: [] } as Estimate;
  const doc = `${observed.artifactRoot}/api/openapi.json`;
  const ready = observed.serving?.ready === true;
  return {
    actions: [{ kind: 'writeFile', path: doc, content: '{"openapi":"3.1.0"}' }, { kind: 'serve', model: request.metadata.name, repositoryDir: `${observed.artifactRoot}/repo`, estimate, apiDocPath: doc }],
    status: { observedGeneration: gen, phase: ready ? 'Ready' : 'Deploying', estimate, conditions: overall(ready ? 'Ready' : 'Reconciling', ready ? 'Ready' : 'Deploying', ready ? 'served' : 'deploying'), ...(ready ? { endpoint: { url: `${observed.serving!.url}/v2/models/${request.metadata.name}`, protocol: 'kserve-v2' as const, model: request.metadata.name } } : {}) },
    requeue: !ready,
  };
};

let admin: KubeConfig;
let operator: RunningOperator;
let artifacts: string;

const request = (name: string) => stringify({ apiVersion: 'traineragent.io/v1alpha1', kind: 'TrainingRequest', metadata: { name, namespace: ns }, spec: { requirement: 'spam filter', resources: { gpu: { count: 2 } } } });
async function apply(yaml: string): Promise<void> {
  const file = join(artifacts, `${randomBytes(4).toString('hex')}.yaml`);
  writeFileSync(file, yaml);
  await kubectl(['apply', '-f', file]);
}
const get = async (name: string) => (await admin.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ ...treq, namespace: ns, name })) as Record<string, any>;
const cond = (r: Record<string, any>, type: string) => (r['status']?.conditions ?? []).find((c: { type: string }) => c.type === type);

beforeAll(async () => {
  admin = loadKubeConfig();
  artifacts = mkdtempSync(join(tmpdir(), 'ta-e2e-rbac-'));
  installChart(RELEASE, RELEASE_NS, ['replicaCount=0', 'artifacts.persistence.create=false', 'artifacts.mountInOperator=false']);
  await kubectl(['create', 'namespace', ns]);
  await apply(stringify({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: `${ns}-artifacts` }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteMany'], storageClassName: 'e2e-manual', hostPath: { path: artifacts }, claimRef: { namespace: ns, name: 'trainer-agent-artifacts' } } }));
  await apply(stringify({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'trainer-agent-artifacts', namespace: ns }, spec: { accessModes: ['ReadWriteMany'], storageClassName: 'e2e-manual', volumeName: `${ns}-artifacts`, resources: { requests: { storage: '1Gi' } } } }));
  const sa = await serviceAccountKubeConfig(RELEASE_NS, 'ta-trainer-agent', admin);
  const config = OperatorConfig.parse({ namespace: RELEASE_NS, artifacts: { mountPath: artifacts, localPath: artifacts }, jobs: { podAnnotations: { 'traineragent.io/hold': 'true' }, resources: { requests: { cpu: '100m' } } }, leaderElection: { leaseName: 'ta-trainer-agent-leader' } });
  operator = await startKubeOperator({ connection: connectionOf(sa), config, log, metrics: new OperatorMetrics(), reconcile: pipeline, probePort: 0, identity: 'e2e-rbac' });
  await waitFor('leadership', async () => (operator.isLeader() ? true : undefined), 30_000);
}, 120_000);

afterAll(async () => {
  await operator?.stop();
  const errors = logLines.filter((l) => /"level":"(error|warn)"/.test(l));
  if (errors.length) process.stderr.write(`[e2e rbac] operator warnings/errors:\n${errors.join('')}`);
});

describe('Kubernetes backend with the chart RBAC', () => {
  it('holds the Lease in the release namespace', async () => {
    const lease = await admin.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: RELEASE_NS, name: 'ta-trainer-agent-leader' });
    expect(lease.spec!.holderIdentity).toBe('e2e-rbac');
    expect(lease.spec!.leaseDurationSeconds).toBe(15);
  });

  it('runs a GPU Job on a GPU node, then serves with server-side apply, all as the ServiceAccount', async () => {
    await apply(request('ok'));
    const batch = admin.makeApiClient(BatchV1Api);
    const core = admin.makeApiClient(CoreV1Api);
    const job = await waitFor('Job', async () => (await batch.listNamespacedJob({ namespace: ns, labelSelector: 'traineragent.io/request=ok' })).items[0], 30_000);
    expect(job.spec!.template.spec!.containers[0]!.resources!.limits!['nvidia.com/gpu']).toBe('2');
    const pod = await waitFor('pod Running on a node', async () => (await core.listNamespacedPod({ namespace: ns, labelSelector: `batch.kubernetes.io/job-name=${job.metadata!.name}` })).items.find((p) => p.status?.phase === 'Running'), 60_000);
    expect(pod.spec!.nodeName).toMatch(/^kwok-gpu-/);
    expect(cond(await get('ok'), 'Reconciling').status).toBe('True');
    const outDir = job.spec!.template.spec!.containers[0]!.args![3]!;
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'result.json'), '{"accuracy":0.99}');
    await finishPod(ns, pod.metadata!.name!, 0, '{"ok":true}');
    const ready = await waitFor('Ready', async () => (cond(await get('ok'), 'Ready')?.status === 'True' ? get('ok') : undefined), 120_000, 500);
    expect(ready['status'].endpoint.url).toBe(`http://ok-triton.${ns}.svc:8000/v2/models/ok`);
    const deployment = await admin.makeApiClient(AppsV1Api).readNamespacedDeployment({ namespace: ns, name: 'ok-triton' });
    expect(deployment.spec!.replicas).toBe(3);
    expect(deployment.metadata!.managedFields!.some((f) => f.manager === 'trainer-agent' && f.operation === 'Apply')).toBe(true);
    expect((await core.readNamespacedConfigMap({ namespace: ns, name: 'ok-api' })).data!['openapi.json']).toContain('3.1.0');
    expect((await core.readNamespacedService({ namespace: ns, name: 'ok-triton' })).spec!.ports!.length).toBe(3);
    const events = await core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=ok' });
    expect(events.items.map((e) => e.reason)).toContain('Training');
    await kubectl(['wait', '--for=condition=Ready', 'trainingrequest/ok', '-n', ns, '--timeout=10s']);
  }, 180_000);

  it("a failed pod's termination message becomes a Stalled condition", async () => {
    await apply(request('bad'));
    const core = admin.makeApiClient(CoreV1Api);
    // backoffLimit 1: the Job retries once, so every pod it starts fails the same way.
    const finished = new Set<string>();
    const r = await waitFor('Stalled', async () => {
      for (const pod of (await core.listNamespacedPod({ namespace: ns, labelSelector: 'traineragent.io/request=bad' })).items) {
        if (pod.status?.phase !== 'Running' || finished.has(pod.metadata!.name!)) continue;
        finished.add(pod.metadata!.name!);
        await finishPod(ns, pod.metadata!.name!, 1, '{"ok":false,"error":"JobError: source emails: no column \'body\'"}');
      }
      return cond(await get('bad'), 'Stalled')?.status === 'True' ? get('bad') : undefined;
    }, 90_000, 500);
    expect(finished.size).toBe(2);
    expect(cond(r, 'Stalled').message).toContain("no column 'body'");
  }, 120_000);

  it('deleting the request garbage-collects its children', async () => {
    await kubectl(['delete', 'trainingrequest', 'ok', '-n', ns, '--timeout=60s']);
    await waitFor('children gone', async () => {
      const jobs = (await admin.makeApiClient(BatchV1Api).listNamespacedJob({ namespace: ns, labelSelector: 'traineragent.io/request=ok' })).items;
      const deps = (await admin.makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace: ns, labelSelector: 'traineragent.io/request=ok' })).items;
      return jobs.length + deps.length === 0 ? true : undefined;
    }, 90_000, 1000);
  }, 120_000);
});
