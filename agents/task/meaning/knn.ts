import type { KnowledgeEntry } from '../knowledge/knowledge.js';
import type { Decision, Task } from '../task-spec.js';
import type { HarmCategory } from './harms.js';

/** How the neighbours vote. Tuned by leave-one-out on the knowledge base only. */
export interface VoteParameters {
  /** Neighbours that vote. */
  k: number;
  /** Sharpness: a neighbour's weight is similarity^power. */
  power: number;
}

export const DEFAULT_VOTE: VoteParameters = { k: 7, power: 4 };

/** A knowledge-base entry and how alike it is to the query. */
export interface Neighbour {
  entry: KnowledgeEntry;
  similarity: number;
}

/** What the neighbours say, as vote shares (each map sums to 1 over its voters). */
export interface Votes {
  decision: Map<Decision, number>;
  /** Among neighbours with a task. */
  task: Map<Task, number>;
  /** Among refused neighbours. */
  harm: Map<HarmCategory, number>;
  /** Share of all votes from legitimate look-alikes of a harm. */
  lookalike: number;
  nearest: Neighbour[];
}

function shares<K>(pairs: [K | undefined, number][]): Map<K, number> {
  const out = new Map<K, number>();
  let total = 0;
  for (const [key, w] of pairs) {
    if (key === undefined) continue;
    out.set(key, (out.get(key) ?? 0) + w);
    total += w;
  }
  for (const [key, w] of out) out.set(key, total > 0 ? w / total : 0);
  return out;
}

/** The k most similar entries vote, each with weight similarity^power. Pure. */
export function vote(neighbours: readonly Neighbour[], params: VoteParameters = DEFAULT_VOTE): Votes {
  const nearest = [...neighbours].sort((a, b) => b.similarity - a.similarity || a.entry.id.localeCompare(b.entry.id)).slice(0, params.k);
  const weighted = nearest.map((n) => ({ entry: n.entry, w: Math.max(n.similarity, 1e-6) ** params.power }));
  const total = weighted.reduce((s, x) => s + x.w, 0) || 1;
  return {
    decision: shares(weighted.map((x) => [x.entry.decision, x.w])),
    task: shares(weighted.map((x) => [x.entry.task, x.w])),
    harm: shares(weighted.map((x) => [x.entry.harm, x.w])),
    lookalike: weighted.filter((x) => x.entry.lookalike).reduce((s, x) => s + x.w, 0) / total,
    nearest,
  };
}

/** The key with the largest share, ties broken by name so the answer is deterministic. */
export function top<K extends string>(m: Map<K, number>): [K, number] | undefined {
  return [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0];
}
