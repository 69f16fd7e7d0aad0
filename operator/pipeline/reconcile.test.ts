import { OfflineBrain } from '../../agents/brain/offline.js';
import type { TrainingRequest } from '../api/training-request.js';
import { reconcile, type ReconcileResult } from './reconcile.js';
import { convertResultFixture, dataResultFixture, observedFixture, requestFixture, trainResultFixture } from './testing/fixtures.js';
import type { Action, JobRequest, Observed } from './types.js';

const brain = new OfflineBrain();
const now = new Date('2026-11-24T12:00:00Z');
const run = (request: TrainingRequest, observed: Observed = observedFixture(), at = now) => reconcile(request, observed, { brain, now: at });

const jobs = (result: ReconcileResult): JobRequest[] => result.actions.filter((a): a is Extract<Action, { kind: 'runJob' }> => a.kind === 'runJob').map((a) => a.job);
const condition = (result: ReconcileResult, type: string) => result.status.conditions?.find((c) => c.type === type);
const overall = (result: ReconcileResult) => ['Ready', 'Reconciling', 'Stalled', 'AwaitingInput'].filter((t) => condition(result, t)?.status === 'True');

/** Drive the pipeline as a backend would: run every requested job with the given outcome, until it settles. */
async function drive(request: TrainingRequest, outcome: (job: JobRequest) => Observed['jobs'][string], observed = observedFixture(), serving = true) {
  let current = request;
  const ran: JobRequest[] = [];
  for (let i = 0; i < 20; i += 1) {
    const result = await run(current, observed);
    current = { ...current, status: result.status };
    const wanted = jobs(result);
    for (const job of wanted) {
      ran.push(job);
      observed = { ...observed, jobs: { ...observed.jobs, [job.name]: outcome(job) } };
    }
    if (serving && result.actions.some((a) => a.kind === 'serve') && !observed.serving) {
      observed = { ...observed, serving: { ready: true, url: 'http://127.0.0.1:8000', model: 'spam' } };
      continue;
    }
    if (wanted.length === 0 && !result.requeue) return { result, ran, observed };
  }
  throw new Error('pipeline did not settle');
}

const succeed = (accuracyOf: (job: JobRequest) => number) => (job: JobRequest): Observed['jobs'][string] => {
  if (job.kind === 'data') return { state: 'Succeeded', result: dataResultFixture() };
  if (job.kind === 'train') return { state: 'Succeeded', result: trainResultFixture(String((job.spec.model as { id: string }).id), accuracyOf(job), 0.98, `${job.outDir}/model`) };
  return { state: 'Succeeded', result: convertResultFixture(`${job.outDir}/model-repository`) };
};

describe('reconcile: refusals and questions come before any compute', () => {
  it.each([
    { name: 'an unethical request is rejected, terminal, with reasons', requirement: 'Build a deepfake voice clone of our CEO to authorise bank transfers by phone.', phase: 'Rejected', state: 'Stalled' },
    { name: 'an impossible request is rejected as infeasible', requirement: 'Guarantee a stock price predictor that is right 99% of the time every day.', phase: 'Rejected', state: 'Stalled' },
    { name: 'a request with nothing to go on asks the user', requirement: 'Make me a model.', phase: 'AwaitingInput', state: 'AwaitingInput' },
  ])('$name', async ({ requirement, phase, state }) => {
    const result = await run(requestFixture({ requirement }));
    expect(result.status.phase).toBe(phase);
    expect(overall(result)).toEqual([state]);
    expect(jobs(result)).toEqual([]);
    expect(result.status.task?.reasons.join(' ').length).toBeGreaterThan(40);
  });

  it('asks for labelled data when none is given', async () => {
    const result = await run(requestFixture({ data: [] }), observedFixture({ sources: [] }));
    expect(result.status.phase).toBe('AwaitingInput');
    expect(result.status.question).toMatch(/labelled examples/);
    expect(jobs(result)).toEqual([]);
  });

  it('stops after planning until the plan is approved, then goes on', async () => {
    const waiting = await run(requestFixture({ approval: 'plan' }));
    expect(overall(waiting)).toEqual(['AwaitingInput']);
    expect(condition(waiting, 'AwaitingInput')?.reason).toBe('AwaitingApproval');
    const hash = waiting.status.plan!.hash;
    expect(waiting.status.question).toContain(hash);
    const approved = await run(requestFixture({ approval: 'plan', approvedPlan: hash }, waiting.status));
    expect(jobs(approved).map((j) => j.kind)).toEqual(['data']);
  });

  it('reports an unreadable data source as Stalled with the reason, starting nothing', async () => {
    const result = await run(requestFixture(), observedFixture({ sources: [{ name: 'mails', role: 'train', error: '/data/mails.jsonl does not exist' }] }));
    expect(overall(result)).toEqual(['Stalled']);
    expect(condition(result, 'DataPrepared')).toMatchObject({ status: 'False', reason: 'DataUnavailable' });
    expect(condition(result, 'Stalled')?.message).toContain('does not exist');
    expect(jobs(result)).toEqual([]);
  });

  it('waits, Reconciling, while the backend still fetches or hashes a source, starting nothing', async () => {
    const result = await run(requestFixture(), observedFixture({ sources: [{ name: 'mails', role: 'train', location: '/artifacts/mails.jsonl', pending: 'staging https://data.example/mails.jsonl' }] }));
    expect(overall(result)).toEqual(['Reconciling']);
    expect(result.status.phase).toBe('PreparingData');
    expect(condition(result, 'DataPrepared')).toMatchObject({ status: 'False', reason: 'FetchingData' });
    expect(condition(result, 'DataPrepared')?.message).toContain('mails (staging https://data.example/mails.jsonl)');
    expect(result.requeue).toBe(true);
    expect(jobs(result)).toEqual([]);
  });
});

