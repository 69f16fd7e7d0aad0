import { createHash } from 'node:crypto';
import type { z } from 'zod';
import type { Brain } from './brain.js';
import type { Memory } from './memory.js';

/** One agent decision as status keeps it: who answered, why it fell back, and the bounded value. */
export interface ConsultRecord {
  agent: 'task' | 'data' | 'model' | 'server';
  decision: string;
  answeredBy: 'offline' | 'llm';
  fallbackReason?: string;
  /** Hash of the decision's input: the same input reuses the recorded decision. */
  key: string;
  /** The decision as JSON, after bounds checks. */
  value: string;
}

/** What an agent asks its brain. */
export interface Consultation<S extends z.ZodType> {
  agent: ConsultRecord['agent'];
  /** The decision's name ("data-operations", "model-candidates"). */
  decision: string;
  schema: S;
  profile: string;
  sop: string;
  memory: Memory;
  /** The untrusted input the decision is about. */
  input: unknown;
  /** The deterministic decision (the offline brain's answer). */
  offline: () => z.infer<S>;
  /** Bounds-checks any answer (the LLM's or the offline one) before it is used. */
  bound: (value: z.infer<S>) => z.infer<S>;
}

/** Stable key of a decision's input. */
export function consultationKey(decision: string, input: unknown): string {
  return createHash('sha256').update(JSON.stringify({ decision, input })).digest('hex').slice(0, 16);
}

/**
 * Ask the brain once per distinct input: a decision recorded earlier (in status) for the same input
 * is reused, so a level-triggered pipeline does not call an LLM on every reconcile and a restart
 * decides the same. Every answer is bounds-checked; the record says which brain answered.
 */
export async function consult<S extends z.ZodType>(brain: Brain, c: Consultation<S>, past: readonly ConsultRecord[] = []): Promise<{ value: z.infer<S>; record: ConsultRecord; reused: boolean }> {
  const key = consultationKey(c.decision, c.input);
  const previous = past.find((r) => r.agent === c.agent && r.decision === c.decision && r.key === key);
  if (previous) {
    const parsed = c.schema.safeParse(JSON.parse(previous.value));
    if (parsed.success) return { value: c.bound(parsed.data), record: previous, reused: true };
  }
  const decided = await brain.decide(c.schema, { name: c.decision, profile: c.profile, sop: c.sop, memory: c.memory, input: c.input }, c.offline);
  const value = c.bound(decided.value);
  const record: ConsultRecord = {
    agent: c.agent,
    decision: c.decision,
    answeredBy: decided.brain,
    ...(decided.fallbackReason ? { fallbackReason: decided.fallbackReason } : {}),
    key,
    value: JSON.stringify(value).slice(0, 4096),
  };
  return { value, record, reused: false };
}
