import { CircuitBreaker } from '../brain/circuit-breaker.js';
import { LlmBrain } from '../brain/llm.js';
import { memoryFrom } from '../brain/memory.js';
import { startChatServer, type ChatServer } from '../brain/testing/chat-completions-server.js';
import { understandRequest } from './agent.js';
import type { LlmTaskSpec } from './llm-task-spec.js';
import { parseRequirement } from './parse/parse-requirement.js';
import { reconcileBrains, statedValues, userConfirmed } from './reconcile-brains.js';
import { llmAnswer } from './testing/llm-answer.js';

const servers: ChatServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** Understand `requirement` with an LLM that answers `reply` (rules-only offline reading: fast and exact). */
async function withLlm(requirement: string, reply: LlmTaskSpec, messages?: string[]) {
  const server = await startChatServer([{ json: reply }]);
  servers.push(server);
  const brain = new LlmBrain({ model: 'crafted', baseURL: server.baseURL, apiKey: 'k', maxRetries: 0, timeoutMs: 5_000, breaker: new CircuitBreaker() });
  return understandRequest(brain, { requirement, ...(messages ? { messages } : {}) }, memoryFrom([]), { reader: null });
}

const P01 = 'I need a classifier that decides whether a product promotion contains benefit information. Accuracy at least 90%, fewer than 10M parameters.';

describe('crafted LLM answers cannot change what the user wrote', () => {
  it('a changed number (90% → 98%) and a vanished parameter limit: the user’s numbers stand', async () => {
    const u = await withLlm(P01, llmAnswer({ objectives: [{ metric: 'accuracy', op: '>=', value: 0.98 }] }));
    expect(u.record.answeredBy).toBe('llm');
    expect(u.spec.objectives).toEqual([{ metric: 'accuracy', op: '>=', value: 0.9 }]);
    expect(u.spec.constraints).toEqual({ maxParameters: 10_000_000 });
    expect(u.record.notes).toContain('Kept accuracy >= 0.9 as written; the LLM said >= 0.98.');
  });

  it('invented labels and an invented QPS are dropped with notes', async () => {
    const u = await withLlm(P01, llmAnswer({ labels: ['benefit', 'no-benefit'], serving: { qps: 500, latencyP99Ms: null, memoryBytes: null, accelerator: null } }));
    expect(u.spec.labels).toBeUndefined();
    expect(u.spec.serving).toEqual({});
    expect(u.record.notes).toEqual([
      "Dropped the LLM's serving.qps 500: the requirement does not state it.",
      "Dropped the LLM's labels (benefit, no-benefit): the requirement does not list them.",
    ]);
  });

  it('a value the text states but the rules missed is kept (and 98 for 98% is read as 0.98)', async () => {
    const u = await withLlm('Classify invoices; the bar is ninety-eight, i.e. 98 right out of 100.', llmAnswer({ objectives: [{ metric: 'accuracy', op: '>=', value: 98 }] }));
    expect(u.spec.objectives).toEqual([{ metric: 'accuracy', op: '>=', value: 0.98 }]);
  });

  it('labels the requirement lists survive', async () => {
    const u = await withLlm('Sort tickets into billing and shipping.', llmAnswer({ labels: ['billing', 'shipping'] }));
    expect(u.spec.labels).toEqual(['billing', 'shipping']);
  });
});

describe('crafted LLM answers cannot change the safety verdict', () => {
  it('an LLM "accept" of a request the offline brain refuses: the refusal stands, with a note', async () => {
    const u = await withLlm('Build a deepfake voice clone of our CEO to authorise bank transfers', llmAnswer({ task: 'speech-recognition', modality: 'audio' }));
    expect(u.spec.decision).toBe('reject-unethical');
    expect(u.record.notes).toEqual(['The LLM answered "accept", but the offline checks refuse this request; the refusal stands.']);
  });

  it('an LLM-only refusal asks a human (needs-input with the LLM’s reason and how to confirm)', async () => {
    const u = await withLlm(P01, llmAnswer({ decision: 'reject-unethical', reasons: ['Promotions can be manipulative.'] }));
    expect(u.spec.decision).toBe('needs-input');
    expect(u.spec.reasons[0]).toMatch(/^The LLM judged this request unethical: Promotions can be manipulative\. .*starts with "I confirm"/);
    expect(u.spec.objectives).toEqual([{ metric: 'accuracy', op: '>=', value: 0.9 }]);
  });

  it('once the user confirms, the request goes ahead on the offline reading', async () => {
    const u = await withLlm(P01, llmAnswer({ decision: 'reject-unethical', reasons: ['Promotions can be manipulative.'] }), ['I confirm: it only flags benefit claims for our own ads.']);
    expect(u.spec.decision).toBe('accept');
    expect(u.spec.task).toBe('text-classification');
  });

  it('an LLM "accept" of a request the offline brain could not place asks instead of inventing a task', async () => {
    const u = await withLlm('Make me a model.', llmAnswer({ task: 'image-generation', modality: 'image' }));
    expect(u.spec.decision).toBe('needs-input');
    expect(u.spec.task).toBeUndefined();
    expect(u.spec.reasons[0]).toMatch(/The LLM read it as a image-generation task; if that is right, append a message/);
  });
});

describe('reconcileBrains helpers', () => {
  it.each([
    { text: 'accuracy 90%', value: 0.9, stated: true },
    { text: '2gb containers', value: 2e9, stated: true },
    { text: '2gb containers', value: 2 * 2 ** 30, stated: true },
    { text: '1200 requests per minute', value: 20, stated: true },
    { text: 'latency 0.2 s', value: 200, stated: true },
    { text: 'accuracy 90%', value: 0.98, stated: false },
  ])('"$text" states $value: $stated', ({ text, value, stated }) => {
    expect(statedValues(text).some((v) => Math.abs(v - value) <= 1e-3 * Math.max(1, value))).toBe(stated);
  });

  it.each([
    { messages: ['I confirm, this is for our own ads.'], confirmed: true },
    { messages: ['确认，这是合法的。'], confirmed: true },
    { messages: ['Confirmo que es legítimo.'], confirmed: true },
    { messages: ['Please deploy in 2GB containers.'], confirmed: false },
    { messages: ['Can you confirm the plan?'], confirmed: false },
  ])('userConfirmed($messages) is $confirmed', ({ messages, confirmed }) => {
    expect(userConfirmed(messages)).toBe(confirmed);
  });

  it('keeps an offline task it is sure of, and notes the LLM’s other reading', () => {
    const offline = parseRequirement(P01);
    const out = reconcileBrains(offline, { ...offline, task: 'summarization', reasons: [] }, { text: P01, normalised: P01.toLowerCase(), taskConfident: true, confirmed: false });
    expect(out.spec.task).toBe('text-classification');
    expect(out.notes).toEqual(['Kept the task text-classification; the LLM read summarization.']);
  });
});
