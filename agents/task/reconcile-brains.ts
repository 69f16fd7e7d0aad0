import { findNumbers, toBytes, toMilliseconds } from './parse/numbers.js';
import type { Objective, TaskSpec } from './task-spec.js';

/** What the reconciliation kept, and why it dropped or overrode anything. */
export interface Reconciled {
  spec: TaskSpec;
  /** One line per value the LLM gave that did not survive, in words for the user. */
  notes: string[];
}

/** What the offline reading knows besides its spec. */
export interface OfflineContext {
  /** The requirement as both brains read it (instruction-like sentences already set aside). */
  text: string;
  /** The normalised text the offline parser reads (Chinese and Spanish mapped, lower case). */
  normalised: string;
  /** Whether the offline reading of the task is confident (its vote and the phrases agree). */
  taskConfident: boolean;
  /** Whether the user has confirmed, in a later message, a request only the LLM objected to. */
  confirmed: boolean;
}

const close = (a: number, b: number, rel: number) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(b));

/** Every value a number written in the text could stand for: as written, as a fraction, in bytes, in ms, per second. */
export function statedValues(normalised: string): number[] {
  const out: number[] = [];
  for (const t of findNumbers(normalised)) {
    out.push(t.value, t.value / 100, t.value / 60, t.value / 3600);
    const bytes = toBytes(t);
    if (bytes !== undefined) out.push(bytes, t.value * 2 ** 30, t.value * 2 ** 20);
    const ms = toMilliseconds(t);
    if (ms !== undefined) out.push(ms);
  }
  return out;
}

function supported(value: number, stated: number[], rel = 1e-3): boolean {
  return stated.some((s) => close(value, s, rel));
}

/**
 * Reconcile the LLM's reading with the offline one. Numbers the user wrote win: where both brains
 * give a value the offline one (read from the text by rule) stands; an LLM value with no number in
 * the text to support it is dropped with a note. Labels must appear in the text. An offline refusal
 * stands; a refusal by the LLM alone asks a human instead of rejecting or proceeding; the LLM
 * cannot turn "I could not tell what you want" into an invented task without the user agreeing.
 */
