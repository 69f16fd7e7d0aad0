import type { GenerationTrainJobResult } from '../jobs/generation-spec.js';
import type { HyperparameterValue as HyperparameterSchema, ModelChoice } from '../jobs/train-spec.js';
import type { Constraints, Objective } from '../task/task-spec.js';
import { loadCatalog, type CatalogEntry, type Framework } from './catalog.js';
import { GPU_SPEEDUP } from './hyperparameters.js';
import type { z } from 'zod';

type HyperparameterValue = z.infer<typeof HyperparameterSchema>;

/** The request's generation settings the Model agent reads (spec.generation). */
export interface GenerationRequestSettings {
  baseModel?: string | undefined;
  resolution?: number | undefined;
  steps?: number | undefined;
  trainingSteps?: number | undefined;
}

/** The from-config model for tests and demos: only when the request names it. */
export const TINY_BASE = 'tiny';
/** Training on a CPU is planned only when it takes at most this long (a GPU is needed beyond). */
export const CPU_TRAINING_BUDGET_SECONDS = 2 * 3600;
/** Attempts train longer by this factor when a measured metric missed its target. */
const LONGER_FACTOR = 2;

/** One model the agent may fine-tune, with the base it applies to and the planned hyperparameters. */
export interface GenerationCandidate {
  entry: CatalogEntry;
  base: string;
  hyperparameters: Record<string, HyperparameterValue>;
  /** Training samples the plan feeds through the UNet (steps × batch × accumulation). */
  samples: number;
  estimatedSeconds?: number;
  notes: string[];
}

/** Candidates in order, the ones left out with why, and the summary. */
export interface GenerationSelection {
  candidates: GenerationCandidate[];
  rejected: { id: string; reasons: string[] }[];
  reasons: string[];
}

