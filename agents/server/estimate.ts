import { z } from 'zod';
import { DEFAULT_MAX_REPLICAS } from '../task/bounds.js';

/** Latency target used when the request states none (said so in the reasoning). */
export const DEFAULT_LATENCY_P99_MS = 100;
/** A replica is never planned above this fraction of its measured saturation throughput. */
export const UTILISATION_CAP = 0.7;
/** Memory per replica = this factor × measured peak RSS (headroom for fragmentation and bursts). */
export const MEMORY_HEADROOM = 1.25;
/** Fewer than this many replicas gives no redundancy when a QPS target exists. */
export const MIN_REPLICAS_WITH_QPS = 2;
/** Above this many CPU replicas the reasoning recommends measuring on a GPU. */
export const GPU_SUGGESTION_REPLICAS = 16;

/** How much the windows of a measurement agreed. */
export const MeasurementStability = z.object({
  stable: z.boolean(),
  windows: z.number().int().min(0),
  spread: z.number().min(0),
});

/** Largest window spread an estimate is called reliable with (three windows within 10%, as perf_analyzer). */
export const RELIABLE_SPREAD = 0.1;

/** What a benchmark measured for one replica serving the converted model. */
export const ServingProfile = z.object({
  /** Where the numbers come from, e.g. `local-http` or `python-onnxruntime`. */
  source: z.string().min(1),
  accelerator: z.enum(['cpu', 'gpu']),
  /** Model instances per replica (the k parallel servers of the queueing model). */
  instances: z.number().int().min(1),
  maxBatchSize: z.number().int().min(1),
  /** Mean latency of one single-row request with no queueing. */
  serviceTimeMs: z.number().positive(),
  /** p99 latency of one single-row request with no queueing. */
  serviceTimeP99Ms: z.number().positive(),
  /** Coefficient of variation of the service time (σ/mean); 1 is exponential. */
  serviceTimeCv: z.number().min(0).default(1),
  /** Highest single-row request throughput one replica sustained in the concurrency sweep. */
  saturationQps: z.number().positive(),
  /** Peak resident memory of one replica under load. */
  peakRssBytes: z.number().positive(),
  /** Resident memory of the runtime before any model instance is loaded, when measured. */
  baseRssBytes: z.number().min(0).optional(),
  /**
   * Whether the measurement windows agreed (three in a row within the tolerance, 10%), their largest
   * relative spread, and how many windows ran. Absent for profiles measured without windows.
   */
  stability: MeasurementStability.optional(),
});
export type ServingProfile = z.input<typeof ServingProfile>;

/** The serving targets the estimate answers (TaskSpec `serving`, after overrides). */
export const EstimateTargets = z.object({
  qps: z.number().positive().optional(),
  latencyP99Ms: z.number().positive().optional(),
  memoryBytes: z.number().positive().optional(),
  accelerator: z.string().min(1).optional(),
});
export type EstimateTargets = z.infer<typeof EstimateTargets>;

/** The Server agent's sizing, as it appears in `status.estimate`. Infeasible: `replicas` 0, reasons first. */
export const Estimate = z.object({
  replicas: z.number().int().min(0),
  perReplicaQps: z.number().min(0),
  saturationQps: z.number().min(0),
  targetLatencyP99Ms: z.number().positive(),
  predictedLatencyP99Ms: z.number().min(0),
  memoryBytes: z.number().int().min(0),
  accelerator: z.string().min(1),
  instances: z.number().int().min(0),
  maxBatchSize: z.number().int().min(1),
  reasoning: z.array(z.string()),
  /** False when the measurement's windows did not agree: the numbers may move on a rerun. */
  reliable: z.boolean().optional(),
  /** Largest relative spread between the measurement windows the estimate rests on. */
  measurementSpread: z.number().min(0).optional(),
});
export type Estimate = z.infer<typeof Estimate>;

/** True when the estimate found a way to meet the targets. */
export function isFeasible(estimate: Estimate): boolean {
  return estimate.replicas > 0;
}

/** Erlang C: probability that an arrival waits in an M/M/k queue with offered load `a` = λ/μ (< k). */
export function erlangC(k: number, a: number): number {
  if (a <= 0) return 0;
  if (a >= k) return 1;
  let b = 1; // Erlang B by the stable recursion B(n) = a·B(n−1) / (n + a·B(n−1))
  for (let n = 1; n <= k; n += 1) b = (a * b) / (n + a * b);
  return (k * b) / (k - a * (1 - b));
}