export function reconcileBrains(offline: TaskSpec, llm: TaskSpec, context: OfflineContext): Reconciled {
  const notes: string[] = [];
  const stated = statedValues(context.normalised);
  const lowered = context.text.toLowerCase();

  // Safety first: the offline verdict on ethics and feasibility cannot be talked down.
  if (offline.decision === 'reject-unethical' || offline.decision === 'reject-infeasible') {
    if (llm.decision !== offline.decision) notes.push(`The LLM answered "${llm.decision}", but the offline checks refuse this request; the refusal stands.`);
    return { spec: offline, notes };
  }
  if ((llm.decision === 'reject-unethical' || llm.decision === 'reject-infeasible') && !context.confirmed) {
    const why = llm.reasons.join(' ').slice(0, 600) || 'it gave no reason';
    const kind = llm.decision === 'reject-unethical' ? 'unethical' : 'infeasible';
    return {
      spec: {
        ...offline,
        decision: 'needs-input',
        reasons: [
          `The LLM judged this request ${kind}: ${why} The offline checks found no such problem, so a person decides: if the request is legitimate, append a message to spec.messages that starts with "I confirm" and says why; otherwise delete the request.`,
        ],
      },
      notes: [`The LLM alone refused (${kind}); asked the user to confirm.`],
    };
  }
  if (llm.decision !== offline.decision && (llm.decision === 'reject-unethical' || llm.decision === 'reject-infeasible')) {
    notes.push(`The LLM judged this request ${llm.decision}; the user confirmed it, so it goes ahead.`);
  }

  // Targets: the offline value (read from the text) wins; an LLM value must be stated in the text.
  const objectives: Objective[] = [...offline.objectives];
  for (const o of llm.objectives) {
    const mine = offline.objectives.find((x) => x.metric === o.metric);
    if (mine) {
      if (mine.op !== o.op || !close(mine.value, o.value, 1e-6)) notes.push(`Kept ${mine.metric} ${mine.op} ${mine.value} as written; the LLM said ${o.op} ${o.value}.`);
    } else if (supported(o.value, stated)) objectives.push(o);
    else notes.push(`Dropped the LLM's ${o.metric} ${o.op} ${o.value}: the requirement states no such number.`);
  }
  const pick = <K extends string>(group: string, mineObj: Partial<Record<K, number | string>>, theirs: Partial<Record<K, number | string>>, rel: number) => {
    const out: Partial<Record<K, number | string>> = { ...mineObj };
    for (const [key, value] of Object.entries(theirs) as [K, number | string][]) {
      if (value === undefined) continue;
      const mine = mineObj[key];
      if (mine !== undefined) {
        if (mine !== value) notes.push(`Kept ${group}.${key} ${mine} as written; the LLM said ${value}.`);
      } else if (typeof value === 'number' ? supported(value, stated, rel) : lowered.includes(value.toLowerCase())) out[key] = value;
      else notes.push(`Dropped the LLM's ${group}.${key} ${value}: the requirement does not state it.`);
    }
    return out;
  };
  const constraints = pick('constraints', offline.constraints, llm.constraints, 0.08) as TaskSpec['constraints'];
  const serving = pick('serving', offline.serving, llm.serving, 0.08) as TaskSpec['serving'];

  // Labels: the ones the text lists; an LLM's labels only when every one of them is in the text.
  let labels = offline.labels;
  if (!labels && llm.labels?.length) {
    if (llm.labels.every((l) => lowered.includes(l.toLowerCase()))) labels = llm.labels;
    else notes.push(`Dropped the LLM's labels (${llm.labels.slice(0, 8).join(', ')}): the requirement does not list them.`);
  }

  // Task: the LLM helps where the offline reading is unsure; it cannot invent one the user did not ask for.
  let task = offline.task;
  let modality = offline.modality;
  let decision = offline.decision;
  let reasons = offline.reasons;
  if (offline.decision === 'needs-input' && llm.decision === 'accept' && llm.task) {
    reasons = [`${offline.reasons[0] ?? ''} The LLM read it as a ${llm.task} task; if that is right, append a message to spec.messages saying so (for example "yes, ${llm.task}").`.trim()];
    notes.push(`The LLM accepted a request the offline reading could not place (${llm.task}); asked the user instead of guessing.`);
  } else if (llm.task && llm.task !== offline.task) {
    if (!offline.task || !context.taskConfident) {
      notes.push(`Took the LLM's task ${llm.task}${offline.task ? ` over the offline reading ${offline.task}, which was unsure` : ''}.`);
      task = llm.task;
      modality = llm.modality ?? modality;
    } else {
      notes.push(`Kept the task ${offline.task}; the LLM read ${llm.task}.`);
    }
  }
  if (decision === 'accept' && llm.decision === 'accept' && llm.reasons.length) reasons = [...offline.reasons];
  if (llm.decision === 'needs-input' && offline.decision === 'accept') notes.push(`The LLM asked for more detail (${llm.reasons.join(' ').slice(0, 200)}); the offline reading had enough to go on.`);
  if (decision === 'needs-input' && offline.decision !== 'needs-input') decision = offline.decision;

  return {
    spec: {
      ...offline,
      decision,
      ...(task ? { task } : {}),
      ...(modality ? { modality } : {}),
      ...(labels ? { labels } : {}),
      objectives: objectives.slice(0, 16),
      constraints,
      serving,
      reasons,
    },
    notes,
  };
}

/** Whether a later user message confirms a request ("I confirm...", "确认", "confirmo"). */
export function userConfirmed(messages: readonly string[] | undefined): boolean {
  return (messages ?? []).some((m) => /^\s*(i\s+)?confirm\b|^\s*确认|^\s*confirmo\b/i.test(m));
}
