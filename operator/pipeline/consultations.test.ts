import { CircuitBreaker } from '../../agents/brain/circuit-breaker.js';
import { LlmBrain } from '../../agents/brain/llm.js';
import { OfflineBrain } from '../../agents/brain/offline.js';
import type { Brain } from '../../agents/brain/brain.js';
import { startChatServer, type ChatServer, type RecordedRequest, type ScriptedReply } from '../../agents/brain/testing/chat-completions-server.js';
import { selectCandidates } from '../../agents/model/select.js';
import { offlineExplanation } from '../../agents/server/explain.js';
import type { TrainingRequest } from '../api/training-request.js';
import { reconcile, type ReconcileResult } from './reconcile.js';
import { convertResultFixture, dataResultFixture, observedFixture, requestFixture, trainResultFixture } from './testing/fixtures.js';
import type { Action, JobRequest, Observed } from './types.js';

const now = new Date('2026-11-24T12:00:00Z');
const jobs = (result: ReconcileResult): JobRequest[] => result.actions.filter((a): a is Extract<Action, { kind: 'runJob' }> => a.kind === 'runJob').map((a) => a.job);

/** A data result whose second class is a twentieth of the first: the Data agent should augment it. */
function imbalanced() {
  const r = dataResultFixture();
  return { ...r, profile: { ...r.profile, classes: [{ label: 'ham', train: 3800, test: 950 }, { label: 'spam', train: 190, test: 50 }], minorityRatio: 0.05 } };
}

/** Drive the pipeline as a backend would until it settles; every job succeeds. */
async function drive(brain: Brain, request: TrainingRequest = requestFixture()) {
  let current = request;
  let observed: Observed = observedFixture();
  const ran: JobRequest[] = [];
  for (let i = 0; i < 25; i += 1) {
    const result = await reconcile(current, observed, { brain, now });
    current = { ...current, status: result.status };
    for (const job of jobs(result)) {
      ran.push(job);
      const outcome: Observed['jobs'][string] =
        job.kind === 'data'
          ? { state: 'Succeeded', result: imbalanced() }
          : job.kind === 'train'
            ? { state: 'Succeeded', result: trainResultFixture(String((job.spec.model as { id: string }).id), 0.99, 0.98, `${job.outDir}/model`) }
            : { state: 'Succeeded', result: convertResultFixture(`${job.outDir}/model-repository`) };
      observed = { ...observed, jobs: { ...observed.jobs, [job.name]: outcome } };
    }
    if (result.actions.some((a) => a.kind === 'serve') && !observed.serving) {
      observed = { ...observed, serving: { ready: true, url: 'http://127.0.0.1:8000', model: 'spam' } };
      continue;
    }
    if (jobs(result).length === 0 && !result.requeue) return { result, ran };
  }
  throw new Error('pipeline did not settle');
}

const candidates = selectCandidates({ task: { task: 'text-classification', modality: 'text', constraints: {} }, profile: imbalanced().profile }).candidates.map((c) => c.id);

