import { readFileSync } from 'node:fs';
import type { Brain, BrainRecord } from '../brain/brain.js';
import { remember, type Memory } from '../brain/memory.js';
import { checkBounds } from './bounds.js';
import { fromLlmTaskSpec, LlmTaskSpec, toLlmTaskSpec } from './llm-task-spec.js';
import { instructionNotice, screenInstructions } from './parse/injection.js';
import { defaultMeaningReader, type MeaningReader } from './meaning/reader.js';
import { ratioTargetsOver100 } from './parse/out-of-range.js';
import { describeAcceptance, normaliseRequirement, parseRequirement } from './parse/parse-requirement.js';
import { reconcileBrains, userConfirmed } from './reconcile-brains.js';
import { TASK_SOP } from './sop.js';
import type { Objective, TaskSpec } from './task-spec.js';

/** The Task agent's system prompt. */
export const TASK_PROFILE = readFileSync(new URL('./profile.md', import.meta.url), 'utf8');

/** Targets a user states outside the requirement: spec.overrides wins over everything parsed. */
export interface TargetOverrides {
  objectives?: Objective[];
  constraints?: TaskSpec['constraints'];
  serving?: TaskSpec['serving'];
}

/** What the Task agent reads. */
export interface TaskAgentInput {
  requirement: string;
  /** The user's later turns (`spec.messages`), oldest first. */
  messages?: readonly string[];
  overrides?: TargetOverrides;
}

/** What the Task agent understood, which brain did it, and the memory after it spoke. */
export interface Understanding {
  spec: TaskSpec;
  brain: 'offline' | 'llm';
  fallbackReason?: string;
  /** Which brain answered, how the offline one read the text, and what reconciling them did. */
  record: BrainRecord;
  memory: Memory;
}

/** How the Task agent reads: with the knowledge base by meaning (default), or by rules alone (`reader: null`). */
export interface UnderstandOptions {
  reader?: MeaningReader | null;
}

/**
 * Read the requirement: the offline brain by meaning (knowledge base) and rules (numbers, units),
 * the LLM when one is configured, then reconcile them (user-written numbers win, an offline refusal
 * stands, an LLM-only refusal asks a human). Fold in the user's later messages and the overrides.
 */
export async function understandRequest(brain: Brain, input: TaskAgentInput, memory: Memory, options: UnderstandOptions = {}): Promise<Understanding> {
  const reader = options.reader === undefined ? await defaultMeaningReader() : (options.reader ?? undefined);
  // Both brains read the requirement with instruction-like sentences already set aside, and the
  // user is told about them whichever brain answered.
  const screened = screenInstructions(input.requirement);
  const meaning = reader ? await reader.read(screened.text) : undefined;
  const offline = parseRequirement(input.requirement, meaning);
  const decided = await brain.decide(
    LlmTaskSpec,
    { name: 'task-spec', profile: TASK_PROFILE, sop: TASK_SOP, memory, input: { requirement: screened.text } },
    () => toLlmTaskSpec(offline),
  );
  let spec = offline;
  let notes: string[] = [];
  if (decided.brain === 'llm') {
    const topTask = meaning ? Math.max(0, ...meaning.task.values()) : 1;
    ({ spec, notes } = reconcileBrains(offline, fromLlmTaskSpec(decided.value), {
      text: screened.text,
      normalised: normaliseRequirement(screened.text),
      taskConfident: topTask >= 0.6,
      confirmed: userConfirmed(input.messages),
    }));
    // Say what was understood after reconciling, so the user can check it.
    if (spec.decision === 'accept' && spec.task) spec = { ...spec, reasons: [describeAcceptance(spec)] };
  }
  const notice = screened.removed.length > 0 ? instructionNotice(screened.removed) : undefined;
  if (notice && !spec.reasons.includes(notice)) spec = { ...spec, reasons: [...spec.reasons, notice] };
  let next = memory;
  for (const message of input.messages ?? []) {
    const said = parseRequirement(message);
    spec = mergeMessage(spec, said);
    next = remember(next, { from: 'user', to: 'task', text: message });
    next = remember(next, { from: 'task', to: 'user', text: acknowledge(said) });
  }
  spec = checkBounds(applyOverrides(spec, input.overrides), [input.requirement, ...(input.messages ?? [])].flatMap(ratioTargetsOver100));
  const summary = spec.decision === 'accept' ? spec.reasons[0] ?? 'Accepted.' : `${spec.decision}: ${spec.reasons.join(' ')}`;
  next = remember(next, { from: 'task', to: 'user', text: summary });
  const record: BrainRecord = {
    kind: brain.kind,
    ...(brain.model ? { model: brain.model } : {}),
    answeredBy: decided.brain,
    ...(decided.fallbackReason ? { fallbackReason: decided.fallbackReason } : {}),
    offlineReader: reader?.source ?? 'rules',
    ...(reader?.encoderUnavailable ? { offlineReaderNote: reader.encoderUnavailable } : {}),
    ...(notes.length ? { notes } : {}),
    ...(decided.latencyMs !== undefined ? { latencyMs: decided.latencyMs } : {}),
  };
  return { spec, brain: decided.brain, ...(decided.fallbackReason ? { fallbackReason: decided.fallbackReason } : {}), record, memory: next };
}

/** Fold one later user message into the spec: new targets win, a refusal in the message stands. */
export function mergeMessage(spec: TaskSpec, said: TaskSpec): TaskSpec {
  if (said.decision === 'reject-unethical' || (said.decision === 'reject-infeasible' && spec.decision === 'accept')) {
    return { ...spec, decision: said.decision, reasons: said.reasons };
  }
  const objectives = [...spec.objectives.filter((o) => !said.objectives.some((n) => n.metric === o.metric)), ...said.objectives];
  return {
    ...spec,
    ...(spec.task ? {} : said.task ? { task: said.task, modality: said.modality } : {}),
    ...(said.labels && !spec.labels ? { labels: said.labels } : {}),
    objectives,
    constraints: { ...spec.constraints, ...said.constraints },
    serving: { ...spec.serving, ...said.serving },
    decision: spec.decision === 'needs-input' && said.task ? 'accept' : spec.decision,
  };
}

/** Overrides from the spec win over parsing. */
export function applyOverrides(spec: TaskSpec, overrides: TargetOverrides | undefined): TaskSpec {
  if (!overrides) return spec;
  return {
    ...spec,
    objectives: overrides.objectives ?? spec.objectives,
    constraints: { ...spec.constraints, ...overrides.constraints },
    serving: { ...spec.serving, ...overrides.serving },
  };
}

/** A short reply to a user's message saying what changed. */
export function acknowledge(said: TaskSpec): string {
  if (said.decision.startsWith('reject')) return `I cannot do that: ${said.reasons.join(' ')}`;
  const changes = [
    ...said.objectives.map((o) => `${o.metric} ${o.op} ${o.value}`),
    said.constraints.maxParameters && `at most ${said.constraints.maxParameters.toLocaleString('en-US')} parameters`,
    said.constraints.maxModelBytes && `model file ≤ ${said.constraints.maxModelBytes.toLocaleString('en-US')} bytes`,
    said.serving.qps && `${said.serving.qps} QPS`,
    said.serving.latencyP99Ms && `p99 ≤ ${said.serving.latencyP99Ms} ms`,
    said.serving.memoryBytes && `${said.serving.memoryBytes.toLocaleString('en-US')} bytes per replica`,
  ].filter(Boolean);
  return changes.length ? `Noted: ${changes.join(', ')}.` : 'Noted.';
}
