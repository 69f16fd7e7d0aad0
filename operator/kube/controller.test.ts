/* eslint-disable @typescript-eslint/no-explicit-any -- untyped JSON from the API server */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { KubernetesObject, V1Deployment, V1Job, V1Pod } from '@kubernetes/client-node';
import { OfflineBrain } from '../../agents/brain/offline.js';
import type { Estimate } from '../../agents/server/estimate.js';
import { createLogger } from '../observability/logger.js';
import type { Observed, ObservedSource } from '../pipeline/types.js';
import { ArtifactStore } from './artifacts.js';
import type { TrainJob } from './builders/train-job.js';
import type { ClusterApi, ClusterView } from './client.js';
import { OperatorConfig } from './config.js';
import { TrainingRequestController, podsOfJob, type ReconcileFn } from './controller.js';

const quiet = createLogger({ destination: new Writable({ write: (_c, _e, cb) => cb() }) });

/** A cluster in memory: one TrainingRequest and whatever the controller creates; reads are cache reads. */
function fakeCluster(request: Record<string, any>) {
  const state = { request: request as Record<string, any> | undefined, jobs: [] as V1Job[], pods: [] as V1Pod[], deployment: undefined as V1Deployment | undefined, applied: [] as KubernetesObject[], events: [] as { reason?: string; message?: string }[], statusPatches: [] as unknown[], created: 0, secretReads: 0, trainJobs: [] as TrainJob[], workloadMessage: undefined as string | undefined };
  const api: ClusterApi = {
    patchRequestStatus: async (_ns, _n, patch) => {
      state.statusPatches.push(patch);
      state.request!['status'] = { ...(state.request!['status'] ?? {}), ...(patch as object) };
      return structuredClone(state.request!);
    },
    patchRequestMetadata: async (_ns, _n, metadata) => (Object.assign(state.request!['metadata'], metadata), structuredClone(state.request!)),
    createJob: async (job) => {
      if (state.jobs.some((j) => j.metadata!.name === job.metadata!.name)) return undefined;
      state.created += 1;
      const created = { ...job, metadata: { ...job.metadata, uid: `uid-${job.metadata!.name}` }, status: {} };
      state.jobs.push(created);
      return created;
    },
    apply: async (o) => (state.applied.push(o), o),
    createEvent: async (e) => void state.events.push(e),
    createTrainJob: async (t) => (state.trainJobs.push(t), t),
    readWorkloadMessage: async () => state.workloadMessage,
    readSecretKey: async () => (state.secretReads++, 'sk-secret'),
    readConfigMap: async () => undefined,
  };
  const view: ClusterView = {
    request: () => (state.request ? structuredClone(state.request) : undefined),
    jobs: () => state.jobs,
    pods: (_ns, job) => podsOfJob(state.pods, job),
    deployment: () => state.deployment,
    trainJobs: () => state.trainJobs,
  };
  return { api, view, state };
}

const request = () => ({
  apiVersion: 'traineragent.io/v1alpha1',
  kind: 'TrainingRequest',
  metadata: { name: 'spam', namespace: 'team-a', uid: 'uid-1', generation: 1, resourceVersion: '5', labels: { 'app.kubernetes.io/instance': 'argo-app' } },
  spec: { requirement: 'spam filter', resources: { gpu: { count: 1 } } },
});

/** A stand-in pipeline: wants one train job until it succeeded, then serving. */
const pipeline: ReconcileFn = async (req, observed: Observed) => {
  const name = 'spam-train-1-abc';
  const job = observed.jobs[name];
  const estimate = { replicas: 2, memoryBytes: 5e8, accelerator: 'cpu' } as Estimate;
  if (!job) return { actions: [{ kind: 'runJob', job: { name, kind: 'train', outDir: `${observed.artifactRoot}/jobs/${name}`, spec: { seed: 0 }, attempt: 1, gpu: observed.gpuAvailable, runtime: 'torch' } }, { kind: 'event', type: 'Normal', reason: 'Training', message: 'Started attempt 1' }], status: { ...req.status, phase: 'Training', observedGeneration: 1 }, requeue: true };
  if (job.state === 'Failed') return { actions: [], status: { ...req.status, phase: 'Failed', conditions: [{ type: 'Stalled', status: 'True', reason: 'TrainingFailed', message: job.message ?? '', lastTransitionTime: '2025-01-01T00:00:00Z' }] }, requeue: false };
  if (job.state !== 'Succeeded') return { actions: [], status: { ...req.status, phase: 'Training' }, requeue: true };
  const doc = `${observed.artifactRoot}/api/openapi.json`;
  return { actions: [{ kind: 'writeFile', path: doc, content: '{"openapi":"3.1.0"}' }, { kind: 'serve', model: 'spam', repositoryDir: `${observed.artifactRoot}/repo`, estimate, apiDocPath: doc }], status: { ...req.status, phase: observed.serving?.ready ? 'Ready' : 'Deploying', metric: JSON.stringify(job.result) }, requeue: !observed.serving?.ready };
};

