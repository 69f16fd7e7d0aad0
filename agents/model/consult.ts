import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Brain } from '../brain/brain.js';
import { consult, type ConsultRecord } from '../brain/consult.js';
import type { Memory } from '../brain/memory.js';
import type { DataProfile } from '../jobs/data-spec.js';
import type { TaskSpec } from '../task/task-spec.js';
import type { CatalogEntry } from './catalog.js';
import type { Selection } from './select.js';
import { MODEL_SOP } from './sop.js';

/** The Model agent's system prompt. */
export const MODEL_PROFILE = readFileSync(new URL('./profile.md', import.meta.url), 'utf8');

/** The Model agent's choice among the candidates the catalog allows: their order, and numeric hyperparameter changes. */
export const ModelChoice = z.object({
  order: z.array(z.string()).max(32).describe('ids of the given candidates, the one to train first first'),
  hyperparameters: z
    .array(z.object({ model: z.string(), name: z.string(), value: z.number() }))
    .max(16)
    .describe('changes to numeric hyperparameters the candidates already have, within half to double their value; empty to keep them'),
  reason: z.string().max(600).describe('one sentence for the user'),
});
export type ModelChoice = z.infer<typeof ModelChoice>;

/**
 * Bounds-check a choice: the order may only rearrange the candidates (unknown ids are dropped,
 * missing ones keep their offline place at the end); a hyperparameter may only change when the
 * candidate has it as a positive number, to between half and double it (integers stay integers).
 */
export function boundChoice(candidates: readonly CatalogEntry[], choice: ModelChoice): ModelChoice {
  const ids = candidates.map((c) => c.id);
  const order = [...new Set(choice.order.filter((id) => ids.includes(id))), ...ids].filter((id, i, all) => all.indexOf(id) === i);
  const hyperparameters = choice.hyperparameters.flatMap((h) => {
    const base = candidates.find((c) => c.id === h.model)?.hyperparameters[h.name];
    if (typeof base !== 'number' || base <= 0 || !Number.isFinite(h.value)) return [];
    const value = Math.min(2 * base, Math.max(base / 2, h.value));
    return [{ ...h, value: Number.isInteger(base) ? Math.round(value) : Number(value.toPrecision(6)) }];
  });
  return { order, hyperparameters, reason: choice.reason.slice(0, 600) };
}

/** The candidates in the chosen order, with the chosen hyperparameters applied. */
export function applyChoice(candidates: readonly CatalogEntry[], choice: ModelChoice): CatalogEntry[] {
  return choice.order.map((id) => {
    const entry = candidates.find((c) => c.id === id)!;
    const changes = choice.hyperparameters.filter((h) => h.model === id);
    return changes.length ? { ...entry, hyperparameters: { ...entry.hyperparameters, ...Object.fromEntries(changes.map((h) => [h.name, h.value])) } } : entry;
  });
}

/**
 * The Model agent consults its brain (profile and SOP given) on which allowed candidate to train
 * first and whether to adjust their hyperparameters. The offline answer keeps the catalog's order
 * and values, so without an LLM the selection is exactly `selectCandidates`'.
 */
export async function consultModelChoice(
  brain: Brain,
  task: TaskSpec,
  profile: Pick<DataProfile, 'rows' | 'classes' | 'minorityRatio'>,
  selection: Selection,
  memory: Memory,
  past?: readonly ConsultRecord[],
): Promise<{ selection: Selection; choice: ModelChoice; record: ConsultRecord; reused: boolean }> {
  const candidates = selection.candidates;
  const out = await consult(
    brain,
    {
      agent: 'model',
      decision: 'model-candidates',
      schema: ModelChoice,
      profile: MODEL_PROFILE,
      sop: MODEL_SOP,
      memory,
      input: {
        task: { task: task.task, objectives: task.objectives, constraints: task.constraints },
        data: { rows: profile.rows, classes: profile.classes.length, minorityRatio: profile.minorityRatio },
        candidates: candidates.map((c) => ({ id: c.id, family: c.family, approxParameters: c.approxParameters, approxBytes: c.approxBytes, expectedLatencyMs: c.expectedLatencyMs, hyperparameters: c.hyperparameters })),
      },
      offline: () => ({ order: candidates.map((c) => c.id), hyperparameters: [], reason: selection.reasons[0] ?? 'Catalog order: the best-ranked candidate that fits first.' }),
      bound: (choice) => boundChoice(candidates, choice),
    },
    past,
  );
  return { selection: { ...selection, candidates: applyChoice(candidates, out.value) }, choice: out.value, record: out.record, reused: out.reused };
}
