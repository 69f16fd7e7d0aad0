import type { Condition } from '../api/training-request.js';

/** The stage conditions in pipeline order; `Ready` is the AND of those that apply. */
export const STAGE_CONDITIONS = ['RequirementParsed', 'Planned', 'DataPrepared', 'Trained', 'TargetMet', 'Converted', 'Deployed'] as const;
export type StageCondition = (typeof STAGE_CONDITIONS)[number];

/** A condition to set: lastTransitionTime and observedGeneration are filled in by `setCondition`. */
export interface ConditionUpdate {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message?: string;
}

/**
 * Set one condition in a list, keeping `lastTransitionTime` unless the status flips
 * (metav1.Condition semantics). Returns a new list; the order of existing types is kept.
 */
export function setCondition(conditions: readonly Condition[], update: ConditionUpdate, now: Date, generation?: number): Condition[] {
  const existing = conditions.find((c) => c.type === update.type);
  const next: Condition = {
    type: update.type,
    status: update.status,
    reason: update.reason,
    message: (update.message ?? '').slice(0, 32768),
    lastTransitionTime: existing && existing.status === update.status ? existing.lastTransitionTime : now.toISOString(),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  return existing ? conditions.map((c) => (c.type === update.type ? next : c)) : [...conditions, next];
}

/** The condition of a type, if set. */
export function getCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** True when the condition is set to True. */
export function isTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === 'True';
}

/** The overall state kstatus, Argo CD and `kubectl wait` read. */
export type Overall =
  | { state: 'Ready'; reason: string; message: string }
  | { state: 'Reconciling'; reason: string; message: string }
  | { state: 'Stalled'; reason: string; message: string }
  | { state: 'AwaitingInput'; reason: string; message: string };

/**
 * Write exactly one of Ready / Reconciling / Stalled as True (or AwaitingInput with the three
 * False), the way kstatus expects.
 */
export function setOverall(conditions: readonly Condition[], overall: Overall, now: Date, generation?: number): Condition[] {
  const flag = (type: string, on: boolean) => ({ type, status: on ? ('True' as const) : ('False' as const), reason: overall.reason, message: on ? overall.message : '' });
  let out = [...conditions];
  out = setCondition(out, flag('Ready', overall.state === 'Ready'), now, generation);
  out = setCondition(out, flag('Reconciling', overall.state === 'Reconciling'), now, generation);
  out = setCondition(out, flag('Stalled', overall.state === 'Stalled'), now, generation);
  out = setCondition(out, flag('AwaitingInput', overall.state === 'AwaitingInput'), now, generation);
  return out;
}