describe('reconcile: idempotent jobs', () => {
  it('asks for the same data job on every reconcile until it is observed', async () => {
    const first = await run(requestFixture());
    const again = await run(requestFixture({}, first.status));
    expect(jobs(first).map((j) => j.name)).toEqual(jobs(again).map((j) => j.name));
    const running = await run(requestFixture({}, first.status), observedFixture({ jobs: { [jobs(first)[0]!.name]: { state: 'Running' } } }));
    expect(jobs(running)).toEqual([]);
    expect(running.requeue).toBe(true);
  });

  it('names a new data job when the data content changes', async () => {
    const before = jobs(await run(requestFixture()))[0]!;
    const after = jobs(await run(requestFixture(), observedFixture({ sources: [{ name: 'mails', role: 'train', digest: 'sha256:bbb', location: '/data/mails.jsonl' }] })))[0]!;
    expect(after.name).not.toBe(before.name);
    expect(after.name.length).toBeLessThanOrEqual(63);
  });

  it('keeps lastTransitionTime when a condition does not flip', async () => {
    const first = await run(requestFixture());
    const later = await run(requestFixture({}, first.status), observedFixture(), new Date('2026-11-24T13:00:00Z'));
    expect(condition(later, 'RequirementParsed')?.lastTransitionTime).toBe(condition(first, 'RequirementParsed')?.lastTransitionTime);
  });
});

describe('reconcile: the whole pipeline over observed jobs', () => {
  it('goes from data to a served model when the first attempt meets the target', async () => {
    const { result, ran } = await drive(requestFixture(), succeed(() => 0.99));
    expect(ran.map((j) => j.kind)).toEqual(['data', 'train', 'convert']);
    expect(result.status.phase).toBe('Ready');
    expect(overall(result)).toEqual(['Ready']);
    for (const type of ['RequirementParsed', 'Planned', 'DataPrepared', 'Trained', 'TargetMet', 'Converted', 'Deployed']) expect(condition(result, type)?.status).toBe('True');
    expect(result.status.endpoint).toEqual({ url: 'http://127.0.0.1:8000/v2/models/spam', protocol: 'kserve-v2', model: 'spam' });
    expect(result.status.estimate?.replicas).toBeGreaterThanOrEqual(1);
    expect(result.status.apiDoc?.uri).toBe('/artifacts/default/spam/api/openapi.json');
    expect(result.status.metric).toMatch(/accuracy 0\.99/);
  });

  it('without serving, is Ready once the target is met and converts nothing', async () => {
    const { result, ran } = await drive(requestFixture({ serving: { enabled: false } }), succeed(() => 0.99));
    expect(ran.map((j) => j.kind)).toEqual(['data', 'train']);
    expect(result.status.phase).toBe('Ready');
    expect(condition(result, 'Deployed')).toBeUndefined();
  });

  it('tries further attempts when the target is missed, then asks the user when the budget ends', async () => {
    const { result, ran } = await drive(requestFixture({ budget: { maxAttempts: 3 } }), succeed(() => 0.9));
    expect(ran.filter((j) => j.kind === 'train').length).toBeGreaterThanOrEqual(2);
    expect(ran.filter((j) => j.kind === 'train').length).toBeLessThanOrEqual(3);
    expect(result.status.phase).toBe('AwaitingInput');
    expect(condition(result, 'TargetMet')).toMatchObject({ status: 'False', reason: 'EvaluationBelowTarget' });
    expect(result.status.question).toMatch(/deployBestAttempt/);
    expect(result.status.attempts?.every((a) => a.note && a.note.length > 0)).toBe(true);
  });

  it('deploys the best attempt when the user overrides a missed target', async () => {
    const { result, ran } = await drive(requestFixture({ budget: { maxAttempts: 2 }, overrides: { deployBestAttempt: true } }), succeed(() => 0.9));
    expect(ran.at(-1)?.kind).toBe('convert');
    expect(result.status.phase).toBe('Ready');
    expect(condition(result, 'TargetMet')?.status).toBe('False');
  });

  it('keeps every earlier result when a job fails, and says why', async () => {
    const { result } = await drive(requestFixture(), (job) => (job.kind === 'convert' ? { state: 'Failed', message: 'parity check failed: label agreement 0.91' } : succeed(() => 0.99)(job)));
    expect(overall(result)).toEqual(['Stalled']);
    expect(condition(result, 'Converted')).toMatchObject({ status: 'False', reason: 'ConversionFailed' });
    expect(condition(result, 'Stalled')?.message).toContain('parity check failed');
    expect(condition(result, 'Trained')?.status).toBe('True');
    expect(result.status.attempts?.[0]?.metrics.accuracy).toBe(0.99);
  });
});

