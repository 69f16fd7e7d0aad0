import { z } from 'zod';
import { Decision, Metric, Modality, Task, type TaskSpec } from './task-spec.js';

/**
 * The TaskSpec as an LLM must answer it: structured outputs need every property present, so
 * unknowns are null instead of missing. `fromLlmTaskSpec` turns it back into a TaskSpec.
 */
export const LlmTaskSpec = z.object({
  decision: Decision,
  task: Task.nullable(),
  modality: Modality.nullable(),
  labels: z.array(z.string()).nullable(),
  objectives: z.array(z.object({ metric: Metric, op: z.enum(['>=', '<=']), value: z.number() })),
  constraints: z.object({ maxParameters: z.number().nullable(), maxModelBytes: z.number().nullable(), maxLatencyMs: z.number().nullable() }),
  serving: z.object({ qps: z.number().nullable(), latencyP99Ms: z.number().nullable(), memoryBytes: z.number().nullable(), accelerator: z.string().nullable() }),
  reasons: z.array(z.string()),
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
    objectives: answer.objectives
      .filter((o) => Number.isFinite(o.value) && o.value >= 0 && (!RATIO.has(o.metric) || o.value <= 1))
      .slice(0, 16),
    constraints: drop(constraints),
    serving: drop(serving),
    reasons: answer.reasons.slice(0, 8).map((r) => r.slice(0, 1000)),
  };
}
