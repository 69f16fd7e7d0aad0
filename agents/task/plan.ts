import { createHash } from 'node:crypto';
import { z } from 'zod';
import { generationSteps } from './generation-plan.js';
import type { TaskSpec } from './task-spec.js';

/** The agents that carry out plan steps. */
export const AgentName = z.enum(['task', 'data', 'model', 'server']);
export type AgentName = z.infer<typeof AgentName>;

/** One step of the plan, assigned to one agent. */
export const PlanStep = z.object({
  id: z.string().regex(/^[a-z][a-z0-9-]*$/).max(63),
  agent: AgentName,
  description: z.string().max(1000),
});
export type PlanStep = z.infer<typeof PlanStep>;

/** The Task agent's plan; `hash` is what a user copies into `spec.approvedPlan` to approve it. */
export const Plan = z.object({
  steps: z.array(PlanStep).max(32),
  maxAttempts: z.number().int().min(1).max(20),
  hash: z.string().regex(/^[a-f0-9]{12}$/),
});
export type Plan = z.infer<typeof Plan>;

/** What the plan depends on besides the TaskSpec. */
export interface PlanContext {
  /** Labelled data sources given (train/eval/test roles). */
  labelledSources: number;
  /** Unlabelled sources given (the teacher can label them). */
  unlabelledSources: number;
  /** Serving enabled: convert, size and deploy. */
  serving: boolean;
  /** Attempts the Model agent may make. */
  maxAttempts: number;
  /** The request asks for GPUs (`spec.resources.gpu`): what it fixed itself, and its GPU-hour budget. */
  gpus?: { gpusPerNode?: number | undefined; nodes?: number | undefined; maxGpuHours?: number | undefined };
}

/** Stable hash of a plan's content (12 hex), independent of key order. */
export function planHash(spec: Pick<TaskSpec, 'task' | 'objectives' | 'constraints' | 'serving'>, steps: PlanStep[], maxAttempts: number): string {
  const canonical = JSON.stringify({ task: spec.task, objectives: spec.objectives, constraints: sortKeys(spec.constraints), serving: sortKeys(spec.serving), steps, maxAttempts });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 12);
}

function sortKeys(o: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

const describeObjectives = (spec: TaskSpec) =>
  spec.objectives.length ? spec.objectives.map((o) => `${o.metric} ${o.op} ${o.value}`).join(' and ') : 'the best score the budget allows';

/**
 * Plan the work for an accepted TaskSpec, the paper's SOP: data first, then models toward the
 * objectives within the budget, then conversion, sizing and deployment.
 */
export function buildPlan(spec: TaskSpec, context: PlanContext): Plan {
  if (spec.task === 'image-generation') {
    const steps = generationSteps(spec, context);
    return { steps, maxAttempts: context.maxAttempts, hash: planHash(spec, steps, context.maxAttempts) };
  }
  const steps: PlanStep[] = [
    { id: 'profile-data', agent: 'data', description: 'Profile the data: size, classes and balance, lengths or resolutions, duplicates, leakage between splits.' },
    { id: 'prepare-data', agent: 'data', description: 'Clean and deduplicate, find likely label errors by cross-validated confident learning and correct them, lock a stratified test split.' },
  ];
  steps.push({ id: 'second-pass', agent: 'data', description: 'Read the profile and decide whether the training split needs a second pass: augment a minority class far below the majority, reduce a very large split.' });
  steps.push(
    { id: 'select-model', agent: 'model', description: `Pick candidate ${spec.task ?? 'task'} models from the catalog that fit ${constraintWords(spec)}.` },
    { id: 'train-evaluate', agent: 'model', description: `Train and evaluate on the locked test split toward ${describeObjectives(spec)}, up to ${context.maxAttempts} attempts.` },
  );
  if (context.gpus) {
    const g = context.gpus;
    const fixed = [g.gpusPerNode !== undefined ? `${g.gpusPerNode} GPU(s) per node` : '', g.nodes !== undefined ? `${g.nodes} node(s)` : ''].filter(Boolean).join(' on ');
    steps.push({
      id: 'size-training',
      agent: 'model',
      description: `Size each fine-tuning attempt: ${fixed ? `${fixed} as spec.resources says` : 'GPUs per node and nodes from the model size, the rows, the deadline and the GPU-hour budget'} (torchrun, DistributedDataParallel; the attempt's note gives the reasoning)${g.maxGpuHours !== undefined ? `; stop a Job when the budget of ${g.maxGpuHours} GPU-hours runs out and keep the best attempt so far` : ''}.`,
    });
  }
  if (context.unlabelledSources > 0) {
    steps.push({ id: 'teacher-distil', agent: 'model', description: 'If a small model falls short, fine-tune a larger teacher and train the strongest deployable model on its soft labels for the unlabelled data (distillation).' });
  }
  if (context.serving) {
    steps.push(
      { id: 'convert', agent: 'server', description: 'Export to ONNX with a parity check (TensorRT where a GPU is present), optionally quantize behind an accuracy gate.' },
      { id: 'benchmark-estimate', agent: 'server', description: `Benchmark the converted model and size replicas and memory for ${servingWords(spec)}.` },
      { id: 'deploy', agent: 'server', description: 'Write the Triton model repository, deploy it (or serve locally), and write the API document.' },
    );
  }
  steps.push({ id: 'report', agent: 'task', description: 'Report results, the estimate and the endpoint to the user.' });
  return { steps, maxAttempts: context.maxAttempts, hash: planHash(spec, steps, context.maxAttempts) };
}

function constraintWords(spec: TaskSpec): string {
  const c = spec.constraints;
  const words = [
    c.maxParameters && `≤ ${c.maxParameters.toLocaleString('en-US')} parameters`,
    c.maxModelBytes && `≤ ${c.maxModelBytes.toLocaleString('en-US')} bytes`,
    c.maxLatencyMs && `≤ ${c.maxLatencyMs} ms per call`,
  ].filter(Boolean);
  return words.length ? words.join(', ') : 'the data size and hardware';
}

function servingWords(spec: TaskSpec): string {
  const s = spec.serving;
  const words = [
    s.qps && `${s.qps} QPS`,
    s.latencyP99Ms && `p99 ≤ ${s.latencyP99Ms} ms`,
    s.memoryBytes && `${(s.memoryBytes / 1e9).toFixed(2)} GB per replica`,
  ].filter(Boolean);
  return words.length ? words.join(', ') : 'the default serving targets';
}