describe('reconcile: limits are judged on what is delivered, and the target on enough rows', () => {
  it('a converted model over the byte limit is not deployed, and TargetMet says why', async () => {
    const request = requestFixture({ requirement: 'Classify emails as spam or ham with accuracy of at least 98%. The model file must be smaller than 2 MB.' });
    const { result, ran } = await drive(request, (job) => (job.kind === 'convert'
      ? { state: 'Succeeded', result: { ...convertResultFixture(`${job.outDir}/model-repository`), modelBytes: 3_080_000 } }
      : succeed(() => 0.99)(job)));
    expect(ran.at(-1)?.kind).toBe('convert');
    expect(overall(result)).toEqual(['Stalled']);
    expect(condition(result, 'TargetMet')).toMatchObject({ status: 'False', reason: 'ConvertedModelOverLimit' });
    expect(condition(result, 'Stalled')?.message).toMatch(/3,080,000 bytes, over the limit of 2,000,000/);
    expect(result.actions.some((a) => a.kind === 'serve')).toBe(false);
  });

  it('a point estimate over too few evaluated rows asks for more labelled data instead of claiming the target', async () => {
    const { result } = await drive(requestFixture({ serving: { enabled: false } }), (job) => (job.kind === 'train'
      ? { state: 'Succeeded', result: { ...trainResultFixture('x', 1, 0.98, `${job.outDir}/model`), evaluation: { method: 'holdout', rows: 20 }, intervals: { accuracy: { low: 0.83, high: 1 } } } }
      : succeed(() => 1)(job)));
    expect(result.status.phase).toBe('AwaitingInput');
    expect(condition(result, 'TargetMet')).toMatchObject({ status: 'False', reason: 'TooFewEvaluationRows' });
    expect(result.status.question).toMatch(/only 20 labelled rows: at least 50/);
  });

  it('a met target whose interval reaches below it says the margin is uncertain', async () => {
    const { result } = await drive(requestFixture({ serving: { enabled: false } }), (job) => (job.kind === 'train'
      ? { state: 'Succeeded', result: { ...trainResultFixture('x', 0.985, 0.98, `${job.outDir}/model`), intervals: { accuracy: { low: 0.975, high: 0.99 } } } }
      : succeed(() => 0.99)(job)));
    expect(condition(result, 'TargetMet')?.status).toBe('True');
    expect(condition(result, 'TargetMet')?.message).toMatch(/95% 0\.975–0\.990.*margin is uncertain/);
  });

  it.each([
    { name: 'without torch, a GPU request still trains scikit-learn models and asks no GPU', frameworks: ['sklearn'] as const, gpu: false, runtime: 'sklearn' },
  ])('$name', async ({ frameworks, gpu, runtime }) => {
    const observed = observedFixture({ gpuAvailable: true, frameworks: [...frameworks] });
    const { ran } = await drive(requestFixture({ serving: { enabled: false } }), succeed(() => 0.99), observed);
    const train = ran.find((j) => j.kind === 'train')!;
    expect(train).toMatchObject({ gpu, runtime });
  });

  it('with torch and a GPU, a classic model that falls short is followed by a torch attempt that asks for the GPU', async () => {
    const observed = observedFixture({ gpuAvailable: true, frameworks: ['sklearn', 'torch'] });
    const accuracy = (job: JobRequest) => (String((job.spec.model as { family: string }).family).startsWith('torch') ? 0.99 : 0.9);
    const { result, ran } = await drive(requestFixture({ serving: { enabled: false } }), succeed(accuracy), observed);
    const trains = ran.filter((j) => j.kind === 'train');
    expect(trains.map((j) => [j.runtime, j.gpu])).toEqual([['sklearn', false], ['torch', true]]);
    expect(result.status.phase).toBe('Ready');
    expect(result.status.attempts?.[1]?.note).toMatch(/climb to a frozen pretrained encoder[\s\S]*Planned: embed/);
  });
});

