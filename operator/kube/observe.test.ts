import type { V1Deployment, V1Job, V1Pod } from '@kubernetes/client-node';
import type { TrainJob } from './builders/train-job.js';
import { failureText, jobState, observeJob, observeServing, observeTrainJob } from './observe.js';

const job = (conditions: { type: string; status: string; reason?: string; message?: string }[], extra: Record<string, number> = {}): V1Job => ({ metadata: { name: 'j' }, status: { conditions: conditions.map((c) => ({ lastTransitionTime: new Date(), ...c })), ...extra } }) as V1Job;
const pod = (exitCode: number, message?: string, finishedAt = '2025-01-01T00:00:00Z'): V1Pod => ({ metadata: { labels: { 'batch.kubernetes.io/job-name': 'j' } }, status: { containerStatuses: [{ name: 'job', image: 'i', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode, ...(message ? { message } : {}), finishedAt: new Date(finishedAt) } } }] } }) as V1Pod;

describe('observeJob', () => {
  it.each([
    { name: 'no pods yet', job: job([]), state: 'Pending' },
    { name: 'a pod is active', job: job([], { active: 1 }), state: 'Running' },
    { name: 'Complete', job: job([{ type: 'Complete', status: 'True' }]), state: 'Succeeded' },
    { name: 'SuccessCriteriaMet before Complete', job: job([{ type: 'SuccessCriteriaMet', status: 'True' }]), state: 'Succeeded' },
    { name: 'Failed', job: job([{ type: 'Failed', status: 'True' }]), state: 'Failed' },
    { name: 'FailureTarget before Failed', job: job([{ type: 'FailureTarget', status: 'True' }]), state: 'Failed' },
  ])('state: $name → $state', ({ job, state }) => expect(jobState(job)).toBe(state));

  it('a succeeded Job reports result.json', () => {
    expect(observeJob(job([{ type: 'Complete', status: 'True' }]), [pod(0, '{"ok":true}')], () => ({ accuracy: 0.99 }))).toEqual({ state: 'Succeeded', result: { accuracy: 0.99 } });
  });

  it('a succeeded Job whose result the operator cannot read is a failure that says why', () => {
    const seen = observeJob(job([{ type: 'Complete', status: 'True' }]), [], () => undefined);
    expect(seen.state).toBe('Failed');
    expect(seen.message).toMatch(/result\.json is not readable/);
  });

  it("a failed Job carries the newest failed pod's termination message", () => {
    const seen = observeJob(
      job([{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }]),
      [pod(1, '{"ok":false,"error":"old"}', '2025-01-01T00:00:00Z'), pod(1, '{"ok":false,"kind":"error","job":"data","error":"JobError: no column \'text\'"}', '2025-01-01T00:05:00Z')],
      () => undefined,
    );
    expect(seen).toEqual({ state: 'Failed', message: "JobError: no column 'text'; BackoffLimitExceeded: Job has reached the specified backoff limit" });
  });

  it('a deadline with no pod message says so', () => {
    const seen = observeJob(job([{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' }]), [], () => undefined);
    expect(seen.message).toBe('DeadlineExceeded: Job was active longer than specified deadline');
  });

  it.each([
    { message: '{"ok":false,"error":"boom"}', text: 'boom' },
    { message: 'Traceback...\nValueError: x\n', text: 'Traceback...\nValueError: x' },
    { message: '  ', text: undefined },
  ])('failureText($message)', ({ message, text }) => expect(failureText(message)).toBe(text));
});

describe('observeServing', () => {
  const deployment = (status: Record<string, unknown>, model = 'm', generation = 1): V1Deployment => ({ metadata: { name: 'm-triton', generation, annotations: { 'traineragent.io/model': model } }, spec: { replicas: 3, selector: {}, template: {} }, status }) as V1Deployment;
  it.each([
    { name: 'no Deployment yet', d: undefined, ready: undefined, message: undefined },
    { name: 'rolled out', d: deployment({ observedGeneration: 1, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 }), ready: true, message: undefined },
    { name: 'still rolling out', d: deployment({ observedGeneration: 1, updatedReplicas: 3, readyReplicas: 1, availableReplicas: 1 }), ready: false, message: undefined },
    { name: 'generation not observed yet', d: deployment({ observedGeneration: 1, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 }, 'm', 2), ready: false, message: undefined },
    { name: 'progress deadline exceeded', d: deployment({ observedGeneration: 1, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet has timed out progressing.' }] }), ready: false, message: 'Deployment m-triton: ReplicaSet has timed out progressing.' },
  ])('$name', ({ d, ready, message }) => {
    const seen = observeServing(d, { model: 'm', replicas: 3 }, 'http://m-triton.ns.svc:8000');
    expect(seen?.ready).toBe(ready);
    expect(seen?.message).toBe(message);
  });
});

describe('observeJob: time run, why it failed, why it waits', () => {
  const now = new Date('2026-01-01T01:00:00Z');
  const unschedulable = { metadata: { name: 'j-0-abc' }, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient nvidia.com/gpu.' }] } } as V1Pod;

  it.each([
    { name: 'a running Job has run since its start', job: { status: { startTime: new Date('2026-01-01T00:30:00Z'), active: 1 } }, seconds: 1800 },
    { name: 'a finished Job ran until its completion', job: { status: { startTime: new Date('2026-01-01T00:00:00Z'), completionTime: new Date('2026-01-01T00:10:00Z'), conditions: [{ type: 'Complete', status: 'True' }] } }, seconds: 600 },
    { name: 'a failed Job ran until it failed', job: { status: { startTime: new Date('2026-01-01T00:00:00Z'), conditions: [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded', lastTransitionTime: new Date('2026-01-01T00:01:30Z') }] } }, seconds: 90 },
    { name: 'a Job not started has run 0 s', job: { status: {} }, seconds: 0 },
  ])('$name', ({ job, seconds }) => {
    expect(observeJob(job as V1Job, [], () => ({}), { now }).runSeconds).toBe(seconds);
  });

  it('a Job whose pods are placed runs, with nothing to wait for', () => {
    const placed = { metadata: { name: 'j-0-abc' }, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] } } as V1Pod;
    const seen = observeJob({ metadata: { name: 'j' }, status: { active: 1 } } as V1Job, [placed], () => undefined, { now });
    expect(seen.state).toBe('Running');
    expect(seen.waiting).toBeUndefined();
  });

  it('a Job its deadline stopped says so in one word', () => {
    const seen = observeJob(job([{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' }]), [], () => undefined, { now });
    expect(seen).toMatchObject({ state: 'Failed', failureReason: 'DeadlineExceeded' });
    expect(seen.message).toMatch(/DeadlineExceeded: Job was active longer than specified deadline/);
  });

  it.each([
    { name: 'Kueue holds it suspended: Queued with the Workload\'s reason', job: { metadata: { name: 'j', labels: { 'kueue.x-k8s.io/queue-name': 'team-a' } }, spec: { suspend: true }, status: {} }, pods: [], queueMessage: 'insufficient quota for nvidia.com/gpu', waiting: { reason: 'Queued', message: 'queue team-a: insufficient quota for nvidia.com/gpu' } },
    { name: 'Kueue holds it, no Workload reason yet', job: { metadata: { name: 'j', labels: { 'kueue.x-k8s.io/queue-name': 'team-a' } }, spec: { suspend: true }, status: {} }, pods: [], queueMessage: undefined, waiting: { reason: 'Queued', message: 'queue team-a: waiting for Kueue to admit it' } },
    { name: 'no node fits a pod: Unschedulable with the scheduler\'s message', job: { metadata: { name: 'j' }, status: {} }, pods: [unschedulable], queueMessage: undefined, waiting: { reason: 'Unschedulable', message: 'pod j-0-abc: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.' } },
    { name: 'the Job controller counts the unplaced pod as active: still Pending, Unschedulable', job: { metadata: { name: 'j' }, status: { active: 1, startTime: new Date('2026-01-01T00:59:00Z') } }, pods: [unschedulable], queueMessage: undefined, waiting: { reason: 'Unschedulable', message: 'pod j-0-abc: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.' } },
    { name: 'a group with one pod placed and one not waits for the other', job: { metadata: { name: 'j' }, status: { active: 2, ready: 1 } }, pods: [{ metadata: { name: 'j-1-xyz' }, status: { phase: 'Running', conditions: [{ type: 'PodScheduled', status: 'True' }] } } as V1Pod, unschedulable], queueMessage: undefined, waiting: { reason: 'Unschedulable', message: 'pod j-0-abc: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.' } },
    { name: 'pods just created: no reason to report', job: { metadata: { name: 'j' }, status: {} }, pods: [], queueMessage: undefined, waiting: undefined },
  ])('$name', ({ job: j, pods, queueMessage, waiting }) => {
    const seen = observeJob(j as V1Job, pods, () => undefined, { now, ...(queueMessage ? { queueMessage } : {}) });
    expect(seen.state).toBe('Pending');
    expect(seen.waiting).toEqual(waiting);
  });
});

describe('observeTrainJob', () => {
  const now = new Date('2026-01-01T01:00:00Z');
  const trainJob = (conditions: { type: string; status: string; reason?: string; message?: string }[]): TrainJob => ({
    apiVersion: 'trainer.kubeflow.org/v1alpha1', kind: 'TrainJob', metadata: { name: 'tj', creationTimestamp: new Date('2026-01-01T00:00:00Z'), labels: { 'kueue.x-k8s.io/queue-name': 'gpus' } },
    spec: { runtimeRef: { apiGroup: 'trainer.kubeflow.org', kind: 'ClusterTrainingRuntime', name: 'torch-distributed' }, trainer: { image: 'i', command: [], args: [], env: [], numNodes: 2, resourcesPerNode: {} } },
    status: { conditions: conditions.map((c) => ({ reason: 'R', message: '', lastTransitionTime: new Date('2026-01-01T00:20:00Z'), ...c })) },
  });

  it.each([
    { name: 'Complete: its result', conditions: [{ type: 'Complete', status: 'True' }], seen: { state: 'Succeeded', result: { ok: 1 }, runSeconds: 1200 } },
    { name: 'Failed: the reason and message JobSet gave', conditions: [{ type: 'Failed', status: 'True', reason: 'JobSetFailed', message: 'jobset tj failed: node-1 BackoffLimitExceeded' }], seen: { state: 'Failed', failureReason: 'JobSetFailed', message: 'TrainJob tj failed: JobSetFailed: jobset tj failed: node-1 BackoffLimitExceeded' } },
    { name: 'Suspended: Queued', conditions: [{ type: 'Suspended', status: 'True', message: 'TrainJob is suspended' }], seen: { state: 'Pending', waiting: { reason: 'Queued', message: 'queue gpus: TrainJob is suspended' } } },
    { name: 'no condition yet: Running since its creation', conditions: [], seen: { state: 'Running', runSeconds: 3600 } },
  ])('$name', ({ conditions, seen }) => {
    expect(observeTrainJob(trainJob(conditions), () => ({ ok: 1 }), now)).toMatchObject(seen);
  });
});
