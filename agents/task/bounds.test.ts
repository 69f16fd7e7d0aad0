import { memoryFrom } from '../brain/memory.js';
import { OfflineBrain } from '../brain/offline.js';
import { understandRequest, type TaskAgentInput } from './agent.js';
import { BOUNDS, BoundedObjective, boundProblems, objectiveProblem } from './bounds.js';
import { ratioTargetsOver100 } from './parse/out-of-range.js';

const understand = async (input: TaskAgentInput) => (await understandRequest(new OfflineBrain(), input, memoryFrom())).spec;
const CLASSIFY = 'Classify support emails as billing, bug or other';

describe('what a requirement can ask for', () => {
  it.each([
    { name: 'accuracy >= 150% is asked again, not dropped', requirement: `${CLASSIFY} with accuracy >= 150%.`, decision: 'needs-input', reason: /accuracy 150% is above 100%/ },
    { name: '"precision of 120" is asked again', requirement: `${CLASSIFY} with precision of 120.`, decision: 'needs-input', reason: /precision 120 is above 100%/ },
    { name: 'a billion requests per second and 1 TB containers are refused with the bounds', requirement: `${CLASSIFY}, 1000000000 requests per second, 1 TB per container.`, decision: 'needs-input', reason: /1,000,000,000 requests per second is more than the 1,000,000.*931\.32 GiB per container is more than the 512 GiB/ },
    { name: 'a latency target of two hours is no latency target', requirement: `${CLASSIFY}, p99 latency under 7200 s.`, decision: 'needs-input', reason: /longer than 3,600,000 ms/ },
    { name: 'accuracy at least 90% and 100 QPS in 2 GB containers are fine', requirement: `${CLASSIFY} with accuracy at least 90%, 100 QPS in 2GB containers.`, decision: 'accept', reason: /Understood/ },
    { name: 'accuracy 100% stays a refusal (perfection), not a question', requirement: `${CLASSIFY} with 100% accuracy guaranteed.`, decision: 'reject-infeasible', reason: /guaranteed or perfect/ },
  ])('$name', async ({ requirement, decision, reason }) => {
    const spec = await understand({ requirement });
    expect(spec.decision).toBe(decision);
    expect(spec.reasons.join(' ')).toMatch(reason);
  });

  it('takes a later message that restates the target instead', async () => {
    const spec = await understand({ requirement: `${CLASSIFY} with accuracy >= 150%.`, messages: ['Sorry, accuracy at least 95%.'] });
    expect(spec.decision).toBe('accept');
    expect(spec.objectives).toContainEqual({ metric: 'accuracy', op: '>=', value: 0.95 });
  });

  it('asks again when a message goes past a bound', async () => {
    const spec = await understand({ requirement: `${CLASSIFY} with accuracy at least 90%.`, messages: ['Make it serve 5000000 requests per second.'] });
    expect(spec.decision).toBe('needs-input');
    expect(spec.reasons[0]).toMatch(/5,000,000 requests per second/);
  });

  it.each([
    ['150% accuracy', ['accuracy']],
    ['accuracy of 95%', []],
    ['f1 at least 0.9 and recall above 101', ['recall']],
    ['bleu 150', []],
  ])('finds ratio targets over 100%% in "%s"', (text, metrics) => {
    expect(ratioTargetsOver100(text).map((r) => r.metric)).toEqual(metrics);
  });
});

describe('bounds on targets', () => {
  it.each([
    { objective: { metric: 'accuracy', op: '>=', value: 7 }, ok: false },
    { objective: { metric: 'accuracy', op: '>=', value: 0.9 }, ok: true },
    { objective: { metric: 'wer', op: '<=', value: -0.1 }, ok: false },
    { objective: { metric: 'bleu', op: '>=', value: 35 }, ok: true },
    { objective: { metric: 'bleu', op: '>=', value: 135 }, ok: false },
    { objective: { metric: 'rmse', op: '<=', value: 1200 }, ok: true },
  ] as const)('$objective.metric $objective.value: ok=$ok (zod and the rule agree)', ({ objective, ok }) => {
    expect(objectiveProblem(objective) === undefined).toBe(ok);
    expect(BoundedObjective.safeParse(objective).success).toBe(ok);
  });

  it('names every bound a spec breaks', () => {
    expect(boundProblems({ objectives: [], constraints: { maxParameters: 2e12, maxModelBytes: 2 ** 41 }, serving: { qps: BOUNDS.qps * 2, memoryBytes: 2 ** 40 } })).toHaveLength(4);
    expect(boundProblems({ objectives: [], constraints: { maxParameters: 1e7 }, serving: { qps: 100, memoryBytes: 2e9 } })).toEqual([]);
  });
});
