import { z } from 'zod';

/** Tasks the Task agent can recognise (DESIGN.md, TaskSpec). */
export const TASKS = [
  'text-classification',
  'token-classification',
  'question-answering',
  'summarization',
  'translation',
  'text-generation',
  'image-classification',
  'object-detection',
  'visual-grounding',
  'image-segmentation',
  'image-generation',
  'image-captioning',
  'speech-recognition',
  'audio-classification',
  'tabular-classification',
  'tabular-regression',
  'time-series-forecasting',
  'video-classification',
  'video-question-answering',
  'ocr',
] as const;
export const Task = z.enum(TASKS);
export type Task = z.infer<typeof Task>;

export const MODALITIES = ['text', 'image', 'audio', 'video', 'tabular', 'multimodal'] as const;
export const Modality = z.enum(MODALITIES);
export type Modality = z.infer<typeof Modality>;

export const METRICS = [
  'accuracy', 'f1', 'precision', 'recall', 'auc', 'map', 'iou', 'bleu', 'rouge', 'fid',
  'wer', 'cer', 'mae', 'rmse', 'mape', 'exact-match', 'cider', 'clip-score',
] as const;
export const Metric = z.enum(METRICS);
export type Metric = z.infer<typeof Metric>;

/** Metrics where smaller is better: their default comparison is `<=`. */
export const LOWER_IS_BETTER: ReadonlySet<Metric> = new Set(['fid', 'wer', 'cer', 'mae', 'rmse', 'mape']);

export const Decision = z.enum(['accept', 'needs-input', 'reject-unethical', 'reject-infeasible']);
export type Decision = z.infer<typeof Decision>;

/**
 * One measurable target: `accuracy >= 0.9`. Ratios are fractions; BLEU and FID keep their scale; a CLIP
 * score is on torchmetrics' 0–100 scale (100 × the cosine of image and prompt embeddings: 0.3 is 30).
 */
export const Objective = z.object({
  metric: Metric,
  op: z.enum(['>=', '<=']),
  value: z.number().finite(),
});
export type Objective = z.infer<typeof Objective>;

/** Limits on the model itself. */
export const Constraints = z.object({
  maxParameters: z.number().int().positive().optional(),
  maxModelBytes: z.number().int().positive().optional(),
  maxLatencyMs: z.number().positive().optional(),
});
export type Constraints = z.infer<typeof Constraints>;

/** Serving targets: load, tail latency, container memory (bytes), accelerator. */
export const ServingTargets = z.object({
  qps: z.number().positive().optional(),
  latencyP99Ms: z.number().positive().optional(),
  memoryBytes: z.number().int().positive().optional(),
  accelerator: z.string().min(1).max(63).optional(),
});
export type ServingTargets = z.infer<typeof ServingTargets>;

/** The Task agent's structured reading of a requirement. Unknown fields are omitted, not guessed. */
export const TaskSpec = z.object({
  decision: Decision,
  task: Task.optional(),
  modality: Modality.optional(),
  labels: z.array(z.string().min(1).max(128)).max(1000).optional(),
  objectives: z.array(Objective).max(16).default([]),
  constraints: Constraints.default({}),
  serving: ServingTargets.default({}),
  reasons: z.array(z.string().max(1000)).max(32).default([]),
});
export type TaskSpec = z.infer<typeof TaskSpec>;
