/* eslint-disable @typescript-eslint/no-explicit-any -- untyped JSON from the API server, YAML files and Lua interop */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { KubernetesObject, V1Deployment, V1Job, V1Pod } from '@kubernetes/client-node';
import { OfflineBrain } from '../../agents/brain/offline.js';
import type { Estimate } from '../../agents/server/estimate.js';
import { createLogger } from '../observability/logger.js';
import type { Observed } from '../pipeline/types.js';
import { ArtifactStore } from './artifacts.js';
import type { ClusterApi } from './client.js';
import { OperatorConfig } from './config.js';
import { TrainingRequestController, type ReconcileFn } from './controller.js';

const quiet = createLogger({ destination: new Writable({ write: (_c, _e, cb) => cb() }) });

/** A cluster in memory: one TrainingRequest and whatever the controller creates. */
function fakeCluster(request: Record<string, any>) {
  const state = { request, jobs: [] as V1Job[], pods: [] as V1Pod[], deployment: undefined as V1Deployment | undefined, applied: [] as KubernetesObject[], events: [] as { reason?: string; message?: string }[], statusPatches: [] as unknown[], created: 0 };
  const api: ClusterApi = {
    getRequest: async () => structuredClone(state.request),
    patchRequestStatus: async (_ns, _n, patch) => {
      state.statusPatches.push(patch);
      state.request.status = { ...(state.request.status ?? {}), ...(patch as object) };
    },
    patchRequestMetadata: async (_ns, _n, metadata) => void Object.assign(state.request.metadata, metadata),
    listJobs: async () => state.jobs,
    listPods: async () => state.pods,
    createJob: async (job) => {
      if (state.jobs.some((j) => j.metadata!.name === job.metadata!.name)) return false;
      state.created += 1;
      state.jobs.push({ ...job, status: {} });
      return true;
    },
    getDeployment: async () => state.deployment,
    apply: async (o) => (state.applied.push(o), o),
    createEvent: async (e) => void state.events.push(e),
    readSecretKey: async () => 'sk-secret',
    readConfigMap: async () => undefined,
  };
  return { api, state };
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

function controllerFor(api: ClusterApi, dir: string) {
  const config = OperatorConfig.parse({ artifacts: { mountPath: '/artifacts', localPath: dir }, serving: { autoscaling: { enabled: true } } });
  return new TrainingRequestController({ api, config, store: new ArtifactStore(config), log: quiet, reconcile: pipeline, brainFor: async () => new OfflineBrain() });
}

describe('TrainingRequestController', () => {
  it('creates the Job once with its spec on the volume, survives a restart without a duplicate, then serves', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ta-ctl-'));
    const { api, state } = fakeCluster(request());
    const first = await controllerFor(api, dir).reconcile('team-a', 'spam');
    expect(first.requeueAfterMs).toBe(10_000);
    expect(state.created).toBe(1);
    const job = state.jobs[0]!;
    expect(job.spec!.template.spec!.containers[0]!.resources!.limits!['nvidia.com/gpu']).toBe('1');
    expect(job.metadata!.labels).not.toHaveProperty('app.kubernetes.io/instance');
    expect(JSON.parse(readFileSync(join(dir, 'team-a/spam/jobs/spam-train-1-abc/spec.json'), 'utf8'))).toEqual({ seed: 0 });
    expect(state.events.map((e) => e.reason)).toEqual(['Training']);
    expect(state.statusPatches).toEqual([{ phase: 'Training', observedGeneration: 1 }]);

    // A new operator process: the Job is found by its deterministic name, nothing is duplicated,
    // and an unchanged status is not written again.
    state.jobs[0]!.status = { active: 1 };
    await controllerFor(api, dir).reconcile('team-a', 'spam');
    expect(state.created).toBe(1);
    expect(state.statusPatches).toHaveLength(1);

    // The job finishes: result.json is read from the volume, serving is applied with SSA.
    state.jobs[0]!.status = { conditions: [{ type: 'Complete', status: 'True' }] } as V1Job['status'];
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'team-a/spam/jobs/spam-train-1-abc/result.json'), '{"accuracy":0.99}');
    await controllerFor(api, dir).reconcile('team-a', 'spam');
    expect(state.applied.map((o) => `${o.kind}/${o.metadata!.name}`)).toEqual(['Deployment/spam-triton', 'Service/spam-triton', 'HorizontalPodAutoscaler/spam-triton', 'ConfigMap/spam-api']);
    expect((state.applied[0] as V1Deployment).spec!.replicas).toBe(2);
    expect(readFileSync(join(dir, 'team-a/spam/api/openapi.json'), 'utf8')).toContain('3.1.0');
    expect(state.request.status.metric).toBe('{"accuracy":0.99}');
    expect(JSON.stringify(state.request.status)).not.toContain('sk-secret');
  });

  it("hands a failed Job's termination message to the pipeline", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ta-ctl-'));
    const { api, state } = fakeCluster(request());
    await controllerFor(api, dir).reconcile('team-a', 'spam');
    state.jobs[0]!.status = { conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] } as V1Job['status'];
    state.pods = [{ metadata: { labels: { 'batch.kubernetes.io/job-name': 'spam-train-1-abc' } }, status: { containerStatuses: [{ name: 'job', state: { terminated: { exitCode: 1, message: '{"ok":false,"error":"ValueError: only one class"}' } } }] } } as unknown as V1Pod];
    const outcome = await controllerFor(api, dir).reconcile('team-a', 'spam');
    expect(outcome.requeueAfterMs).toBeUndefined();
    expect(state.request.status.phase).toBe('Failed');
    expect(state.request.status.conditions[0].message).toBe('ValueError: only one class; BackoffLimitExceeded');
  });

  it('does nothing for a request that is gone', async () => {
    const { api, state } = fakeCluster(request());
    api.getRequest = async () => undefined;
    await expect(controllerFor(api, mkdtempSync(join(tmpdir(), 'ta-ctl-'))).reconcile('team-a', 'spam')).resolves.toEqual({});
    expect(state.created).toBe(0);
  });

  it('adds the finalizer only for artifacts on S3, and removes it on deletion', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ta-ctl-'));
    const r = request() as Record<string, any>;
    r.spec.storage = { s3: { bucket: 'models' } };
    const { api, state } = fakeCluster(r);
    await controllerFor(api, dir).reconcile('team-a', 'spam');
    expect(state.request.metadata.finalizers).toEqual(['traineragent.io/artifacts']);
    state.request.metadata.deletionTimestamp = '2025-01-01T00:00:00Z';
    await controllerFor(api, dir).reconcile('team-a', 'spam');
    expect(state.request.metadata.finalizers).toEqual([]);

    const plain = fakeCluster(request());
    await controllerFor(plain.api, dir).reconcile('team-a', 'spam');
    expect(plain.state.request.metadata).not.toHaveProperty('finalizers');
  });
});