/** Queue parameters of one replica: k servers sharing the measured saturation throughput. */
export interface QueueModel {
  servers: number;
  saturationQps: number;
  serviceTimeP99Ms: number;
  serviceTimeCv: number;
}

/**
 * p99 latency (ms) at arrival rate λ: the service p99 plus the p99 of the queueing delay.
 * M/M/k gives P(wait > t) = C·e^{−(kμ−λ)t}; Allen–Cunneen scales it by (ca² + cs²)/2 with Poisson
 * arrivals (ca² = 1). For k = 1, C = ρ: the M/M/1 tail.
 */
export function predictedP99Ms(q: QueueModel, lambda: number): number {
  if (lambda <= 0) return q.serviceTimeP99Ms;
  if (lambda >= q.saturationQps) return Number.POSITIVE_INFINITY;
  const mu = q.saturationQps / q.servers;
  const c = erlangC(q.servers, lambda / mu);
  const variability = (1 + q.serviceTimeCv ** 2) / 2;
  const waitP99S = c > 0.01 ? (variability * Math.log(c / 0.01)) / (q.saturationQps - lambda) : 0;
  return q.serviceTimeP99Ms + waitP99S * 1000;
}

/** Largest λ whose predicted p99 meets `targetMs`, no higher than `cap`; 0 when even an idle replica misses it. */
export function safeRate(q: QueueModel, targetMs: number, cap: number): number {
  if (q.serviceTimeP99Ms > targetMs) return 0;
  if (predictedP99Ms(q, cap) <= targetMs) return cap;
  let lo = 0;
  let hi = cap;
  for (let i = 0; i < 60; i += 1) {
    const mid = (lo + hi) / 2;
    if (predictedP99Ms(q, mid) <= targetMs) lo = mid;
    else hi = mid;
  }
  return lo;
}

const fmt = (x: number, digits = 1): string =>
  Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits }) : '∞';
const mb = (bytes: number): string => `${fmt(bytes / 1e6, 0)} MB`;

interface MemoryFit {
  instances: number;
  memoryBytes: number;
  lines: string[];
}

/** Largest instance count ≤ the measured one whose 1.25 × RSS fits the container limit (0 when none). */
function fitMemory(p: z.infer<typeof ServingProfile>, limit: number | undefined): MemoryFit {
  const need = (k: number, perInstance: number, base: number): number => Math.ceil(MEMORY_HEADROOM * (base + k * perInstance));
  const whole = need(1, p.peakRssBytes, 0);
  if (limit === undefined) {
    return { instances: p.instances, memoryBytes: whole, lines: [
      `Memory: ${MEMORY_HEADROOM} × ${mb(p.peakRssBytes)} peak RSS = ${mb(whole)} per replica (no container limit given).`] };
  }
  if (whole <= limit) {
    return { instances: p.instances, memoryBytes: whole, lines: [
      `Memory: ${MEMORY_HEADROOM} × ${mb(p.peakRssBytes)} peak RSS = ${mb(whole)} per replica, within the ${mb(limit)} limit.`] };
  }
  if (p.baseRssBytes === undefined || p.instances === 1) {
    return { instances: 0, memoryBytes: whole, lines: [
      `Infeasible: ${MEMORY_HEADROOM} × ${mb(p.peakRssBytes)} peak RSS = ${mb(whole)} per replica exceeds the ${mb(limit)} limit` +
      (p.instances === 1 ? ' even with one model instance.' : ' and the profile has no base RSS to size fewer instances.')] };
  }
  const base = p.baseRssBytes;
  const perInstance = Math.max(0, (p.peakRssBytes - base) / p.instances);
  for (let k = p.instances - 1; k >= 1; k -= 1) {
    const m = need(k, perInstance, base);
    if (m <= limit) {
      return { instances: k, memoryBytes: m, lines: [
        `Memory: ${p.instances} instances need ${MEMORY_HEADROOM} × ${mb(p.peakRssBytes)} = ${mb(whole)}, over the ${mb(limit)} limit; ` +
        `${k} instance(s) need ${MEMORY_HEADROOM} × (${mb(base)} runtime + ${k} × ${mb(perInstance)}) = ${mb(m)}, which fits.`] };
    }
  }
  return { instances: 0, memoryBytes: need(1, perInstance, base), lines: [
    `Infeasible: even one instance needs ${MEMORY_HEADROOM} × (${mb(base)} + ${mb(perInstance)}) = ${mb(need(1, perInstance, base))}, over the ${mb(limit)} limit.`] };
}