/** What the selection reads. */
export interface GenerationSelectionInput {
  constraints?: Constraints | undefined;
  settings?: GenerationRequestSettings | undefined;
  trainImages: number;
  gpu: boolean;
  frameworks: Framework[];
  /** Seconds left before the deadline, when there is one. */
  secondsLeft?: number | undefined;
  catalog?: CatalogEntry[];
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');
const duration = (s: number) => (s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);
const num = (v: HyperparameterValue | undefined, fallback: number) => (typeof v === 'number' ? v : fallback);

/** The planned hyperparameters of an entry for this request: the catalog's, then the request's settings. */
export function plannedGeneration(entry: CatalogEntry, base: string, settings: GenerationRequestSettings = {}): Record<string, HyperparameterValue> {
  return {
    ...entry.hyperparameters,
    pretrained: base,
    ...(settings.resolution !== undefined && base !== TINY_BASE ? { resolution: settings.resolution } : {}),
    ...(settings.trainingSteps !== undefined ? { steps: settings.trainingSteps } : {}),
    ...(settings.steps !== undefined ? { inferenceSteps: settings.steps } : {}),
  };
}

/** Images the plan feeds through the UNet. */
export function plannedSamples(h: Record<string, HyperparameterValue>): number {
  return num(h.steps, 1) * num(h.batchSize, 1) * num(h.gradientAccumulation, 1);
}

/**
 * Choose what to fine-tune for an image generation request. `tiny` (the from-config model) only when
 * the request names it; otherwise the Stable Diffusion-class entries, on the base the request names or
 * the catalog's. Each is left out, with the arithmetic, when it cannot train here: no PyTorch, too few
 * style images, past the model limits, or a CPU run (measured seconds per image × planned images) longer
 * than {@link CPU_TRAINING_BUDGET_SECONDS} or the deadline.
 */
export function selectGenerationModel(input: GenerationSelectionInput): GenerationSelection {
  const catalog = (input.catalog ?? loadCatalog().entries).filter((e) => e.tasks.includes('image-generation'));
  const wantsTiny = input.settings?.baseModel === TINY_BASE;
  const relevant = catalog.filter((e) => (e.source === 'config') === wantsTiny).sort((a, b) => a.tier - b.tier || a.rank - b.rank);
  const constraints = input.constraints ?? {};
  const candidates: GenerationCandidate[] = [];
  const rejected: GenerationSelection['rejected'] = [];
  for (const entry of relevant) {
    const base = wantsTiny ? TINY_BASE : input.settings?.baseModel ?? entry.source.replace(/^pretrained:/, '');
    const h = plannedGeneration(entry, base, input.settings);
    const samples = plannedSamples(h);
    const resolution = num(h.resolution, 512);
    // The catalog measured seconds per training image at its own resolution; the work grows with the pixels.
    const scale = (resolution / num(entry.hyperparameters.resolution, resolution)) ** 2;
    const perSample = entry.trainSecondsPerSample !== undefined ? entry.trainSecondsPerSample * scale / (input.gpu ? GPU_SPEEDUP : 1) : undefined;
    const estimated = perSample !== undefined ? perSample * samples : undefined;
    const reasons: string[] = [];
    if (!input.frameworks.includes(entry.framework)) reasons.push(`needs ${entry.framework}, which training jobs here do not have`);
    if (input.trainImages < entry.minRowsPerClass) reasons.push(`needs at least ${entry.minRowsPerClass} style images to learn from; the set has ${input.trainImages}`);
    if (constraints.maxParameters !== undefined && entry.approxParameters > constraints.maxParameters) {
      reasons.push(`the generator it serves has ~${count(entry.approxParameters)} parameters, over the limit of ${count(constraints.maxParameters)}`);
    }
    if (constraints.maxModelBytes !== undefined && entry.approxBytes > constraints.maxModelBytes) {
      reasons.push(`the generator it serves is ~${count(entry.approxBytes)} bytes, over the limit of ${count(constraints.maxModelBytes)}`);
    }
    if (!input.gpu && estimated !== undefined && estimated > CPU_TRAINING_BUDGET_SECONDS) {
      reasons.push(`on this CPU it would train for about ${duration(estimated)} (${count(samples)} images × ${perSample!.toFixed(2)} s measured per image at ${resolution} px); ` +
        `it needs a GPU (set spec.resources.gpu), or name spec.generation.baseModel: ${TINY_BASE} for a CPU smoke test`);
    }
    if (input.secondsLeft !== undefined && estimated !== undefined && estimated > input.secondsLeft) {
      reasons.push(`about ${duration(estimated)} of training does not fit the ${duration(input.secondsLeft)} left before the deadline`);
    }
    if (reasons.length) {
      rejected.push({ id: entry.id, reasons });
      continue;
    }
    const notes = [
      `LoRA rank ${num(h.rank, 8)} on the attention projections of ${base === TINY_BASE ? 'the tiny from-config model' : base}: ` +
      `${count(num(h.steps, 1))} steps × batch ${num(h.batchSize, 1)}${num(h.gradientAccumulation, 1) > 1 ? ` × ${num(h.gradientAccumulation, 1)} accumulated` : ''} at ${resolution} px, learning rate ${num(h.learningRate, 1e-4)}` +
      `${input.gpu ? '; mixed precision and gradient checkpointing on the GPU' : '; float32 on the CPU'}.`,
      ...(estimated !== undefined ? [`Expected training time about ${duration(estimated)}${input.gpu ? ` (CPU measurement ÷ ${GPU_SPEEDUP}, an assumption until measured on the GPU)` : ''}.`] : []),
      ...(base === TINY_BASE ? ['The tiny model has random weights: it proves the pipeline, its pictures are not usable.'] : []),
    ];
    candidates.push({ entry, base, hyperparameters: h, samples, ...(estimated !== undefined ? { estimatedSeconds: estimated } : {}), notes });
  }
  const reasons = relevant.length === 0
    ? [wantsTiny ? 'The catalog has no from-config generator.' : 'The catalog has no Stable Diffusion-class model for image generation.']
    : candidates.length === 0
      ? [`None of the ${relevant.length} image generation models can train here: ${rejected.map((r) => `${r.id} (${r.reasons.join('; ')})`).join(', ')}.`]
      : [`Fine-tuning ${candidates[0]!.entry.id} on ${candidates[0]!.base}.`, ...rejected.map((r) => `Left out ${r.id}: ${r.reasons.join('; ')}.`)];
  return { candidates, rejected, reasons };
}

/** One generation attempt as the Model agent remembers it. */
export interface GenerationAttempt {
  n: number;
  model: ModelChoice;
  reason: string;
  result?: GenerationTrainJobResult;
  error?: string;
}

/** The next step: train (the first attempt, or longer), or stop with the attempt to keep. */
export type GenerationDecision =
  | { kind: 'train'; model: ModelChoice; reason: string }
  | { kind: 'stop'; reason: string; bestAttempt?: number };

const measuredMiss = (result: GenerationTrainJobResult, objectives: Objective[]) =>
  objectives.filter((o) => result.metrics[o.metric] !== undefined && !result.objectives.find((x) => x.metric === o.metric)?.met);

/**
 * Attempt after attempt: the first candidate as planned; when a metric measured with a real extractor
 * misses its target, the same model trained {@link LONGER_FACTOR}× longer, within the budget. A target
 * whose metric could not be measured cannot guide a longer run, so the agent stops and says so.
 */
export function nextGenerationAttempt(candidates: GenerationCandidate[], attempts: GenerationAttempt[], objectives: Objective[], maxAttempts: number): GenerationDecision {
  const first = candidates[0];
  if (!first) return { kind: 'stop', reason: 'No image generation model can train here.' };
  const last = attempts.at(-1);
  if (!last) return { kind: 'train', model: { id: first.entry.id, family: first.entry.family, hyperparameters: first.hyperparameters }, reason: first.notes.join(' ') };
  const succeeded = attempts.filter((a) => a.result);
  const best = succeeded.at(-1);
  if (!last.result) return { kind: 'stop', reason: `Attempt ${last.n} failed: ${last.error ?? 'no result'}.`, ...(best ? { bestAttempt: best.n } : {}) };
  if (objectives.length === 0) return { kind: 'stop', reason: 'No quality target was stated: one attempt, as planned.', bestAttempt: last.n };
  if (last.result.objectivesMet) return { kind: 'stop', reason: 'The measured targets are met.', bestAttempt: last.n };
  const missed = measuredMiss(last.result, objectives);
  if (missed.length === 0) {
    const unmeasured = objectives.filter((o) => last.result!.metrics[o.metric] === undefined).map((o) => o.metric);
    return { kind: 'stop', bestAttempt: last.n, reason: unmeasured.length
      ? `${unmeasured.join(' and ')} could not be measured (no feature-extractor weights), so training longer could not be judged.`
      : 'Nothing measured misses its target.' };
  }
  if (attempts.length >= maxAttempts) return { kind: 'stop', reason: `The budget of ${maxAttempts} attempt(s) is used up.`, bestAttempt: last.n };
  const steps = num(last.model.hyperparameters.steps, 1) * LONGER_FACTOR;
  return { kind: 'train', model: { ...last.model, hyperparameters: { ...last.model.hyperparameters, steps } },
    reason: `${missed.map((o) => `${o.metric} ${last.result!.metrics[o.metric]} (target ${o.op} ${o.value})`).join(', ')}: training ${LONGER_FACTOR}× longer (${count(steps)} steps).` };
}

/** The training resolution the style set is checked against: the request's, else the model's. */
export function plannedResolution(settings: GenerationRequestSettings | undefined, catalog: CatalogEntry[] = loadCatalog().entries): number {
  const wantsTiny = settings?.baseModel === TINY_BASE;
  const entry = catalog.filter((e) => e.tasks.includes('image-generation') && (e.source === 'config') === wantsTiny).sort((a, b) => a.tier - b.tier || a.rank - b.rank)[0];
  const resolution = entry ? plannedGeneration(entry, wantsTiny ? TINY_BASE : 'base', settings).resolution : undefined;
  return typeof resolution === 'number' ? resolution : settings?.resolution ?? 512;
}
