import type { DataProfile } from '../jobs/data-spec.js';
import type { ModelChoice, TrainJobResult } from '../jobs/train-spec.js';
import { LOWER_IS_BETTER, type Constraints, type Objective } from '../task/task-spec.js';
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

/** Confidence a teacher's pseudo-label needs; its probabilities are the student's soft targets. */
export const TEACHER_CONFIDENCE = 0.6;
/** INT8 stores a weight in a quarter of the FP32 bytes. */
export const QUANTIZATION_FACTOR = 4;
/** Training longer stops at this multiple of the catalog's iteration count. */
const MAX_ITERATION_FACTOR = 4;

const choice = (entry: CatalogEntry): ModelChoice => ({ id: entry.id, family: entry.family, hyperparameters: { ...entry.hyperparameters } });
const fmt = (v: number | undefined) => (v === undefined ? 'n/a' : Number(v.toFixed(4)).toString());
const count = (n: number) => Math.round(n).toLocaleString('en-US');
const TIER_WORDS: Record<number, string> = { 1: 'classic models', 2: 'a frozen pretrained encoder', 3: 'fine-tuning a network' };

/** Whether the measured metrics meet every objective (a missing metric does not). */
export function meetsObjectives(result: TrainJobResult, objectives: Objective[]): boolean {
  return objectives.every((o) => {
    const measured = result.metrics[o.metric];
    return measured !== undefined && (o.op === '>=' ? measured >= o.value : measured <= o.value);
  });
}

/** The metric attempts are compared on: the first objective's, else accuracy, else (a regression model) RMSE. */
export function headlineMetric(objectives: Objective[], metrics: Record<string, number>): Objective['metric'] {
  return objectives[0]?.metric ?? (metrics.accuracy === undefined && metrics.rmse !== undefined ? 'rmse' : 'accuracy');
}

/** Higher is better: the headline metric of `metrics`, sign-flipped for `<=` targets and lower-is-better metrics. */
export function metricsScore(metrics: Record<string, number>, objectives: Objective[]): number {
  const objective = objectives[0];
  const metric = headlineMetric(objectives, metrics);
  const value = metrics[metric];
  if (value === undefined) return -Infinity;
  return (objective ? objective.op === '<=' : LOWER_IS_BETTER.has(metric)) ? -value : value;
}

/** Higher is better: the first objective's metric, sign-flipped for `<=` targets (accuracy, or RMSE, without one). */
export function attemptScore(result: TrainJobResult, objectives: Objective[]): number {
  return metricsScore(result.metrics, objectives);
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
  const metric = headlineMetric(objectives, a.result?.metrics ?? {});
  return `#${a.n} ${a.model.id} (${metric} ${fmt(a.result?.metrics[metric])}, ${count(a.result?.parameters ?? 0)} parameters, ${count(a.result?.modelBytes ?? 0)} bytes)`;
}

function targetWords(objectives: Objective[]): string {
  return objectives.length === 0 ? 'no stated target' : objectives.map((o) => `${o.metric} ${o.op} ${o.value}`).join(', ');
}

/** The strongest deployable candidate: the highest tier, then the best rank. */
function studentEntry(candidates: CatalogEntry[]): CatalogEntry | undefined {
  return [...candidates].sort((a, b) => b.tier - a.tier || a.rank - b.rank)[0];
}

/**
 * A baseline fitted beside an attempt on the same rows (a table's linear model) that scored better than
 * `reference`, with an untried catalog entry of its family to train it as a model of its own.
 */
function betterBaseline(done: readonly (AttemptRecord & { result: TrainJobResult })[], reference: TrainJobResult, candidates: readonly CatalogEntry[],
  tried: ReadonlySet<string>, objectives: Objective[]): { attempt: number; family: string; metrics: Record<string, number>; entry: CatalogEntry } | undefined {
  for (const a of done) {
    const b = a.result.training?.baseline;
    if (!b || metricsScore(b.metrics, objectives) <= attemptScore(reference, objectives)) continue;
    const entry = candidates.find((c) => c.family === b.model && !tried.has(c.id));
    if (entry) return { attempt: a.n, family: b.model, metrics: b.metrics, entry };
  }
  return undefined;
}