const noSources = { resolve: () => ({ sources: [] as ObservedSource[], mounts: [] }) };

function controllerFor(cluster: { api: ClusterApi; view: ClusterView }, dir: string, extra: Partial<ConstructorParameters<typeof TrainingRequestController>[0]> = {}) {
  const config = OperatorConfig.parse({ artifacts: { mountPath: '/artifacts', localPath: dir }, serving: { autoscaling: { enabled: true } } });
  return new TrainingRequestController({ api: cluster.api, view: cluster.view, config, store: new ArtifactStore(config), log: quiet, reconcile: pipeline, sources: noSources, brainFor: () => new OfflineBrain(), random: () => 0.5, ...extra });
}

describe('TrainingRequestController', () => {
  it('creates the Job once with its spec on the volume, survives a restart without a duplicate, then serves', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ta-ctl-'));
    const cluster = fakeCluster(request());
    const { state } = cluster;
    const first = await controllerFor(cluster, dir).reconcile('team-a', 'spam');
    // Jobs running: only a slow safety requeue (watch events drive progress), jittered ±20%.
    expect(first.requeueAfterMs).toBe(300_000);
    expect(first.calls).toEqual({ reads: 0, writes: 3 });
    expect(state.created).toBe(1);
    const job = state.jobs[0]!;
    expect(job.spec!.template.spec!.containers[0]!.resources!.limits!['nvidia.com/gpu']).toBe('1');
    expect(job.metadata!.labels).not.toHaveProperty('app.kubernetes.io/instance');
    expect(JSON.parse(readFileSync(join(dir, 'team-a/spam/jobs/spam-train-1-abc/spec.json'), 'utf8'))).toEqual({ seed: 0 });
    expect(state.events.map((e) => e.reason)).toEqual(['Training']);
    expect(state.statusPatches).toEqual([{ phase: 'Training', observedGeneration: 1 }]);

    // A new operator process: the Job is found by its deterministic name, nothing is duplicated,
    // and an unchanged status is not written again: no API call at all.
    state.jobs[0]!.status = { active: 1 };
    const again = await controllerFor(cluster, dir).reconcile('team-a', 'spam');
    expect(again.calls).toEqual({ reads: 0, writes: 0 });
    expect(state.created).toBe(1);
    expect(state.statusPatches).toHaveLength(1);

    // The job finishes: result.json is read from the volume, serving is applied with SSA.
    state.jobs[0]!.status = { conditions: [{ type: 'Complete', status: 'True' }] } as V1Job['status'];
    writeFileSync(join(dir, 'team-a/spam/jobs/spam-train-1-abc/result.json'), '{"accuracy":0.99}');
    const controller = controllerFor(cluster, dir);
    await controller.reconcile('team-a', 'spam');
    expect(state.applied.map((o) => `${o.kind}/${o.metadata!.name}`)).toEqual(['Deployment/spam-triton', 'Service/spam-triton', 'HorizontalPodAutoscaler/spam-triton', 'ConfigMap/spam-api']);
    expect((state.applied[0] as V1Deployment).spec!.replicas).toBe(2);
    expect(readFileSync(join(dir, 'team-a/spam/api/openapi.json'), 'utf8')).toContain('3.1.0');
    expect(state.request!['status'].metric).toBe('{"accuracy":0.99}');
    expect(JSON.stringify(state.request!['status'])).not.toContain('sk-secret');

    // Rolling out: the same objects are not applied again while nothing changed.
    state.deployment = { metadata: { name: 'spam-triton', annotations: { 'traineragent.io/model': 'spam' } }, spec: { replicas: 2 }, status: {} } as unknown as V1Deployment;
    const rolling = await controller.reconcile('team-a', 'spam');
    expect(state.applied).toHaveLength(4);
    expect(rolling.calls).toEqual({ reads: 0, writes: 0 });
  });

  it("hands a failed Job's termination message to the pipeline", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ta-ctl-'));
    const cluster = fakeCluster(request());
    await controllerFor(cluster, dir).reconcile('team-a', 'spam');
    cluster.state.jobs[0]!.status = { conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] } as V1Job['status'];
    cluster.state.pods = [{ metadata: { labels: { 'batch.kubernetes.io/job-name': 'spam-train-1-abc' } }, status: { containerStatuses: [{ name: 'job', state: { terminated: { exitCode: 1, message: '{"ok":false,"error":"ValueError: only one class"}' } } }] } } as unknown as V1Pod];
    const outcome = await controllerFor(cluster, dir).reconcile('team-a', 'spam');
    expect(outcome.requeueAfterMs).toBeUndefined();
    expect(cluster.state.request!['status'].phase).toBe('Failed');
    expect(cluster.state.request!['status'].conditions[0].message).toBe('ValueError: only one class; BackoffLimitExceeded');
  });

  it('does nothing for a request that is gone, and forgets its staged sources', async () => {
    const cluster = fakeCluster(request());
    cluster.state.request = undefined;
    const forgotten: string[] = [];
    const outcome = await controllerFor(cluster, mkdtempSync(join(tmpdir(), 'ta-ctl-')), { sources: { ...noSources, forget: (key) => forgotten.push(key) } }).reconcile('team-a', 'spam');
    expect(outcome).toEqual({ calls: { reads: 0, writes: 0 } });
    expect(cluster.state.created).toBe(0);
    expect(forgotten).toEqual(['team-a/spam']);
  });

  it('records on a data Job the staged sources it was made from', async () => {
    const cluster = fakeCluster(request());
    const reconcile: ReconcileFn = async (req, observed) => ({ actions: [{ kind: 'runJob', job: { name: 'spam-data-abc', kind: 'data', outDir: `${observed.artifactRoot}/jobs/spam-data-abc`, spec: {}, runtime: 'sklearn' } }], status: { ...req.status, phase: 'PreparingData' }, requeue: true });
    const sources = { ...noSources, record: () => '[{"key":"k","location":"/artifacts/e.jsonl","digest":"sha256:1"}]' };
    await controllerFor(cluster, mkdtempSync(join(tmpdir(), 'ta-ctl-')), { sources, reconcile }).reconcile('team-a', 'spam');
    expect(cluster.state.jobs[0]!.metadata!.annotations).toEqual({ 'traineragent.io/sources': '[{"key":"k","location":"/artifacts/e.jsonl","digest":"sha256:1"}]' });
    expect(cluster.state.jobs[0]!.spec!.template.metadata!.annotations).toBeUndefined();
  });

  it('hands pending sources to the pipeline as they are, without waiting for them', async () => {
    const cluster = fakeCluster(request());
    let seen: ObservedSource[] = [];
    const sources = { resolve: () => ({ sources: [{ name: 'emails', role: 'train' as const, location: '/artifacts/e.jsonl', pending: 'staging pvc://x/e.jsonl' }], mounts: [] }) };
    const reconcile: ReconcileFn = async (req, observed) => ((seen = observed.sources), { actions: [], status: { ...req.status, phase: 'PreparingData' }, requeue: true });
    await controllerFor(cluster, mkdtempSync(join(tmpdir(), 'ta-ctl-')), { sources, reconcile }).reconcile('team-a', 'spam');
    expect(seen).toEqual([{ name: 'emails', role: 'train', location: '/artifacts/e.jsonl', pending: 'staging pvc://x/e.jsonl' }]);
  });

  it('adds no finalizer, and lets a request deleted with the finalizer of an older version go', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ta-ctl-'));
    const plain = fakeCluster(request());
    await controllerFor(plain, dir).reconcile('team-a', 'spam');
    expect(plain.state.request!['metadata']).not.toHaveProperty('finalizers');

    const old = request() as Record<string, any>;
    old.metadata.finalizers = ['traineragent.io/artifacts', 'example.com/keep'];
    old.metadata.deletionTimestamp = '2025-01-01T00:00:00Z';
    const cluster = fakeCluster(old);
    const outcome = await controllerFor(cluster, dir).reconcile('team-a', 'spam');
    expect(cluster.state.request!['metadata'].finalizers).toEqual(['example.com/keep']);
    expect(outcome.calls).toEqual({ reads: 0, writes: 1 });
    expect(cluster.state.created).toBe(0);
  });
});