/** Whether the profile's measurement can be relied on, for the estimate's fields. */
function reliability(p: z.infer<typeof ServingProfile>): Pick<Estimate, 'reliable' | 'measurementSpread'> {
  if (!p.stability) return {};
  return { reliable: p.stability.stable && p.stability.spread <= RELIABLE_SPREAD, measurementSpread: p.stability.spread };
}

/** The reasoning line about how far the measurement agreed with itself. */
function reliabilityLine(p: z.infer<typeof ServingProfile>): string | undefined {
  const s = p.stability;
  if (!s) return undefined;
  const pct = (x: number) => `${fmt(100 * x, 0)}%`;
  return reliability(p).reliable
    ? `Measurement: ${s.windows} windows; the last three of each level agreed within ${pct(s.spread)} (tolerance ${pct(RELIABLE_SPREAD)}).`
    : `Unreliable: the measurement windows did not agree (spread ${pct(s.spread)} after ${s.windows} windows, over the ${pct(RELIABLE_SPREAD)} tolerance), ` +
      'so these numbers may move on a rerun — a busy machine? The saturation used is the lower quartile of the windows; measure again on a quiet machine before relying on it.';
}

/** An infeasible estimate: replicas 0, and the reason (the last line) first, then how it was reached. */
function infeasible(p: z.infer<typeof ServingProfile>, target: number, accelerator: string, memoryBytes: number,
  lines: string[]): Estimate {
  return Estimate.parse({
    replicas: 0, perReplicaQps: 0, saturationQps: p.saturationQps, targetLatencyP99Ms: target,
    predictedLatencyP99Ms: p.serviceTimeP99Ms, memoryBytes, accelerator, instances: 0,
    maxBatchSize: p.maxBatchSize, reasoning: [lines.at(-1)!, ...lines.slice(0, -1)], ...reliability(p),
  });
}

/** Limits from the backend's configuration. */
export interface EstimateLimits {
  /** Most serving replicas one request may get (operator config `serving.maxReplicas`; default {@link DEFAULT_MAX_REPLICAS}). */
  maxReplicas?: number;
}

/**
 * Size the deployment from a measured profile: per-replica safe rate from the queueing model and the
 * utilisation cap, replicas for the QPS target, memory per replica against the container limit.
 * Pure: same inputs, same estimate; every number is explained in `reasoning`.
 */
