import { z } from 'zod';
import { Constraints, METRICS, Objective, ServingTargets, type Metric, type TaskSpec } from './task-spec.js';

/**
 * Everything a requirement, a later message or an override can ask for, bounded in one place. The
 * TrainingRequest schema (and so the CRD) rejects overrides past these bounds; the Task agent asks
 * again when the requirement text goes past them; the Server agent refuses a plan that needs more
 * replicas than the configured cap. Values are generous on purpose: they stop typos and hostile
 * input ("10^9 requests per second", "1 TB per container"), not ambitious but real requests.
 */
export const BOUNDS = {
  /** Requests per second one request may plan for. */
  qps: 1_000_000,
  /** Latency targets (p99 and per-call), ms: one hour. */
  latencyMs: 3_600_000,
  /** Memory per serving container: 512 GiB. */
  memoryBytes: 512 * 2 ** 30,
  /** Model file size: 1 TiB. */
  modelBytes: 2 ** 40,
  /** Model parameters: one trillion. */
  parameters: 1e12,
  /** GPUs one node (one pod) of a training job may ask for: 16, the largest single machines. */
  gpusPerNode: 16,
  /** Nodes one distributed training job may span. */
  nodes: 64,
  /** GPU hours one request may spend. */
  gpuHours: 10_000,
  /** Training attempts one request may make. */
  attempts: 20,
  /** The highest serving replica cap a configuration may set. */
  maxReplicasCap: 10_000,
} as const;

/** Serving replicas one request may get unless the configuration says otherwise (local default, chart `serving.maxReplicas`). */
export const DEFAULT_MAX_REPLICAS = 100;

/** Metrics that are fractions: targets lie in [0, 1] ("90%" is 0.9). */
export const RATIO_METRICS: ReadonlySet<Metric> = new Set(['accuracy', 'f1', 'precision', 'recall', 'auc', 'map', 'iou', 'rouge', 'wer', 'cer', 'mape', 'exact-match']);

/** The range a target of each metric can take. */
export function metricRange(metric: Metric): { min: number; max: number } {
  if (RATIO_METRICS.has(metric)) return { min: 0, max: 1 };
  if (metric === 'bleu') return { min: 0, max: 100 };
  if (metric === 'cider') return { min: 0, max: 10 };
  if (metric === 'clip-score') return { min: 0, max: 100 };
  return { min: 0, max: Number.POSITIVE_INFINITY };
}

/** Why an objective's value cannot be a target of its metric, or undefined. */
export function objectiveProblem(o: Pick<Objective, 'metric' | 'value'>): string | undefined {
  const { min, max } = metricRange(o.metric);
  if (o.value >= min && o.value <= max) return undefined;
  if (RATIO_METRICS.has(o.metric)) {
    return `${o.metric} ${o.value} is out of range: ${o.metric} is a fraction between 0 and 1 (write 90% as 0.9, and no target can exceed 100%)`;
  }
  return `${o.metric} ${o.value} is out of range: ${o.metric} targets lie between ${min} and ${max}`;
}

const ratioList = [...METRICS].filter((m) => RATIO_METRICS.has(m)).map((m) => `'${m}'`).join(', ');

/** An objective whose value fits its metric; the CRD carries the same rule in CEL. */
export const BoundedObjective = Objective.strict()
  .superRefine((o, ctx) => {
    const problem = objectiveProblem(o);
    if (problem) ctx.addIssue({ code: 'custom', path: ['value'], message: problem });
  })
  .meta({
    'x-kubernetes-validations': [
      { rule: `!(self.metric in [${ratioList}]) || (self.value >= 0.0 && self.value <= 1.0)`, message: 'ratio metrics (accuracy, f1, precision, recall, ...) take a fraction between 0 and 1: write 90% as 0.9' },
      { rule: "self.metric != 'bleu' || (self.value >= 0.0 && self.value <= 100.0)", message: 'bleu targets lie between 0 and 100' },
      { rule: "self.metric != 'cider' || (self.value >= 0.0 && self.value <= 10.0)", message: 'cider targets lie between 0 and 10' },
      { rule: "self.metric != 'clip-score' || (self.value >= 0.0 && self.value <= 100.0)", message: 'clip-score targets lie between 0 and 100 (100 × cosine similarity)' },
      { rule: 'self.value >= 0.0', message: 'metric targets are not negative' },
    ],
  });

