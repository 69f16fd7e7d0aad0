import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Brain } from '../brain/brain.js';
import { consult, type ConsultRecord } from '../brain/consult.js';
import type { Memory } from '../brain/memory.js';
import { SERVER_SOP } from './sop.js';

/** The Server agent's system prompt. */
export const SERVER_PROFILE = readFileSync(new URL('./profile.md', import.meta.url), 'utf8');

/** The sizing numbers the explanation may use. */
export interface ServingFacts {
  replicas: number;
  perReplicaQps: number;
  saturationQps: number;
  targetLatencyP99Ms: number;
  predictedLatencyP99Ms: number;
  memoryBytes: number;
  accelerator: string;
  qps?: number | undefined;
  reasoning: readonly string[];
}

/** The Server agent's explanation of the deployment to the user. */
export const ServingExplanation = z.object({
  explanation: z.string().max(800).describe('two or three sentences for the user, using only numbers from the input'),
});
export type ServingExplanation = z.infer<typeof ServingExplanation>;

const mib = (bytes: number) => Math.round(bytes / 2 ** 20);

/** The deterministic explanation: the estimate's own arithmetic, in words. */
export function offlineExplanation(f: ServingFacts): string {
  return `${f.replicas} replica(s) on ${f.accelerator}${f.qps ? ` for ${f.qps} QPS` : ''}: each safely serves ${f.perReplicaQps.toFixed(1)} QPS (saturation ${f.saturationQps.toFixed(1)} QPS) with a predicted p99 of ${f.predictedLatencyP99Ms.toFixed(2)} ms against the ${f.targetLatencyP99Ms} ms target, in ${mib(f.memoryBytes)} MiB per replica.`;
}

/** Every number a faithful explanation may contain: the facts, rounded as people round them, and those in the reasoning. */
function allowedNumbers(f: ServingFacts): number[] {
  const base = [f.replicas, f.perReplicaQps, f.saturationQps, f.targetLatencyP99Ms, f.predictedLatencyP99Ms, f.memoryBytes, mib(f.memoryBytes), f.memoryBytes / 1e6, f.memoryBytes / 1e9, f.memoryBytes / 2 ** 30, f.qps ?? 0, 99, 50, 95];
  const fromReasoning = f.reasoning.flatMap((r) => [...r.matchAll(/\d+(?:\.\d+)?/g)].map((m) => Number(m[0])));
  return [...base, ...fromReasoning];
}

/** Whether every number in `text` is one of the facts (to the precision written). */
export function faithful(text: string, f: ServingFacts): boolean {
  const allowed = allowedNumbers(f);
  return [...text.replace(/(\d),(\d{3})/g, '$1$2').matchAll(/\d+(?:\.\d+)?/g)].every((m) => {
    const written = Number(m[0]);
    const decimals = m[0].split('.')[1]?.length ?? 0;
    return allowed.some((a) => Math.abs(a - written) <= 0.5 * 10 ** -decimals + 1e-9 || Math.abs(a - written) <= 0.01 * Math.max(1, a));
  });
}

/**
 * The Server agent explains the sizing through its brain (profile and SOP given). An explanation
 * that states any number the measurements do not contain is replaced by the offline one.
 */
export async function consultServingExplanation(brain: Brain, facts: ServingFacts, memory: Memory, past?: readonly ConsultRecord[]): Promise<{ explanation: string; record: ConsultRecord; reused: boolean }> {
  const offline = offlineExplanation(facts);
  const out = await consult(
    brain,
    {
      agent: 'server',
      decision: 'serving-explanation',
      schema: ServingExplanation,
      profile: SERVER_PROFILE,
      sop: SERVER_SOP,
      memory,
      input: facts,
      offline: () => ({ explanation: offline }),
      bound: (e) => ({ explanation: e.explanation.trim() && faithful(e.explanation, facts) ? e.explanation.trim().slice(0, 800) : offline }),
    },
    past,
  );
  return { explanation: out.value.explanation, record: out.record, reused: out.reused };
}