describe('TrainingRequestController: training across nodes', () => {
  const placement = { nodes: 2, gpusPerNode: 1, processesPerNode: 1 };
  const group: ReconcileFn = async (req, observed) => ({
    actions: observed.jobs['spam-train-1-abc'] ? [] : [{ kind: 'runJob', job: { name: 'spam-train-1-abc', kind: 'train', outDir: `${observed.artifactRoot}/jobs/spam-train-1-abc`, spec: {}, attempt: 1, gpu: true, runtime: 'torch', placement } }],
    status: { ...req.status, phase: 'Training' },
    requeue: true,
  });

  it('without Kubeflow Trainer: the headless Service first, then an Indexed Job', async () => {
    const cluster = fakeCluster(request());
    await controllerFor(cluster, mkdtempSync(join(tmpdir(), 'ta-ctl-')), { reconcile: group }).reconcile('team-a', 'spam');
    expect(cluster.state.applied.map((o) => `${o.kind}/${o.metadata!.name}`)).toEqual(['Service/spam-train-1-abc']);
    expect(cluster.state.jobs[0]!.spec).toMatchObject({ completionMode: 'Indexed', completions: 2, backoffLimit: 0 });
    expect(cluster.state.trainJobs).toEqual([]);
  });

  it('with Kubeflow Trainer (found by discovery): a TrainJob, no Job', async () => {
    const cluster = fakeCluster(request());
    await controllerFor(cluster, mkdtempSync(join(tmpdir(), 'ta-ctl-')), { reconcile: group, capabilities: { trainJobs: true } }).reconcile('team-a', 'spam');
    expect(cluster.state.trainJobs.map((t) => t.metadata!.name)).toEqual(['spam-train-1-abc']);
    expect(cluster.state.jobs).toEqual([]);
  });

  it('sees the retries of a group as one job: the newest, with the time all of them ran', async () => {
    const cluster = fakeCluster(request());
    const member = (name: string, retry: number, status: V1Job['status']): V1Job => ({ metadata: { name, uid: `uid-${name}`, labels: { 'traineragent.io/group': 'spam-train-1-abc', 'traineragent.io/retry': String(retry) }, ownerReferences: [{ apiVersion: 'traineragent.io/v1alpha1', kind: 'TrainingRequest', name: 'spam', uid: 'uid-1' }] }, status });
    cluster.state.jobs.push(
      member('spam-train-1-abc', 0, { startTime: new Date('2026-01-01T00:00:00Z'), conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', lastTransitionTime: new Date('2026-01-01T00:10:00Z') }] } as V1Job['status']),
      member('spam-train-1-abc-r1', 1, { startTime: new Date('2026-01-01T00:11:00Z'), active: 2 }),
    );
    let seen: Observed['jobs'] = {};
    const reconcile: ReconcileFn = async (req, observed) => ((seen = observed.jobs), { actions: [], status: { ...req.status, phase: 'Training' }, requeue: true });
    await controllerFor(cluster, mkdtempSync(join(tmpdir(), 'ta-ctl-')), { reconcile, now: () => new Date('2026-01-01T00:16:00Z') }).reconcile('team-a', 'spam');
    expect(seen).toEqual({ 'spam-train-1-abc': { state: 'Running', retry: 1, runSeconds: 600 + 300 } });
  });

  it("asks Kueue's Workload why a suspended Job waits", async () => {
    const cluster = fakeCluster(request());
    cluster.state.workloadMessage = "couldn't assign flavors to pod set main: insufficient quota for nvidia.com/gpu (Pending)";
    cluster.state.jobs.push({ metadata: { name: 'spam-train-1-abc', uid: 'uid-j', labels: { 'kueue.x-k8s.io/queue-name': 'team-a' }, ownerReferences: [{ apiVersion: 'traineragent.io/v1alpha1', kind: 'TrainingRequest', name: 'spam', uid: 'uid-1' }] }, spec: { suspend: true }, status: {} } as unknown as V1Job);
    let seen: Observed['jobs'] = {};
    const reconcile: ReconcileFn = async (req, observed) => ((seen = observed.jobs), { actions: [], status: { ...req.status, phase: 'Training' }, requeue: true });
    await controllerFor(cluster, mkdtempSync(join(tmpdir(), 'ta-ctl-')), { reconcile }).reconcile('team-a', 'spam');
    expect(seen['spam-train-1-abc']!.waiting).toEqual({ reason: 'Queued', message: "queue team-a: couldn't assign flavors to pod set main: insufficient quota for nvidia.com/gpu (Pending)" });
  });
});
