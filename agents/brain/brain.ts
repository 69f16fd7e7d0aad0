import type { z } from 'zod';
import type { Memory } from './memory.js';

/** What an agent hands its brain for one decision. */
export interface DecisionRequest {
  /** Short name of the decision ("task-spec", "plan"), used for caching, logs and schema names. */
  name: string;
  /** The agent's profile: its system prompt. */
  profile: string;
  /** The agent's standard operating procedure, in words. */
  sop: string;
  /** Conversation and inter-agent messages so far. */
  memory: Memory;
  /** The untrusted input to decide on (requirement, profile of the data, attempts...). */
  input: unknown;
}

/** A decision and which brain made it. */
export interface Decided<T> {
  value: T;
  brain: 'offline' | 'llm';
  /** Set when the LLM was asked but the offline brain answered instead. */
  fallbackReason?: string;
  /** How long the LLM took to answer, when it did. */
  latencyMs?: number;
}

/** Token use reported by an LLM brain. */
export interface TokenUsage {
  prompt: number;
  completion: number;
}

/**
 * One door through which agents think. `offline` is the deterministic answer; an LLM brain may
 * answer instead, validated by `schema`, and falls back to `offline` on any failure.
 */
export interface Brain {
  readonly kind: 'offline' | 'llm';
  /** Model name for LLM brains. */
  readonly model?: string;
  decide<S extends z.ZodType>(schema: S, request: DecisionRequest, offline: () => z.infer<S>): Promise<Decided<z.infer<S>>>;
  /** Tokens spent so far. */
  usage(): TokenUsage;
}

/**
 * Which brain answered a decision and why, as every output shows it (parse, status, report):
 * never a silent fallback.
 */
export interface BrainRecord {
  /** The brain configured: offline, or an LLM. */
  kind: 'offline' | 'llm';
  /** The LLM's model name, when one is configured. */
  model?: string;
  /** Which brain's answer was used. */
  answeredBy: 'offline' | 'llm';
  /** Why the offline brain answered although an LLM is configured. */
  fallbackReason?: string;
  /** How the offline brain read the text ("use-multilingual-v3+char-ngrams", "char-ngrams", "rules"). */
  offlineReader?: string;
  /** Why the offline reader runs without its sentence encoder, when it does. */
  offlineReaderNote?: string;
  /** What reconciling the two brains kept, dropped or asked about. */
  notes?: string[];
  /** How long the LLM took, when it answered. */
  latencyMs?: number;
}
