import { z } from 'zod';
import { Decision, Metric, Modality, Task, type TaskSpec } from './task-spec.js';

/**
 * The TaskSpec as an LLM must answer it: structured outputs need every property present, so
 * unknowns are null instead of missing. `fromLlmTaskSpec` turns it back into a TaskSpec.
 */
export const LlmTaskSpec = z.object({
  decision: Decision.describe('accept; needs-input when it is unclear what the model should do; reject-unethical; reject-infeasible'),
  task: Task.nullable().describe('the kind of model asked for'),
  modality: Modality.nullable().describe('the kind of input data'),
  // Arrays stay unbounded in the schema: bounded repetition makes llama.cpp's grammar sampling
  // crawl; max_tokens bounds the answer instead, and a cut-off answer falls back.
  labels: z.array(z.string()).nullable().describe('class names only when the text lists them'),
  objectives: z
    .array(
      z.object({
        metric: Metric,
        op: z.enum(['>=', '<=']).describe('">=" for scores, "<=" for error metrics (wer, cer, mae, rmse, mape, fid)'),
        value: z.number().describe('ratios as fractions: 90% is 0.9; BLEU and FID keep their usual scale; clip-score is 0-100 (a cosine of 0.3 is 30)'),
      }),
    )
    .describe('only targets the text states with a number'),
  constraints: z
    .object({
      maxParameters: z.number().nullable().describe('parameter count: 10M is 10000000'),
      maxModelBytes: z.number().nullable().describe('model file size in bytes: 5MB is 5000000'),
      maxLatencyMs: z.number().nullable().describe('latency of one model call in milliseconds'),
    })
    .describe('limits on the model'),
  serving: z
    .object({
      qps: z.number().nullable().describe('requests per second'),
      latencyP99Ms: z.number().nullable().describe('p99 latency in milliseconds: 0.2 s is 200'),
      memoryBytes: z.number().nullable().describe('memory per replica in bytes: 2GB is 2000000000, 4GiB is 4294967296'),
      accelerator: z.string().nullable().describe('"cpu", "gpu" or a GPU product name'),
    })
    .describe('serving targets'),
  reasons: z.array(z.string()).describe('one or two short sentences a person can read'),
});
export type LlmTaskSpec = z.infer<typeof LlmTaskSpec>;

/** A TaskSpec in the LLM's all-fields-present shape (for the offline fallback). */
export function toLlmTaskSpec(spec: TaskSpec): LlmTaskSpec {
  return {
    decision: spec.decision,
    task: spec.task ?? null,
    modality: spec.modality ?? null,
    labels: spec.labels ?? null,
    objectives: spec.objectives,
    constraints: { maxParameters: spec.constraints.maxParameters ?? null, maxModelBytes: spec.constraints.maxModelBytes ?? null, maxLatencyMs: spec.constraints.maxLatencyMs ?? null },
    serving: { qps: spec.serving.qps ?? null, latencyP99Ms: spec.serving.latencyP99Ms ?? null, memoryBytes: spec.serving.memoryBytes ?? null, accelerator: spec.serving.accelerator ?? null },
    reasons: spec.reasons,
  };
}

// Plausible ranges: an answer outside them is dropped, not clamped, because it means misreading.
const BOUNDS = {
  maxParameters: [1, 1e13],
  maxModelBytes: [1, 1e13],
  maxLatencyMs: [1e-3, 3.6e6],
  qps: [1e-6, 1e7],
  latencyP99Ms: [1e-3, 3.6e6],
  memoryBytes: [1e6, 1e13],
} as const;

const within = (key: keyof typeof BOUNDS, v: number | null): number | undefined =>
  v !== null && Number.isFinite(v) && v >= BOUNDS[key][0] && v <= BOUNDS[key][1] ? v : undefined;

const RATIO = new Set(['accuracy', 'f1', 'precision', 'recall', 'auc', 'map', 'iou', 'rouge', 'wer', 'cer', 'mape', 'exact-match']);

/** Bounds-check an LLM answer and turn it into a TaskSpec. Out-of-range values are dropped. */
export function fromLlmTaskSpec(answer: LlmTaskSpec): TaskSpec {
  const int = (v: number | undefined) => (v === undefined ? undefined : Math.round(v));
  const constraints = {
    maxParameters: int(within('maxParameters', answer.constraints.maxParameters)),
    maxModelBytes: int(within('maxModelBytes', answer.constraints.maxModelBytes)),
    maxLatencyMs: within('maxLatencyMs', answer.constraints.maxLatencyMs),
  };
  const serving = {
    qps: within('qps', answer.serving.qps),
    latencyP99Ms: within('latencyP99Ms', answer.serving.latencyP99Ms),
    memoryBytes: int(within('memoryBytes', answer.serving.memoryBytes)),
    // A name ("T4", "gpu", "NVIDIA-A100-SXM4-80GB"), one token starting with a letter: never a count
    // ("64 GPUs"), an image reference ("evil/pwn:latest") or a sentence.
    accelerator: answer.serving.accelerator && /^[A-Za-z][\w.-]{0,62}$/.test(answer.serving.accelerator) ? answer.serving.accelerator : undefined,
  };
  const drop = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  return {
    decision: answer.decision,
    ...(answer.task ? { task: answer.task } : {}),
    ...(answer.modality ? { modality: answer.modality } : {}),
    ...(answer.labels?.length ? { labels: answer.labels.slice(0, 1000).map((l) => l.slice(0, 128)).filter(Boolean) } : {}),
    // A ratio written as a percentage (98 for 98%) is read as one; anything else out of range is dropped.
    objectives: answer.objectives
      .map((o) => (RATIO.has(o.metric) && o.value > 1 && o.value <= 100 ? { ...o, value: Number((o.value / 100).toPrecision(12)) } : o))
      .filter((o) => Number.isFinite(o.value) && o.value >= 0 && (!RATIO.has(o.metric) || o.value <= 1))
      .slice(0, 16),
    constraints: drop(constraints),
    serving: drop(serving),
    reasons: answer.reasons.slice(0, 8).map((r) => r.slice(0, 1000)),
  };
}
