import type { DataProfile } from '../jobs/data-spec.js';
import type { ModelChoice } from '../jobs/train-spec.js';
import type { CatalogEntry } from './catalog.js';

/** What the hyperparameter plan reads besides the catalog entry. */
export interface PlanContext {
  profile: Pick<DataProfile, 'rows' | 'textLengths' | 'evaluation'>;
  /** Whether the training job gets a GPU. */
  gpu: boolean;
  /** Seconds left before `spec.budget.deadline`, when there is one. */
  secondsLeft?: number;
  /** Unlabelled rows the student also learns from (hierarchical mode), 0 otherwise. */
  pseudoRows: number;
}

/** The planned model choice and the plain-language reasons, for the attempt's note. */
export interface PlannedModel {
  model: ModelChoice;
  notes: string[];
  /** Rough training time, when the catalog entry has a measured speed. */
  estimatedSeconds?: number;
}

/**
 * How much faster a GPU trains these models than the project's 2-core CPU. A stated assumption, not a
 * measurement (no GPU is lent to this project's sessions): transformer fine-tuning on one modern data
 * centre GPU runs about two orders of magnitude faster; 25× keeps the estimate on the safe side.
 */
export const GPU_SPEEDUP = 25;
/** Characters per word piece in English text, for a token budget from the text lengths. */
const CHARS_PER_TOKEN = 4;

const roundUp = (n: number, step: number) => Math.ceil(n / step) * step;
const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, n));
const minutes = (s: number) => (s < 90 ? `${Math.round(s)} s` : `${(s / 60).toFixed(1)} min`);

/** Epochs that give small data sets enough optimizer steps and large ones no more than they need. */
export function plannedEpochs(rows: number, tier: number, from: 'pretrained' | 'config'): number {
  if (from === 'config') return rows < 500 ? 30 : rows < 2000 ? 15 : 8;
  if (tier < 3) return 1;
  return rows < 200 ? 15 : rows < 1000 ? 5 : rows < 5000 ? 3 : 2;
}

/** Below this many rows a pretrained network is fine-tuned gently: a few hundred examples overfit a
 * large step size (on 100 promotions, 2e-5 for 15 epochs held out 0.91 where 5e-5 gave 0.895 and 1e-4 0.87). */
export const SMALL_DATA_ROWS = 500;
export const SMALL_DATA_LEARNING_RATE = 2e-5;

/** Tokens per row that cover 95% of the texts (special tokens included), a multiple of 16 in [32, 256]. */
export function plannedMaxLength(p95Characters: number | undefined): number {
  if (p95Characters === undefined) return 128;
  return clamp(roundUp(p95Characters / CHARS_PER_TOKEN + 2, 16), 32, 256);
}

/**
 * Fill in what the catalog leaves to the data and the machine (torch entries): epochs from the number of
 * rows, batch size from the device, sequence length from the text lengths; then check the estimated time
 * (measured seconds per sample × rows × epochs × fits, a GPU being GPU_SPEEDUP× faster) against the
 * deadline and cut epochs to fit it. Values the decision already set (a longer run's epochs) are kept.
 */
export function planHyperparameters(entry: CatalogEntry, decided: ModelChoice, context: PlanContext): PlannedModel {
  const h = { ...entry.hyperparameters, ...decided.hyperparameters };
  const notes: string[] = [];
  const source = entry.source.startsWith('pretrained:') ? entry.source.slice('pretrained:'.length) : undefined;
  if (entry.framework !== 'torch') return { model: { ...decided, hyperparameters: h }, notes };
  if (source && h.pretrained === undefined) h.pretrained = source;

  const labelled = context.profile.rows.train;
  const rows = labelled + context.pseudoRows;
  const fits = context.profile.evaluation?.method === 'cross-validation' ? (context.profile.evaluation.folds ?? 5) + 1 : 1;
  const frozen = h.mode === 'frozen';
  h.batchSize ??= context.gpu ? 32 : entry.modalities.includes('image') ? 64 : 16;
  if (entry.modalities.includes('text')) h.maxLength = Math.min(Number(h.maxLength ?? 256), plannedMaxLength(context.profile.textLengths?.p95));
  if (!frozen) h.epochs ??= plannedEpochs(rows, entry.tier, source ? 'pretrained' : 'config');
  if (!frozen && source && rows < SMALL_DATA_ROWS && typeof h.learningRate === 'number' && h.learningRate > SMALL_DATA_LEARNING_RATE && decided.hyperparameters.learningRate === entry.hyperparameters.learningRate) {
    h.learningRate = SMALL_DATA_LEARNING_RATE;
    notes.push(`Only ${rows.toLocaleString('en-US')} rows: learning rate ${SMALL_DATA_LEARNING_RATE} so the pretrained weights are not overwritten.`);
  }
  const epochs = frozen ? 1 : Number(h.epochs);
  const device = context.gpu ? 'GPU (mixed precision)' : 'CPU';
  notes.push(frozen
    ? `Planned: embed ${rows.toLocaleString('en-US')} rows once with the frozen encoder and fit the head${fits > 1 ? `, in each of ${fits} fits (cross-validation)` : ''}, on the ${device}.`
    : `Planned: ${epochs} epoch(s) of batch ${String(h.batchSize)} over ${rows.toLocaleString('en-US')} rows${h.maxLength ? ` at up to ${String(h.maxLength)} tokens` : ''}${fits > 1 ? `, in each of ${fits} fits (cross-validation)` : ''}, on the ${device}; early stopping on a validation split when there are enough rows.`);

  let estimatedSeconds: number | undefined;
  if (entry.trainSecondsPerSample !== undefined) {
    const perEpoch = (entry.trainSecondsPerSample * rows) / (context.gpu ? GPU_SPEEDUP : 1);
    estimatedSeconds = perEpoch * epochs * fits;
    notes.push(`Estimated training time ~${minutes(estimatedSeconds)} (${entry.trainSecondsPerSample} s per sample measured on a 2-core CPU${context.gpu ? `, ${GPU_SPEEDUP}× faster on a GPU by assumption` : ''}).`);
    if (!frozen && context.secondsLeft !== undefined && estimatedSeconds > context.secondsLeft) {
      const affordable = Math.max(1, Math.floor(context.secondsLeft / (perEpoch * fits)));
      if (affordable < epochs) {
        h.epochs = affordable;
        estimatedSeconds = perEpoch * affordable * fits;
        notes.push(`Cut to ${affordable} epoch(s) to finish before the deadline (${minutes(context.secondsLeft)} left).`);
      }
      if (estimatedSeconds > context.secondsLeft) notes.push(`Even one epoch may not finish before the deadline (${minutes(context.secondsLeft)} left).`);
    }
  }
  return { model: { ...decided, hyperparameters: h }, notes, ...(estimatedSeconds !== undefined ? { estimatedSeconds } : {}) };
}
