import type { DataProfile } from '../jobs/data-spec.js';
import type { ModelChoice, TrainJobResult } from '../jobs/train-spec.js';
import type { Constraints, Objective } from '../task/task-spec.js';
import type { CatalogEntry } from './catalog.js';

/** One training attempt as the Model agent remembers it. */
export interface AttemptRecord {
  /** 1-based attempt number. */
  n: number;
  model: ModelChoice;
  /** Why this attempt was made. */
  reason: string;
  /** The attempt whose model pseudo-labelled the unlabelled rows for this one (a student). */
  teacherAttempt?: number;
  result?: TrainJobResult;
  error?: string;
}

/** Why a train decision was made: a catalog candidate, a teacher, a student of a teacher, or a longer run. */
export type AttemptRole = 'candidate' | 'teacher' | 'student' | 'longer';

/** Why the Model agent stopped. */
export type StopOutcome =
  | 'met' // the target is met within the limits
  | 'quantize' // the target is met, but the model is too many bytes: INT8 conversion brings it under
  | 'budget' // maxAttempts used up
  | 'exhausted' // nothing left worth trying
  | 'no-candidates'; // no catalog model fits

/** The Model agent's next step. */
export type AttemptDecision =
  | { kind: 'train'; role: AttemptRole; model: ModelChoice; reason: string; teacherAttempt?: number; teacherConfidence?: number }
  | { kind: 'stop'; outcome: StopOutcome; reason: string; bestAttempt?: number };

/** What nextAttempt reads. */
export interface NextAttemptInput {
  task: { objectives: Objective[]; constraints?: Constraints | undefined };
  /** Candidates in the order to try them (selectCandidates). */
  candidates: CatalogEntry[];
  /** Teachers that ignore the size limits (selectCandidates); none means no hierarchical mode. */
  teacherPool?: CatalogEntry[];
  attempts: AttemptRecord[];
  maxAttempts: number;
  profile: Pick<DataProfile, 'rows'>;
}

/** Confidence a teacher's pseudo-label needs; higher thresholds accept too few labels on small data. */
export const TEACHER_CONFIDENCE = 0.6;
/** INT8 stores a weight in a quarter of the FP32 bytes. */
export const QUANTIZATION_FACTOR = 4;
/** Training longer stops at this multiple of the catalog's iteration count. */
const MAX_ITERATION_FACTOR = 4;

const choice = (entry: CatalogEntry): ModelChoice => ({ id: entry.id, family: entry.family, hyperparameters: { ...entry.hyperparameters } });
const fmt = (v: number | undefined) => (v === undefined ? 'n/a' : Number(v.toFixed(4)).toString());
const count = (n: number) => Math.round(n).toLocaleString('en-US');

/** Whether the measured metrics meet every objective (a missing metric does not). */
export function meetsObjectives(result: TrainJobResult, objectives: Objective[]): boolean {
  return objectives.every((o) => {
    const measured = result.metrics[o.metric];
    return measured !== undefined && (o.op === '>=' ? measured >= o.value : measured <= o.value);
  });
}

/** Higher is better: the first objective's metric, sign-flipped for `<=` targets (accuracy without one). */
export function attemptScore(result: TrainJobResult, objectives: Objective[]): number {
  const objective = objectives[0];
  const value = result.metrics[objective?.metric ?? 'accuracy'];
  if (value === undefined) return -Infinity;
  return objective?.op === '<=' ? -value : value;
}

/** How a finished model stands against the parameter and byte limits. */
export function sizeFit(result: TrainJobResult, constraints: Constraints = {}): 'fits' | 'quantizable' | 'too-big' {
  if (constraints.maxParameters !== undefined && result.parameters > constraints.maxParameters) return 'too-big';
  if (constraints.maxModelBytes === undefined || result.modelBytes <= constraints.maxModelBytes) return 'fits';
  return result.modelBytes <= constraints.maxModelBytes * QUANTIZATION_FACTOR ? 'quantizable' : 'too-big';
}

/**
 * The attempt to keep: one that meets the target within the limits, then one INT8 brings within the
 * limits, then any within the limits, then any at all; ties go to the higher score, then the earlier.
 */
