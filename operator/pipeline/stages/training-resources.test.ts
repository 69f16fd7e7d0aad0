import { OfflineBrain } from '../../../agents/brain/offline.js';
import type { TrainingRequest } from '../../api/training-request.js';
import { reconcile, type ReconcileResult } from '../reconcile.js';
import { dataResultFixture, observedFixture, requestFixture, trainResultFixture } from '../testing/fixtures.js';
import type { Action, JobObservation, JobRequest, Observed } from '../types.js';
import { secondsBeforeDeadline } from './training-resources.js';

const brain = new OfflineBrain();
const now = new Date('2026-11-24T12:00:00Z');
const requirement = 'Classify photos of handwritten digits into their digit with accuracy of at least 80%.';
const distributed = { maxGpusPerNode: 8, maxNodes: 4, groupRetries: 1 };

const trainJobs = (result: ReconcileResult): JobRequest[] => result.actions.filter((a): a is Extract<Action, { kind: 'runJob' }> => a.kind === 'runJob').map((a) => a.job).filter((j) => j.kind === 'train');
const condition = (result: ReconcileResult, type: string) => result.status.conditions?.find((c) => c.type === type);

/** A GPU cluster that has prepared the data; `train` says how each train job went. */
async function reconcileWith(spec: Partial<TrainingRequest['spec']>, train: (job: JobRequest) => JobObservation | undefined = () => undefined, rounds = 4): Promise<{ result: ReconcileResult; wanted: JobRequest[] }> {
  const request = requestFixture({ requirement, ...spec });
  let observed: Observed = observedFixture({ gpuAvailable: true, frameworks: ['torch'], distributed });
  let result = await reconcile(request, observed, { brain, now });
  const data = result.actions.find((a): a is Extract<Action, { kind: 'runJob' }> => a.kind === 'runJob')!.job;
  observed = { ...observed, jobs: { [data.name]: { state: 'Succeeded', result: dataResultFixture() } } };
  const wanted: JobRequest[] = [];
  for (let i = 0; i < rounds; i += 1) {
    result = await reconcile({ ...request, status: result.status }, observed, { brain, now });
    const asked = trainJobs(result);
    if (asked.length === 0) break;
    wanted.push(...asked);
    const outcomes = Object.fromEntries(asked.map((j) => [j.name, train(j)]).filter(([, o]) => o !== undefined));
    if (Object.keys(outcomes).length === 0) break;
    observed = { ...observed, jobs: { ...observed.jobs, ...outcomes } };
  }
  return { result, wanted };
}

