import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Brain } from '../brain/brain.js';
import { consult, type ConsultRecord } from '../brain/consult.js';
import type { Memory } from '../brain/memory.js';
import { AugmentOperation, ReduceOperation, type DataOperation, type DataProfile } from '../jobs/data-spec.js';
import { boundProfileOperations, decideFromProfile, type DataTask } from './decide.js';
import { DATA_SOP } from './sop.js';

/** The Data agent's system prompt. */
export const DATA_PROFILE = readFileSync(new URL('./profile.md', import.meta.url), 'utf8');

/** What the Data agent decides after reading the profile: the second-pass operations and why. */
export const DataOperationsDecision = z.object({
  operations: z.array(z.discriminatedUnion('op', [AugmentOperation, ReduceOperation])).max(2).describe('augment a minority class, reduce a huge training split; empty when the data is fine'),
  reason: z.string().max(600).describe('one sentence for the user'),
});
export type DataOperationsDecision = z.infer<typeof DataOperationsDecision>;

/** The numbers of a profile the decision needs (never rows of data). */
function profileSummary(profile: DataProfile) {
  return {
    rows: profile.rows,
    classes: profile.classes.slice(0, 50),
    minorityRatio: profile.minorityRatio,
    duplicatesRemoved: profile.duplicates.removed,
    labelIssues: profile.labelIssues ? { found: profile.labelIssues.found, corrected: profile.labelIssues.corrected } : undefined,
  };
}

/**
 * The Data agent reads the profile and decides the training-split operations of a second pass,
 * through its brain (profile and SOP given), bounds-checked; the offline brain's answer is
 * `decideFromProfile`.
 */
export async function consultDataOperations(
  brain: Brain,
  task: DataTask,
  profile: DataProfile,
  memory: Memory,
  past?: readonly ConsultRecord[],
): Promise<{ operations: DataOperation[]; reason: string; record: ConsultRecord; reused: boolean }> {
  const offline = (): DataOperationsDecision => {
    const operations = decideFromProfile(task, profile) as DataOperationsDecision['operations'];
    return { operations, reason: operations.length ? `The profile calls for ${operations.map((o) => o.op).join(' and ')} of the training split.` : 'The data needs no second pass.' };
  };
  const out = await consult(
    brain,
    {
      agent: 'data',
      decision: 'data-operations',
      schema: DataOperationsDecision,
      profile: DATA_PROFILE,
      sop: DATA_SOP,
      memory,
      input: { task, profile: profileSummary(profile) },
      offline,
      bound: (d) => ({ operations: boundProfileOperations(task, profile, d.operations) as DataOperationsDecision['operations'], reason: d.reason.slice(0, 600) }),
    },
    past,
  );
  return { operations: out.value.operations, reason: out.value.reason, record: out.record, reused: out.reused };
}