describe('every agent consults the brain, within bounds, and the record says which brain answered', () => {
  it('offline: the Data agent augments the thin class in a second pass; each decision is recorded and told in the conversation', async () => {
    const { result, ran } = await drive(new OfflineBrain());
    expect(result.status.phase).toBe('Ready');
    const data = ran.filter((j) => j.kind === 'data');
    expect(data).toHaveLength(2);
    expect((data[1]!.spec.operations as { op: string }[]).map((o) => o.op)).toEqual(['clean', 'dedupe', 'label-errors', 'augment']);
    expect(ran.find((j) => j.kind === 'train')!.spec.model).toMatchObject({ id: candidates[0] });
    const decisions = result.status.brain?.decisions ?? [];
    expect(decisions.map((d) => [d.agent, d.decision, d.answeredBy])).toEqual([
      ['task', 'task-spec', 'offline'],
      ['data', 'data-operations', 'offline'],
      ['model', 'model-candidates', 'offline'],
      ['server', 'serving-explanation', 'offline'],
    ]);
    const said = (result.status.conversation ?? []).map((t) => t.from);
    expect(said).toEqual(expect.arrayContaining(['data', 'model', 'server']));
    expect((result.status.conversation ?? []).find((t) => t.from === 'server')!.text).toBe(offlineExplanation({ ...result.status.estimate!, qps: undefined }));
  });

  describe('with an LLM whose answers overreach', () => {
    let server: ChatServer;
    afterEach(() => server.close());

    /** Answer by decision: the json_schema name the brain sends names it. */
    const reply = (_call: number, req: RecordedRequest): ScriptedReply => {
      const name = req.body?.response_format?.json_schema?.name;
      if (name === 'task-spec') {
        return { json: { decision: 'accept', task: 'text-classification', modality: 'text', labels: ['spam', 'ham'], objectives: [{ metric: 'accuracy', op: '>=', value: 0.98 }], constraints: { maxParameters: null, maxModelBytes: null, maxLatencyMs: null }, serving: { qps: null, latencyP99Ms: null, memoryBytes: null, accelerator: null }, reasons: ['ok'] } };
      }
      if (name === 'data-operations') return { json: { operations: [{ op: 'augment', targetMinorityRatio: 0.9, maxFactor: 10 }, { op: 'reduce', maxRows: 5 }], reason: 'Balance the classes and shrink the data.' } };
      if (name === 'model-candidates') return { json: { order: ['evil-model', ...[...candidates].reverse()], hyperparameters: [{ model: 'evil-model', name: 'image', value: 1 }], reason: 'Try the last one first.' } };
      if (name === 'serving-explanation') return { json: { explanation: 'It runs on 40 replicas with 12 GPUs.' } };
      return { error: { status: 500, message: `unexpected ${name}` } };
    };

    it('uses them only within bounds, once per decision, and records the LLM as the one that answered', async () => {
      server = await startChatServer(reply);
      const brain = new LlmBrain({ model: 'overreaching', baseURL: server.baseURL, apiKey: 'k', maxRetries: 0, timeoutMs: 5_000, breaker: new CircuitBreaker(Infinity) });
      const { result, ran } = await drive(brain);
      expect(result.status.phase).toBe('Ready');
      // Data: the augmentation is capped at 3x for text; a reduction of a 4,000-row split is dropped.
      const second = ran.filter((j) => j.kind === 'data')[1]!;
      expect((second.spec.operations as { op: string }[]).at(-1)).toEqual({ op: 'augment', targetMinorityRatio: 0.9, maxFactor: 3 });
      expect(second.spec.operations).toHaveLength(4);
      // Model: only catalog candidates, in the LLM's order; the invented model never trains.
      const trained = ran.filter((j) => j.kind === 'train').map((j) => (j.spec.model as { id: string }).id);
      expect(trained[0]).toBe([...candidates].reverse()[0]);
      expect(trained).not.toContain('evil-model');
      // Server: an explanation with numbers the measurements do not have is replaced by the offline one.
      expect((result.status.conversation ?? []).find((t) => t.from === 'server')!.text).toBe(offlineExplanation({ ...result.status.estimate!, qps: undefined }));
      // Each decision was asked once, however many reconciles ran.
      const names = server.requests.map((r) => r.body?.response_format?.json_schema?.name);
      expect(names.sort()).toEqual(['data-operations', 'model-candidates', 'serving-explanation', 'task-spec']);
      expect(result.status.brain?.decisions?.map((d) => [d.agent, d.answeredBy])).toEqual([['task', 'llm'], ['data', 'llm'], ['model', 'llm'], ['server', 'llm']]);
      // Every agent's profile and SOP reached the brain.
      const systems = server.requests.map((r) => r.body!.messages[0]!.content);
      for (const [agent, step] of [['Task agent', 'Standard operating procedure'], ['Data agent', 'second pass'], ['Model agent', 'Select candidates'], ['Server agent', 'Convert the trained model']]) {
        expect(systems.some((s) => s.includes(agent!) && s.includes(step!))).toBe(true);
      }
    });
  });
});