/** Model limits an override may set, bounded. */
export const BoundedConstraints = z.strictObject({
  maxParameters: Constraints.shape.maxParameters.unwrap().max(BOUNDS.parameters).optional(),
  maxModelBytes: Constraints.shape.maxModelBytes.unwrap().max(BOUNDS.modelBytes).optional(),
  maxLatencyMs: Constraints.shape.maxLatencyMs.unwrap().max(BOUNDS.latencyMs).optional(),
});

/** Serving targets an override may set, bounded. */
export const BoundedServingTargets = z.strictObject({
  qps: ServingTargets.shape.qps.unwrap().max(BOUNDS.qps).optional(),
  latencyP99Ms: ServingTargets.shape.latencyP99Ms.unwrap().max(BOUNDS.latencyMs).optional(),
  memoryBytes: ServingTargets.shape.memoryBytes.unwrap().max(BOUNDS.memoryBytes).optional(),
  accelerator: ServingTargets.shape.accelerator,
});

const count = (x: number): string => x.toLocaleString('en-US');
const gib = (bytes: number): string => `${count(Math.round((bytes / 2 ** 30) * 100) / 100)} GiB`;

/** Every bound a TaskSpec's targets break, in words the user can act on. */
export function boundProblems(spec: Pick<TaskSpec, 'objectives' | 'constraints' | 'serving'>): string[] {
  const problems = spec.objectives.map(objectiveProblem).filter((p): p is string => p !== undefined);
  const { qps, latencyP99Ms, memoryBytes } = spec.serving;
  const { maxParameters, maxModelBytes, maxLatencyMs } = spec.constraints;
  if (qps !== undefined && qps > BOUNDS.qps) problems.push(`${count(qps)} requests per second is more than the ${count(BOUNDS.qps)} one request can plan for`);
  if (memoryBytes !== undefined && memoryBytes > BOUNDS.memoryBytes) problems.push(`${gib(memoryBytes)} per container is more than the ${gib(BOUNDS.memoryBytes)} a serving container can have`);
  for (const ms of [latencyP99Ms, maxLatencyMs]) {
    if (ms !== undefined && ms > BOUNDS.latencyMs) problems.push(`a latency of ${count(ms)} ms is longer than ${count(BOUNDS.latencyMs)} ms (one hour); that is no latency target`);
  }
  if (maxModelBytes !== undefined && maxModelBytes > BOUNDS.modelBytes) problems.push(`a model file of ${gib(maxModelBytes)} is more than the ${gib(BOUNDS.modelBytes)} this operator handles`);
  if (maxParameters !== undefined && maxParameters > BOUNDS.parameters) problems.push(`${count(maxParameters)} parameters is more than the ${count(BOUNDS.parameters)} this operator trains`);
  return problems;
}

/**
 * Hold a TaskSpec to the bounds: targets past them, or `unreadable` ratio targets written above 100%
 * (which the parser cannot read as a fraction) that nothing later restated, make the Task agent ask
 * again, saying what is wrong; a refusal stays a refusal.
 */
export function checkBounds(spec: TaskSpec, unreadable: readonly { metric: Metric; problem: string }[] = []): TaskSpec {
  if (spec.decision === 'reject-unethical' || spec.decision === 'reject-infeasible') return spec;
  // A target restated later (a message, an override) replaces the unreadable one.
  const stillUnreadable = unreadable.filter((u) => !spec.objectives.some((o) => o.metric === u.metric)).map((u) => u.problem);
  const problems = [...stillUnreadable, ...boundProblems(spec)];
  if (problems.length === 0) return spec;
  const ask = `The request asks for more than can be planned: ${problems.join('; ')}. Please state the target again (add a message, or set spec.overrides).`;
  return { ...spec, decision: 'needs-input', reasons: [ask, ...spec.reasons] };
}