describe('model stage: where training runs, and what it may spend', () => {
  it('spec.resources.nodes spreads a fine-tuning job over nodes; the name leaves room for what engines append', async () => {
    const { wanted, result } = await reconcileWith({ resources: { gpu: { count: 1 }, nodes: 2 }, budget: { maxAttempts: 2, maxGpuHours: 5 } });
    expect(result.status.plan!.steps.find((s) => s.id === 'size-training')!.description).toBe('Size each fine-tuning attempt: 1 GPU(s) per node on 2 node(s) as spec.resources says (torchrun, DistributedDataParallel; the attempt\'s note gives the reasoning); stop a Job when the budget of 5 GPU-hours runs out and keep the best attempt so far.');
    expect(result.status.attempts![0]!.note).toMatch(/Placement from spec\.resources: 2 node\(s\) × 1 GPU\(s\)\. GPU-hour budget: 5\.00 GPU-hours left/);
    expect(wanted).toHaveLength(1);
    expect(wanted[0]).toMatchObject({ gpu: true, placement: { nodes: 2, gpusPerNode: 1, processesPerNode: 1 } });
    expect(wanted[0]!.name.length).toBeLessThanOrEqual(51);
  });

  it('a small job on one GPU stays one process under the name it always had', async () => {
    const { wanted, result } = await reconcileWith({ resources: { gpu: {} } });
    expect(wanted[0]!.placement).toBeUndefined();
    expect(wanted[0]!.gpu).toBe(true);
    expect(result.status.attempts![0]!.note).toMatch(/One GPU: training takes/);
    expect(result.status.plan!.steps.find((s) => s.id === 'size-training')!.description).toMatch(/^Size each fine-tuning attempt: GPUs per node and nodes from the model size, the rows, the deadline and the GPU-hour budget/);
    const cpu = await reconcile(requestFixture({ requirement }), observedFixture({ frameworks: ['torch'] }), { brain, now });
    expect(cpu.status.plan!.steps.map((s) => s.id)).not.toContain('size-training');
  });

  it('a Job the scheduler cannot place keeps the request Pending with the scheduler\'s reason, not Failed', async () => {
    const waiting: JobObservation = { state: 'Pending', waiting: { reason: 'Unschedulable', message: 'pod x: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.' } };
    const { result } = await reconcileWith({ resources: { gpu: { count: 16 } } }, () => waiting, 2);
    expect(result.status.phase).toBe('Pending');
    expect(condition(result, 'Reconciling')).toMatchObject({ status: 'True', reason: 'Unschedulable' });
    expect(condition(result, 'Reconciling')!.message).toMatch(/Attempt 1 is waiting for nodes: pod x: 0\/3 nodes are available: 3 Insufficient nvidia\.com\/gpu/);
    expect(condition(result, 'Trained')).toMatchObject({ status: 'False', reason: 'Unschedulable' });
    expect(condition(result, 'Stalled')!.status).toBe('False');
  });

  it('a Job Kueue holds is Queued with Kueue\'s reason', async () => {
    const queued: JobObservation = { state: 'Pending', waiting: { reason: 'Queued', message: 'queue team-a: insufficient quota for nvidia.com/gpu in flavor h100' } };
    const { result } = await reconcileWith({ resources: { gpu: {}, queueName: 'team-a' } }, () => queued, 2);
    expect(result.status.phase).toBe('Pending');
    expect(condition(result, 'Reconciling')).toMatchObject({ status: 'True', reason: 'Queued' });
    expect(condition(result, 'Reconciling')!.message).toMatch(/Attempt 1 is queued: queue team-a: insufficient quota/);
  });

  it('the GPU-hour budget becomes the Job\'s deadline, and a Job it stopped stalls the request saying so', async () => {
    const { wanted, result } = await reconcileWith({ resources: { gpu: { count: 2 } }, budget: { maxAttempts: 3, maxGpuHours: 0.05 } }, () => ({ state: 'Failed', failureReason: 'DeadlineExceeded', message: 'DeadlineExceeded: Job was active longer than specified deadline', runSeconds: 91 }));
    expect(wanted).toHaveLength(1);
    expect(wanted[0]!.deadlineSeconds).toBe(90); // 0.05 GPU-hours over 2 GPUs
    expect(result.status.phase).toBe('Failed');
    expect(condition(result, 'Stalled')).toMatchObject({ status: 'True', reason: 'GpuBudgetExhausted' });
    expect(condition(result, 'Stalled')!.message).toMatch(/GPU-hour budget exhausted: 3\.0 GPU-minutes of 0\.05 GPU-hours used and no attempt finished \(#1 image-cnn-small: its Job was stopped when the GPU-hour budget ran out/);
  });

  it('a budget that cannot pay for a minute of the placement starts nothing', async () => {
    const { wanted, result } = await reconcileWith({ resources: { gpu: { count: 2 } }, budget: { maxAttempts: 4, maxGpuHours: 0.02 } });
    expect(wanted).toEqual([]);
    expect(condition(result, 'Stalled')).toMatchObject({ status: 'True', reason: 'GpuBudgetExhausted' });
  });

  it('when the budget cannot pay for another attempt, the best one so far is kept and named', async () => {
    const { result } = await reconcileWith({ resources: { gpu: {} }, budget: { maxAttempts: 3, maxGpuHours: 0.02 } }, (job) => ({ state: 'Succeeded', runSeconds: 60, result: trainResultFixture(String((job.spec.model as { id: string }).id), 0.7, 0.8, `${job.outDir}/model`) }));
    expect(condition(result, 'Stalled')).toMatchObject({ status: 'True', reason: 'GpuBudgetExhausted' });
    expect(condition(result, 'Stalled')!.message).toMatch(/attempt 2 was not started\. The best attempt so far \(#1, image-cnn-small, accuracy 0\.7000/);
    expect(result.status.model).toMatchObject({ attempt: 1 });
  });

  it('a failed multi-node group is started again once (a new Job from the newest checkpoint), then the attempt fails', async () => {
    const failed = (job: JobRequest): JobObservation => ({ state: 'Failed', failureReason: 'BackoffLimitExceeded', message: 'pod 1 exited 1', retry: job.retry ?? 0, runSeconds: 10 });
    const { wanted, result } = await reconcileWith({ resources: { gpu: { count: 1 }, nodes: 2 }, budget: { maxAttempts: 1 } }, failed);
    expect(wanted.map((j) => j.retry)).toEqual([undefined, 1]);
    expect(wanted[1]!.name).toBe(wanted[0]!.name);
    expect(condition(result, 'Stalled')).toMatchObject({ status: 'True', reason: 'TrainingFailed' });
  });

  it('a group that trained on its retry says so in the attempt\'s note after it succeeded', async () => {
    const flaky = (job: JobRequest): JobObservation => job.retry
      ? { state: 'Succeeded', retry: job.retry, runSeconds: 10, result: trainResultFixture('image-cnn-small', 0.9, 0.9, `${job.outDir}/model`) }
      : { state: 'Failed', failureReason: 'BackoffLimitExceeded', message: 'pod 1 exited 1', retry: 0, runSeconds: 10 };
    const { wanted, result } = await reconcileWith({ resources: { gpu: { count: 1 }, nodes: 2 }, budget: { maxAttempts: 1 } }, flaky);
    expect(wanted.map((j) => j.retry)).toEqual([undefined, 1]);
    expect(result.status.attempts![0]).toMatchObject({ state: 'Succeeded' });
    expect(result.status.attempts![0]!.note).toMatch(/The group of .* failed and was started again \(retry 1\), resuming from the newest checkpoint\./);
  });

  it('plans against the deadline from the request\'s creation, so a running job keeps its name', () => {
    const request = requestFixture({ budget: { maxAttempts: 2, deadline: '2026-11-24T14:00:00Z' } });
    const created = { ...request, metadata: { ...request.metadata, creationTimestamp: '2026-11-24T12:00:00Z' } } as TrainingRequest;
    expect(secondsBeforeDeadline(created, new Date('2026-11-24T13:00:00Z'), 600)).toBe(7200 - 600);
    expect(secondsBeforeDeadline(request, new Date('2026-11-24T13:00:00Z'), 600)).toBe(3600);
  });
});