export function estimateReplicas(profileInput: ServingProfile, targetsInput: EstimateTargets = {}, limits: EstimateLimits = {}): Estimate {
  const p = ServingProfile.parse(profileInput);
  const t = EstimateTargets.parse(targetsInput);
  const lines: string[] = [];
  const target = t.latencyP99Ms ?? DEFAULT_LATENCY_P99_MS;
  const requested = t.accelerator?.toLowerCase();
  const accelerator = requested && requested !== 'cpu' ? t.accelerator! : p.accelerator;
  lines.push(`Measured (${p.source}, ${p.accelerator.toUpperCase()}): one replica with ${p.instances} instance(s) saturates at ` +
    `${fmt(p.saturationQps)} req/s; a request alone takes ${fmt(p.serviceTimeMs, 2)} ms (p99 ${fmt(p.serviceTimeP99Ms, 2)} ms, CV ${fmt(p.serviceTimeCv, 2)}).`);
  const measured = reliabilityLine(p);
  if (measured) lines.push(measured);
  lines.push(t.latencyP99Ms !== undefined
    ? `Latency target: p99 ≤ ${fmt(target)} ms (from the request).`
    : `Latency target: p99 ≤ ${fmt(target)} ms (the request states none; ${DEFAULT_LATENCY_P99_MS} ms is the default).`);
  if (requested && requested !== 'cpu' && p.accelerator === 'cpu') {
    lines.push(`Accelerator: ${t.accelerator} requested, but the profile was measured on CPU; the estimate uses the CPU numbers, ` +
      'which is conservative — re-benchmark on the GPU to size it tighter.');
  }
  const memory = fitMemory(p, t.memoryBytes);
  lines.push(...memory.lines);
  if (memory.instances === 0) return infeasible(p, target, accelerator, memory.memoryBytes, lines);
  const saturation = p.saturationQps * (memory.instances / p.instances);
  if (memory.instances !== p.instances) {
    lines.push(`Throughput scales with instances: ${fmt(p.saturationQps)} × ${memory.instances}/${p.instances} = ${fmt(saturation)} req/s at saturation.`);
  }
  const queue: QueueModel = { servers: memory.instances, saturationQps: saturation,
    serviceTimeP99Ms: p.serviceTimeP99Ms, serviceTimeCv: p.serviceTimeCv };
  if (p.serviceTimeP99Ms > target) {
    lines.push(`Infeasible: a single request already takes ${fmt(p.serviceTimeP99Ms, 2)} ms at p99, above the ${fmt(target)} ms target; ` +
      'more replicas cannot fix that — use a smaller model, a GPU or a looser target.');
    return infeasible(p, target, accelerator, memory.memoryBytes, lines);
  }
  const cap = UTILISATION_CAP * saturation;
  const model = memory.instances === 1 ? 'M/M/1 tail with the Allen–Cunneen variability factor' : `M/G/${memory.instances} (Allen–Cunneen)`;
  const atCap = predictedP99Ms(queue, cap);
  lines.push(`Utilisation cap: ${UTILISATION_CAP * 100}% × ${fmt(saturation)} = ${fmt(cap)} req/s per replica.`);
  const safe = safeRate(queue, target, cap);
  if (safe >= cap) {
    lines.push(`${model} at ${fmt(cap)} req/s predicts p99 ≈ ${fmt(atCap, 2)} ms ≤ ${fmt(target)} ms: the cap binds, safe rate ${fmt(safe)} req/s.`);
  } else {
    lines.push(`${model} at the cap predicts p99 ≈ ${fmt(atCap, 1)} ms > ${fmt(target)} ms: the latency target binds; ` +
      `the largest rate meeting it is ${fmt(safe)} req/s per replica (${fmt((100 * safe) / saturation, 0)}% utilisation).`);
  }
  let replicas: number;
  let load: number;
  if (t.qps !== undefined) {
    const raw = Math.ceil(t.qps / safe - 1e-9);
    replicas = Math.max(MIN_REPLICAS_WITH_QPS, raw);
    load = t.qps / replicas;
    lines.push(`Replicas: max(${MIN_REPLICAS_WITH_QPS}, ceil(${fmt(t.qps)} / ${fmt(safe)})) = max(${MIN_REPLICAS_WITH_QPS}, ${raw}) = ${replicas}` +
      `${raw < MIN_REPLICAS_WITH_QPS ? ` (at least ${MIN_REPLICAS_WITH_QPS} so one can fail or roll)` : ''}; each then sees ${fmt(load)} req/s.`);
  } else {
    replicas = 1;
    load = safe;
    lines.push('Replicas: 1 — the request gives no QPS target; the HPA adds replicas as load arrives.');
  }
  const replicaCap = limits.maxReplicas ?? DEFAULT_MAX_REPLICAS;
  if (replicas > replicaCap) {
    lines.push(`Infeasible: ${fmt(t.qps ?? 0)} req/s needs ${replicas.toLocaleString('en-US')} replicas, more than the ${replicaCap.toLocaleString('en-US')} ` +
      'this operator may run for one request (configuration serving.maxReplicas); lower the QPS, use a faster model or a GPU, or raise the cap.');
    return infeasible(p, target, accelerator, memory.memoryBytes, lines);
  }
  const predicted = predictedP99Ms(queue, load);
  lines.push(`Predicted p99 at ${fmt(load)} req/s per replica: ${fmt(predicted, 2)} ms (target ${fmt(target)} ms).`);
  if (p.accelerator === 'cpu' && !requested && replicas > GPU_SUGGESTION_REPLICAS) {
    lines.push(`Accelerator: CPU needs ${replicas} replicas; a GPU replica would likely need far fewer — benchmark on one before choosing.`);
  } else if (!requested) {
    lines.push(`Accelerator: ${p.accelerator.toUpperCase()} — what the profile was measured on and enough for the target.`);
  }
  return Estimate.parse({
    replicas, perReplicaQps: safe, saturationQps: saturation, targetLatencyP99Ms: target,
    predictedLatencyP99Ms: predicted, memoryBytes: memory.memoryBytes, accelerator,
    instances: memory.instances, maxBatchSize: p.maxBatchSize, reasoning: lines, ...reliability(p),
  });
}
