import { DataOperation, type DataProfile, type DataSource } from '../jobs/data-spec.js';
import type { Modality, Objective, Task } from '../task/task-spec.js';
import { isBoxTask } from './boxes.js';

/** The task as the Data agent sees it. */
export interface DataTask {
  task?: Task | undefined;
  modality?: Modality | undefined;
}

/** z for a two-sided 95% interval. */
const Z95 = 1.96;
/** Below this many labelled rows in a class, the model cannot learn it nor the evaluation judge it. */
export const MIN_ROWS_PER_CLASS = 30;
/** A teacher needs this many labelled rows (and MIN_TEACHER_ROWS_PER_CLASS per class) before its pseudo-labels count. */
export const MIN_TEACHER_ROWS = 50;
export const MIN_TEACHER_ROWS_PER_CLASS = 10;
/** Augment when the smallest class is under this fraction of the largest. */
const AUGMENT_BELOW_MINORITY_RATIO = 0.2;
/** Subsample the training split above this many rows (sklearn families do not gain from more). */
const REDUCE_ABOVE_ROWS = 200_000;

/** Metrics that are fractions with a binomial-like sampling error. */
const RATIO_METRICS = new Set<Objective['metric']>(['accuracy', 'f1', 'precision', 'recall', 'auc', 'exact-match', 'wer', 'cer']);

const count = (n: number) => Math.round(n).toLocaleString('en-US');
const op = (raw: Record<string, unknown>): DataOperation => DataOperation.parse(raw);

/**
 * Operations to run before the data is profiled: clean, deduplicate (near-duplicates only for text:
 * similar digits or table rows are not duplicates), and find label errors by confident learning (not
 * for a regression target, which has no classes to confuse).
 * Unlabelled rows are left for the Model agent, whose teacher labels them once a small model misses.
 */
export function decideDataOperations(task: DataTask, roles: DataSource['role'][]): DataOperation[] {
  // Boxes have no text to clean and no class label to correct: the data job checks and deduplicates them itself.
  if (isBoxTask(task.task)) return [];
  const ops: DataOperation[] = [op({ op: 'clean' }), op({ op: 'dedupe', near: task.modality === 'text' })];
  if (roles.some((r) => r === 'train' || r === 'eval') && task.task !== 'tabular-regression') ops.push(op({ op: 'label-errors', action: 'correct' }));
  return ops;
}

/** Perturbed copies of rows suit texts and images; a table's classes are balanced by class weights in training instead. */
const augmentable = (task: DataTask): boolean => task.modality !== 'tabular';

/**
 * Operations the profile calls for on the training split, beyond the first pass (which already
 * cleaned, deduplicated and fixed label errors): augment a minority class far below the majority,
 * reduce a very large training split. Unlabelled rows stay for the Model agent's teacher, which
 * labels them with a model trained on this very data (the hierarchical mode).
 */
export function decideFromProfile(task: DataTask, profile: DataProfile): DataOperation[] {
  const ops: DataOperation[] = [];
  if (isBoxTask(task.task)) return ops;
  if (augmentable(task) && profile.classes.length > 1 && profile.minorityRatio < AUGMENT_BELOW_MINORITY_RATIO) {
    ops.push(op({ op: 'augment', targetMinorityRatio: 0.5, maxFactor: maxAugmentFactor(task) }));
  }
  if (profile.rows.train > REDUCE_ABOVE_ROWS) ops.push(op({ op: 'reduce', maxRows: REDUCE_ABOVE_ROWS }));
  return ops;
}

/** How many times a class may be multiplied by augmentation: text perturbations wear out sooner than image ones. */
export function maxAugmentFactor(task: DataTask): number {
  return task.modality === 'text' ? 3 : 5;
}

/** The fewest training rows a reduction may keep, whoever asks for it. */
export const MIN_ROWS_AFTER_REDUCE = 20_000;

/**
 * Bounds-check second-pass operations (from either brain): only augment and reduce, at most one of
 * each, augmentation only with several classes, not of tables, and within the modality's factor, reduction only of
 * a training split larger than what it keeps and never below MIN_ROWS_AFTER_REDUCE.
 */
export function boundProfileOperations(task: DataTask, profile: DataProfile, ops: readonly DataOperation[]): DataOperation[] {
  const out: DataOperation[] = [];
  if (isBoxTask(task.task)) return out; // augment and reduce act on class labels, not on boxes
  const augment = ops.find((o) => o.op === 'augment');
  if (augment && augment.op === 'augment' && augmentable(task) && profile.classes.length > 1 && profile.minorityRatio < 1) {
    out.push(op({ op: 'augment', targetMinorityRatio: Math.min(1, Math.max(profile.minorityRatio, augment.targetMinorityRatio)), maxFactor: Math.min(maxAugmentFactor(task), Math.max(1, augment.maxFactor)) }));
  }
  const reduce = ops.find((o) => o.op === 'reduce');
  if (reduce && reduce.op === 'reduce') {
    const maxRows = Math.max(MIN_ROWS_AFTER_REDUCE, reduce.maxRows);
    if (profile.rows.train > maxRows) out.push(op({ op: 'reduce', maxRows }));
  }
  return out;
}

