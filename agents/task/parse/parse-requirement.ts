import { TaskSpec, type Objective, type Task } from '../task-spec.js';
import { judge } from '../judge.js';
import { normaliseChinese } from './chinese.js';
import { normaliseSpanish } from './spanish.js';
import { instructionNotice, screenInstructions } from './injection.js';
import { parseLabels, parseTargets } from './targets.js';
import { detectModality, detectTask, taskCueScores } from './vocabulary.js';
import { decideByMeaning } from '../meaning/decide.js';
import type { Meaning } from '../meaning/reader.js';

/**
 * Put a requirement into the one form the offline parser reads: Chinese mapped onto English
 * vocabulary, lower case, symbols spelled out, metric names with digits joined ("rouge-1" →
 * "rouge_1") so their digits are not read as targets.
 */
export function normaliseRequirement(text: string): string {
  return normaliseSpanish(normaliseChinese(text.normalize('NFKC')))
    .toLowerCase()
    .replace(/[’‘]/g, "'")
    .replace(/≥|=>|>=/g, ' at least ')
    .replace(/≤|=<|<=/g, ' at most ')
    .replace(/>(?!\s*=)/g, ' above ')
    .replace(/<(?!\s*=)/g, ' below ')
    .replace(/\b(rouge)[- ]?([12l])\b/g, '$1_$2')
    .replace(/\b(bleu)[- ]?4\b/g, '$1')
    .replace(/\b(f)[- ]?1\b/g, 'f1')
    .replace(/\b(top)[- ]([15])\b/g, '$1$2')
    .replace(/\bmap@?(50|75|0?\.5|0?\.75|0?\.5:0?\.95)\b/g, 'map')
    .replace(/\b(p|tp)(50|90|95|99|999)\b/g, 'p$2')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * The offline brain's reading of a requirement: task, modality, labels, targets, and the judge's
 * decision with reasons. Deterministic; unknown fields are omitted, never guessed.
 */
export function parseRequirement(untrusted: string, meaning?: Meaning): TaskSpec {
  const { text: requirement, removed } = screenInstructions(untrusted);
  const text = normaliseRequirement(requirement);
  const targets = parseTargets(text);
  const labels = parseLabels(normaliseChinese(requirement.normalize('NFKC')));
  const rules = detectTask(text);
  const judgement = judge(text, { ...targets, task: rules?.task });
  // With a reading by meaning, the nearest known requirements decide the task and can add a
  // refusal; without one (no knowledge base at hand), the phrase vocabulary decides alone.
  const verdict = meaning
    ? decideByMeaning(requirement.normalize('NFKC').toLowerCase(), meaning, { judgement, cues: taskCueScores(text) })
    : { ...judgement, ...(rules ? { task: rules.task, modality: rules.modality } : {}) };
  const read = verdict.task && verdict.modality ? { task: verdict.task, modality: verdict.modality } : undefined;
  const detected = read ? { ...read, task: tableTaskForTargets(read.task, targets.objectives) } : undefined;
  const spec: TaskSpec = {
    decision: verdict.decision,
    ...(detected ? { task: detected.task, modality: detected.modality } : {}),
    ...(!detected && detectModality(text) ? { modality: detectModality(text) } : {}),
    ...(labels ? { labels } : {}),
    objectives: targets.objectives,
    constraints: targets.constraints,
    serving: targets.serving,
    reasons: verdict.reasons,
  };
  const hasTargets = spec.objectives.length > 0 || Object.keys(spec.serving).length > 0 || Object.keys(spec.constraints).length > 0;
  if (spec.decision === 'needs-input' && !hasTargets) {
    spec.reasons = [NEEDS_INPUT];
    delete spec.task;
  } else if (spec.decision === 'accept' || spec.decision === 'needs-input') {
    spec.decision = 'accept';
    if (!detected && !hasTargets) {
      spec.decision = 'needs-input';
      spec.reasons = [NEEDS_INPUT];
    } else if (detected) {
      spec.reasons = [describeAcceptance(spec)];
    } else {
      spec.reasons = ['This reads as a change to targets (serving or constraints) for the task already agreed.'];
    }
  }
  if (removed.length > 0) spec.reasons = [...spec.reasons, instructionNotice(removed)];
  return TaskSpec.parse(spec);
}

const REGRESSION_METRICS: ReadonlySet<Objective['metric']> = new Set(['mae', 'rmse', 'mape']);
const CLASSIFICATION_METRICS: ReadonlySet<Objective['metric']> = new Set(['accuracy', 'f1', 'precision', 'recall', 'auc']);

/**
 * A table task follows its targets when they leave no doubt: errors in the target's unit (MAE, RMSE,
 * MAPE) only measure a predicted number, accuracy, F1 or AUC only classes ("predict the disease
 * progression score ... RMSE at most 60" is a regression whatever words it uses).
 */
export function tableTaskForTargets(task: Task, objectives: readonly Objective[]): Task {
  if (objectives.length === 0) return task;
  if (task === 'tabular-classification' && objectives.every((o) => REGRESSION_METRICS.has(o.metric))) return 'tabular-regression';
  if (task === 'tabular-regression' && objectives.every((o) => CLASSIFICATION_METRICS.has(o.metric))) return 'tabular-classification';
  return task;
}

const NEEDS_INPUT = 'I could not tell what the model should do: say what goes in, what should come out, and how good it must be (for example "classify support emails into billing, bug or other with 90% accuracy").';

/** One sentence saying what was understood, so the user can check it. */
export function describeAcceptance(spec: TaskSpec): string {
  const parts = [`Understood a ${spec.task} task on ${spec.modality} data`];
  if (spec.labels?.length) parts.push(`with labels ${spec.labels.join(', ')}`);
  if (spec.objectives.length) parts.push(`targeting ${spec.objectives.map((o) => `${o.metric} ${o.op} ${o.value}`).join(', ')}`);
  const limits = [
    spec.constraints.maxParameters && `at most ${spec.constraints.maxParameters.toLocaleString('en-US')} parameters`,
    spec.constraints.maxModelBytes && `a model file of at most ${spec.constraints.maxModelBytes.toLocaleString('en-US')} bytes`,
    spec.serving.qps && `${spec.serving.qps} requests per second`,
    spec.serving.latencyP99Ms && `p99 latency under ${spec.serving.latencyP99Ms} ms`,
    spec.serving.memoryBytes && `${spec.serving.memoryBytes.toLocaleString('en-US')} bytes of memory per replica`,
  ].filter(Boolean);
  if (limits.length) parts.push(`within ${limits.join(', ')}`);
  return `${parts.join(' ')}; it is lawful, respects people, and its targets are attainable with enough data.`;
}