export function chooseBestAttempt(attempts: AttemptRecord[], task: NextAttemptInput['task']): AttemptRecord | undefined {
  const tier = (a: AttemptRecord) => {
    const met = meetsObjectives(a.result!, task.objectives);
    const fit = sizeFit(a.result!, task.constraints);
    if (met && fit === 'fits') return 4;
    if (met && fit === 'quantizable') return 3;
    if (fit === 'fits') return 2;
    return fit === 'quantizable' ? 1 : 0;
  };
  return attempts
    .filter((a) => a.result)
    .sort((a, b) => tier(b) - tier(a) || attemptScore(b.result!, task.objectives) - attemptScore(a.result!, task.objectives) || a.n - b.n)[0];
}

function describe(a: AttemptRecord, objectives: Objective[]): string {
  const metric = objectives[0]?.metric ?? 'accuracy';
  return `#${a.n} ${a.model.id} (${metric} ${fmt(a.result?.metrics[metric])}, ${count(a.result?.parameters ?? 0)} parameters, ${count(a.result?.modelBytes ?? 0)} bytes)`;
}

function targetWords(objectives: Objective[]): string {
  return objectives.length === 0 ? 'no stated target' : objectives.map((o) => `${o.metric} ${o.op} ${o.value}`).join(', ');
}

/**
 * Decide the next training attempt from the ones before it (pure, so the chain re-derives the same way
 * on every reconcile). In order: stop when the target is met within the limits (or INT8 conversion
 * brings it within them) or the budget is spent; otherwise go larger among the candidates; with
 * unlabelled rows, train a teacher and then the small model on its pseudo-labels (hierarchical mode);
 * train an iterative model longer; try the next candidate; stop when nothing is left.
 */