/**
 * Labelled rows needed to judge an objective: enough that a 95% interval's half-width is under half
 * the error budget, n = ceil(4·z²·v/(1−v)) for `metric >= v` (139 for 0.9, 1,010 for 0.985).
 * 0 for metrics without a binomial error model.
 */
export function rowsToJudge(objective: Objective): number {
  const { metric, op: comparison, value } = objective;
  if (!RATIO_METRICS.has(metric) || value <= 0 || value >= 1) return 0;
  // For `>=` the error budget is 1 − v around a rate v; for `<=` (error rates) it is v around v.
  const budget = comparison === '>=' ? 1 - value : value;
  const rate = comparison === '>=' ? value : 1 - value;
  return Math.ceil((4 * Z95 * Z95 * rate) / budget - 1e-9);
}

/** The Data agent's verdict on whether the data can support the target. */
export type DataReview =
  | { moreDataNeeded: true; additionalRows: number; question: string; reasons: string[] }
  | { moreDataNeeded: false; additionalRows: 0; reasons: string[] };

/**
 * Whether there is enough data for the target: enough labelled rows to judge it (unlabelled rows
 * count when there are enough labelled ones for a teacher to label them), and at least
 * MIN_ROWS_PER_CLASS labelled rows in every class. Asks for a concrete number of rows otherwise.
 */
export function reviewDataProfile(task: { objectives: Objective[] }, profile: Pick<DataProfile, 'rows' | 'classes'>): DataReview {
  const labelled = profile.rows.train + profile.rows.test;
  const perClass = profile.classes.map((c) => ({ label: c.label, rows: c.train + c.test }));
  const smallest = perClass.length > 0 ? Math.min(...perClass.map((c) => c.rows)) : labelled;
  const teacherUsable = profile.rows.unlabelled > 0 && labelled >= MIN_TEACHER_ROWS && smallest >= MIN_TEACHER_ROWS_PER_CLASS;
  const available = labelled + (teacherUsable ? profile.rows.unlabelled : 0);

  const judged = task.objectives.map((o) => ({ o, rows: rowsToJudge(o) })).sort((a, b) => b.rows - a.rows)[0];
  const needed = judged?.rows ?? 0;
  const totalDeficit = Math.max(0, needed - available);
  const thin = perClass.filter((c) => c.rows < MIN_ROWS_PER_CLASS).map((c) => ({ ...c, missing: MIN_ROWS_PER_CLASS - c.rows }));
  const classDeficit = thin.reduce((sum, c) => sum + c.missing, 0);

  const reasons: string[] = [];
  if (judged && needed > 0) {
    reasons.push(`Judging ${judged.o.metric} ${judged.o.op} ${judged.o.value} needs about ${count(needed)} rows (95% interval within half the error budget); there are ${count(labelled)} labelled${teacherUsable ? ` and ${count(profile.rows.unlabelled)} unlabelled rows a teacher can label` : ''}.`);
  }
  if (profile.rows.unlabelled > 0 && !teacherUsable) {
    reasons.push(`The ${count(profile.rows.unlabelled)} unlabelled rows do not count yet: a teacher needs at least ${MIN_TEACHER_ROWS} labelled rows and ${MIN_TEACHER_ROWS_PER_CLASS} per class.`);
  }
  for (const c of thin) reasons.push(`Class '${c.label}' has ${count(c.rows)} labelled rows; every class needs at least ${MIN_ROWS_PER_CLASS}.`);

  const additionalRows = Math.max(totalDeficit, classDeficit);
  if (additionalRows === 0) {
    reasons.push('There is enough data for the target.');
    return { moreDataNeeded: false, additionalRows: 0, reasons };
  }
  const parts: string[] = [];
  if (totalDeficit >= classDeficit && judged) {
    parts.push(`To judge ${judged.o.metric} ${judged.o.op} ${judged.o.value} reliably I need about ${count(needed)} labelled rows, and there are ${count(labelled)}${teacherUsable ? ` (plus ${count(profile.rows.unlabelled)} unlabelled)` : ''}.`);
    parts.push(`Please add at least ${additionalRows} more labelled rows to spec.data${thin.length > 0 ? `, including ${thin.map((c) => `${c.missing} of '${c.label}'`).join(', ')}` : ''}.`);
    if (!teacherUsable) parts.push(`Unlabelled rows (role: unlabelled) help too once there are at least ${MIN_TEACHER_ROWS} labelled ones.`);
  } else {
    parts.push(`${thin.map((c) => `Class '${c.label}' has only ${count(c.rows)} labelled rows`).join('; ')}; each class needs at least ${MIN_ROWS_PER_CLASS}.`);
    parts.push(`Please add at least ${additionalRows} more labelled rows to spec.data: ${thin.map((c) => `${c.missing} of '${c.label}'`).join(', ')}.`);
  }
  return { moreDataNeeded: true, additionalRows, question: parts.join(' '), reasons };
}
