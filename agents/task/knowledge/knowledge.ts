import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { HarmCategory } from '../meaning/harms.js';
import { Decision, Task } from '../task-spec.js';

/**
 * One labelled requirement of the Task agent's knowledge base: what it asks for (task), and
 * whether it is acceptable (decision, harm category). Look-alikes are legitimate requests that
 * sound like a harm (a phishing detector); they teach the reader the difference.
 */
export const KnowledgeEntry = z.object({
  id: z.string(),
  text: z.string().min(1),
  lang: z.enum(['en', 'zh', 'es']),
  decision: Decision,
  task: Task.optional(),
  harm: HarmCategory.optional(),
  lookalike: HarmCategory.optional(),
});
export type KnowledgeEntry = z.infer<typeof KnowledgeEntry>;

/** A held-out requirement: never read by the brain nor by tuning; scored only. */
export const HeldOutEntry = z.object({
  id: z.string(),
  text: z.string().min(1),
  lang: z.enum(['en', 'zh', 'es']),
  /** The task, a harm category, `lookalike`, `infeasible` or `needs-input`: the row of the report. */
  category: z.string(),
  expect: z.object({ decision: Decision, task: Task.optional() }).passthrough(),
});
export type HeldOutEntry = z.infer<typeof HeldOutEntry>;

const readJsonl = <T>(file: string, schema: z.ZodType<T>): T[] =>
  readFileSync(new URL(file, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => schema.parse(JSON.parse(l)));

/** The knowledge base the offline brain reads by meaning. */
export function loadKnowledgeBase(): KnowledgeEntry[] {
  return readJsonl('./knowledge-base.jsonl', KnowledgeEntry);
}

/** The held-out evaluation set (same expectations format as shared/eval). */
export function loadHeldOut(): HeldOutEntry[] {
  return readJsonl('./heldout.jsonl', HeldOutEntry);
}