export function nextAttempt(input: NextAttemptInput): AttemptDecision {
  const { task, candidates, attempts, maxAttempts, profile } = input;
  const objectives = task.objectives;
  const constraints = task.constraints ?? {};
  const teacherPool = input.teacherPool ?? [];
  const done = attempts.filter((a): a is AttemptRecord & { result: TrainJobResult } => a.result !== undefined);
  const best = chooseBestAttempt(attempts, task);

  if (attempts.length === 0) {
    const first = candidates[0];
    if (!first) return { kind: 'stop', outcome: 'no-candidates', reason: 'No catalog model fits the task, the data and the limits; nothing to train.' };
    return { kind: 'train', role: 'candidate', model: choice(first), reason: `Start with the best-ranked candidate ${first.id} (~${count(first.approxParameters)} parameters, ~${count(first.approxBytes)} bytes) of ${candidates.length} that fit.` };
  }

  if (best) {
    const met = meetsObjectives(best.result!, objectives);
    const fit = sizeFit(best.result!, constraints);
    if (met && fit === 'fits') {
      return { kind: 'stop', outcome: 'met', bestAttempt: best.n, reason: `Attempt ${describe(best, objectives)} meets ${targetWords(objectives)} within the limits.` };
    }
    if (met && fit === 'quantizable') {
      return {
        kind: 'stop', outcome: 'quantize', bestAttempt: best.n,
        reason: `Attempt ${describe(best, objectives)} meets ${targetWords(objectives)} but is over the ${count(constraints.maxModelBytes!)}-byte limit; INT8 conversion (a quarter of the bytes) brings it under, behind the accuracy gate.`,
      };
    }
  }
  if (attempts.length >= maxAttempts) {
    return {
      kind: 'stop', outcome: 'budget', ...(best ? { bestAttempt: best.n } : {}),
      reason: best
        ? `The budget of ${maxAttempts} attempts is spent without meeting ${targetWords(objectives)}; keeping the best, ${describe(best, objectives)}.`
        : `The budget of ${maxAttempts} attempts is spent and no attempt succeeded.`,
    };
  }

  const tried = new Set(attempts.filter((a) => !a.teacherAttempt).map((a) => a.model.id));
  const entryOf = (id: string) => candidates.find((c) => c.id === id) ?? teacherPool.find((c) => c.id === id);
  // The deployable attempts so far (within the limits, or within them after INT8), best first.
  const deployable = done
    .filter((a) => sizeFit(a.result, constraints) !== 'too-big')
    .sort((a, b) => attemptScore(b.result, objectives) - attemptScore(a.result, objectives) || a.n - b.n);
  const bestSmall = deployable[0];
  const missed = bestSmall ? `${describe(bestSmall, objectives)} misses ${targetWords(objectives)}` : 'no attempt within the limits has succeeded yet';

  // 1. Go larger: an untried candidate bigger than the best deployable one, best-ranked first.
  const size = bestSmall ? (entryOf(bestSmall.model.id)?.approxParameters ?? bestSmall.result.parameters) : 0;
  const larger = candidates.find((c) => !tried.has(c.id) && c.approxParameters > size);
  if (bestSmall && larger) {
    return { kind: 'train', role: 'candidate', model: choice(larger), reason: `${missed}; a larger model is allowed: try ${larger.id} (~${count(larger.approxParameters)} parameters).` };
  }

  // 2. Hierarchical mode: a teacher labels the unlabelled rows, the small model learns from them.
  const studentTried = attempts.some((a) => a.teacherAttempt);
  if (bestSmall && profile.rows.unlabelled > 0 && !studentTried) {
    const teacher = done
      .filter((a) => !a.teacherAttempt && attemptScore(a.result, objectives) > attemptScore(bestSmall.result, objectives))
      .sort((a, b) => attemptScore(b.result, objectives) - attemptScore(a.result, objectives) || a.n - b.n)[0];
    if (teacher) {
      return {
        kind: 'train', role: 'student', model: { ...bestSmall.model, hyperparameters: { ...bestSmall.model.hyperparameters } },
        teacherAttempt: teacher.n, teacherConfidence: TEACHER_CONFIDENCE,
        reason: `${missed}; teacher ${describe(teacher, objectives)} pseudo-labels ${count(profile.rows.unlabelled)} unlabelled rows (confidence >= ${TEACHER_CONFIDENCE}) and ${bestSmall.model.id} trains on them with the labelled rows.`,
      };
    }
    // One teacher at most: a teacher that trained but is no better than the small model ends the search.
    const isCandidate = (id: string) => candidates.some((c) => c.id === id);
    const teacherTried = attempts.some((a) => !a.teacherAttempt && !isCandidate(a.model.id));
    const untriedTeacher = teacherTried ? undefined : teacherPool.find((t) => !tried.has(t.id) && !isCandidate(t.id));
    if (untriedTeacher) {
      return {
        kind: 'train', role: 'teacher', model: choice(untriedTeacher),
        reason: `${missed}; ${count(profile.rows.unlabelled)} unlabelled rows are there: train ${untriedTeacher.id} (~${count(untriedTeacher.approxParameters)} parameters, too big to deploy) as a teacher to pseudo-label them.`,
      };
    }
    // No stronger teacher exists: self-training, the best small model labels the rows it is sure of.
    return {
      kind: 'train', role: 'student', model: { ...bestSmall.model, hyperparameters: { ...bestSmall.model.hyperparameters } },
      teacherAttempt: bestSmall.n, teacherConfidence: TEACHER_CONFIDENCE,
      reason: `${missed}; no larger teacher is available, so ${bestSmall.model.id} pseudo-labels the ${count(profile.rows.unlabelled)} unlabelled rows it is confident about (>= ${TEACHER_CONFIDENCE}) and retrains on them (self-training).`,
    };
  }

  // 3. Train longer: the best deployable model is iterative and has room to run longer.
  const iterative = bestSmall ? entryOf(bestSmall.model.id) : undefined;
  const key = iterative?.iterationHyperparameter;
  if (bestSmall && iterative && key) {
    const base = Number(iterative.hyperparameters[key] ?? 0);
    // The longest run of this model so far, so a longer run that did not help is not repeated.
    const current = Math.max(base, ...attempts.filter((a) => a.model.id === bestSmall.model.id && !a.teacherAttempt).map((a) => Number(a.model.hyperparameters[key] ?? base)));
    if (base > 0 && current * 2 <= base * MAX_ITERATION_FACTOR) {
      return {
        kind: 'train', role: 'longer',
        model: { ...bestSmall.model, hyperparameters: { ...bestSmall.model.hyperparameters, [key]: current * 2 } },
        reason: `${missed}; nothing larger fits, so train ${bestSmall.model.id} longer (${key} ${current} → ${current * 2}).`,
      };
    }
  }

  // 4. A different candidate, in rank order.
  const untried = candidates.find((c) => !tried.has(c.id));
  if (untried) {
    return { kind: 'train', role: 'candidate', model: choice(untried), reason: `${missed}; try the next candidate, ${untried.id}, which may suit this data better.` };
  }

  return {
    kind: 'stop', outcome: 'exhausted', ...(best ? { bestAttempt: best.n } : {}),
    reason: best
      ? `Every candidate has been tried without meeting ${targetWords(objectives)}; keeping the best, ${describe(best, objectives)}.`
      : 'Every candidate has been tried and none succeeded.',
  };
}