/**
 * Decide the next training attempt from the ones before it (pure, so the chain re-derives the same way
 * on every reconcile). In order: stop when the target is met within the limits (unless a baseline
 * fitted beside the best attempt scored better: then train it too) or INT8 conversion brings it within
 * them, or when the budget is spent; with unlabelled rows, train the strongest model that is
 * too big to deploy as a teacher, then the strongest deployable model on its soft labels (the paper's
 * hierarchical mode); train a baseline that was fitted beside an attempt and did better; otherwise climb a tier (classic → frozen encoder → fine-tuning); try a larger
 * model of the same tier; train an iterative model longer; try any other candidate; stop when nothing
 * is left.
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
    return { kind: 'train', role: 'candidate', model: choice(first), reason: `Start with the cheapest tier, ${TIER_WORDS[first.tier]}: ${first.id} (~${count(first.approxParameters)} parameters, ~${count(first.approxBytes)} bytes), the best-ranked of ${candidates.length} candidates that fit.` };
  }

  if (best) {
    const met = meetsObjectives(best.result!, objectives);
    const fit = sizeFit(best.result!, constraints);
    if (met && fit === 'fits') {
      const better = attempts.length < maxAttempts ? betterBaseline(done, best.result!, candidates, new Set(attempts.map((a) => a.model.id)), objectives) : undefined;
      if (better) {
        const metric = headlineMetric(objectives, better.metrics);
        return { kind: 'train', role: 'candidate', model: choice(better.entry), reason: `Attempt ${describe(best, objectives)} meets ${targetWords(objectives)} within the limits, but the ${better.family} baseline fitted beside attempt #${better.attempt} on the same rows scored ${metric} ${fmt(better.metrics[metric])}, better: train it as ${better.entry.id} (~${count(better.entry.approxParameters)} parameters) and keep the better of the two.` };
      }
      return { kind: 'stop', outcome: 'met', bestAttempt: best.n, reason: `Attempt ${describe(best, objectives)} meets ${targetWords(objectives)} within the limits.` };
    }
    if (met && fit === 'quantizable') {
      return {
        kind: 'stop', outcome: 'quantize', bestAttempt: best.n,
        reason: `Attempt ${describe(best, objectives)} meets ${targetWords(objectives)} but is over the ${count(constraints.maxModelBytes!)}-byte limit; INT8 conversion (about a quarter of the bytes) may bring it under, behind the accuracy gate, and the converted size is checked against the limit.`,
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

  const tried = new Set(attempts.map((a) => a.model.id));
  const entryOf = (id: string) => candidates.find((c) => c.id === id) ?? teacherPool.find((c) => c.id === id);
  const isCandidate = (id: string) => candidates.some((c) => c.id === id);
  // The deployable attempts so far (within the limits, or within them after INT8), best first.
  const deployable = done
    .filter((a) => sizeFit(a.result, constraints) !== 'too-big')
    .sort((a, b) => attemptScore(b.result, objectives) - attemptScore(a.result, objectives) || a.n - b.n);
  const bestSmall = deployable[0];
  const missed = bestSmall ? `${describe(bestSmall, objectives)} misses ${targetWords(objectives)}` : 'no attempt within the limits has succeeded yet';

  // 1. Hierarchical mode: a stronger model that cannot be deployed labels the unlabelled rows, and
  //    deployable models learn from its soft labels: the best one so far first (cheap), then the
  //    strongest deployable one.
  if (bestSmall && profile.rows.unlabelled > 0) {
    const teacher = done
      .filter((a) => !a.teacherAttempt && attemptScore(a.result, objectives) > attemptScore(bestSmall.result, objectives))
      .sort((a, b) => attemptScore(b.result, objectives) - attemptScore(a.result, objectives) || a.n - b.n)[0];
    if (teacher) {
      const taught = new Set(attempts.filter((a) => a.teacherAttempt === teacher.n).map((a) => a.model.id));
      const first = candidates.find((c) => c.id === bestSmall.model.id);
      const student = [first, studentEntry(candidates)].find((c): c is CatalogEntry => c !== undefined && !taught.has(c.id));
      if (student) {
        return {
          kind: 'train', role: 'student', model: choice(student), teacherAttempt: teacher.n, teacherConfidence: TEACHER_CONFIDENCE,
          reason: `${missed}; teacher ${describe(teacher, objectives)} labels ${count(profile.rows.unlabelled)} unlabelled rows and ${student.id} (~${count(student.approxParameters)} parameters, ${TIER_WORDS[student.tier]}${student === first ? ', the best model within the limits so far' : ', the strongest model within the limits'}) learns from its soft labels (rows it is at least ${TEACHER_CONFIDENCE} sure of) together with the labelled rows.`,
        };
      }
    }
    const teacherTried = attempts.some((a) => !a.teacherAttempt && !isCandidate(a.model.id));
    const untriedTeacher = teacher || teacherTried ? undefined : [...teacherPool]
      .filter((t) => !tried.has(t.id) && !isCandidate(t.id))
      .sort((a, b) => b.tier - a.tier || a.rank - b.rank)[0];
    if (untriedTeacher) {
      return {
        kind: 'train', role: 'teacher', model: choice(untriedTeacher),
        reason: `${missed}; ${count(profile.rows.unlabelled)} unlabelled rows are there: train ${untriedTeacher.id} (~${count(untriedTeacher.approxParameters)} parameters, ${TIER_WORDS[untriedTeacher.tier]}; too big to deploy) as a teacher to label them.`,
      };
    }
  }

  // 2. A baseline fitted beside an attempt on the same rows (a table's linear model) scored better than
  //    every attempt within the limits: train it as a model of its own.
  const baseline = bestSmall ? betterBaseline(done, bestSmall.result, candidates, tried, objectives) : undefined;
  if (baseline) {
    const metric = headlineMetric(objectives, baseline.metrics);
    return { kind: 'train', role: 'candidate', model: choice(baseline.entry), reason: `${missed}; the ${baseline.family} baseline fitted beside attempt #${baseline.attempt} on the same rows scored ${metric} ${fmt(baseline.metrics[metric])}, better: train it as ${baseline.entry.id} (~${count(baseline.entry.approxParameters)} parameters).` };
  }

  // 3. Climb a tier: the best-ranked candidate of the next tier up.
  const triedTiers = attempts.filter((a) => isCandidate(a.model.id)).map((a) => entryOf(a.model.id)!.tier);
  const topTier = Math.max(0, ...triedTiers);
  const higher = candidates.find((c) => !tried.has(c.id) && c.tier > topTier);
  if (bestSmall && higher) {
    return { kind: 'train', role: 'candidate', model: choice(higher), reason: `${missed}; ${TIER_WORDS[topTier] ?? 'the models tried'} fell short, so climb to ${TIER_WORDS[higher.tier]}: ${higher.id} (~${count(higher.approxParameters)} parameters).` };
  }

  // 4. A larger model of the same tier (a bigger backbone).
  const size = bestSmall ? (entryOf(bestSmall.model.id)?.approxParameters ?? bestSmall.result.parameters) : 0;
  const larger = candidates.find((c) => !tried.has(c.id) && c.tier === topTier && c.approxParameters > size);
  if (bestSmall && larger) {
    return { kind: 'train', role: 'candidate', model: choice(larger), reason: `${missed}; a larger model of the same tier is allowed: try ${larger.id} (~${count(larger.approxParameters)} parameters).` };
  }

  // 5. Train longer: the best deployable model is iterative and has room to run longer.
  const iterative = bestSmall ? entryOf(bestSmall.model.id) : undefined;
  const key = iterative?.iterationHyperparameter;
  if (bestSmall && iterative && key) {
    const base = Number(iterative.hyperparameters[key] ?? bestSmall.model.hyperparameters[key] ?? 0);
    const sameModel = attempts.filter((a) => a.model.id === bestSmall.model.id);
    const current = Math.max(base, ...sameModel.map((a) => Number(a.model.hyperparameters[key] ?? base)));
    if (base > 0 && current * 2 <= base * MAX_ITERATION_FACTOR) {
      return {
        kind: 'train', role: 'longer',
        model: { ...bestSmall.model, hyperparameters: { ...bestSmall.model.hyperparameters, [key]: current * 2 } },
        ...(bestSmall.teacherAttempt ? { teacherAttempt: bestSmall.teacherAttempt, teacherConfidence: TEACHER_CONFIDENCE } : {}),
        reason: `${missed}; nothing larger fits, so train ${bestSmall.model.id} longer (${key} ${current} → ${current * 2}).`,
      };
    }
  }

  // 6. A different candidate, in order.
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
