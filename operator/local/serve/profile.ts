import type { ServingProfile } from '../../../agents/server/estimate.js';
import { median, openLoop, quantile, stableClosedLoop, type LoadResult, type StableResult } from './load.js';

/** Settings of a served-path profiling sweep. */
export interface ServedProfileOptions {
  /** The infer URL, e.g. `http://127.0.0.1:8000/v2/models/spam/infer`. */
  url: string;
  /** JSON request bodies of single-row requests, cycled. */
  bodies: string[];
  instances: number;
  maxBatchSize: number;
  concurrencies?: number[];
  /** Length of one measurement window; each level runs until three windows agree within 10%. */
  windowMs?: number;
  maxWindows?: number;
  maxRequestsPerWindow?: number;
  /** Reads the server's peak RSS after the sweep (e.g. VmHWM of its process). */
  peakRssBytes: () => number;
  baseRssBytes?: number;
  /** Also find the highest Poisson (open-loop) rate the server keeps up with; on by default. */
  openLoopProbe?: boolean;
}

/** One open-loop probe: the offered rate and what came back. */
export interface OpenLoopProbe extends LoadResult {
  rate: number;
  keptUp: boolean;
}

/** Fractions of the closed-loop saturation tried, highest first, by {@link openLoopCapacity}. */
export const PROBE_FRACTIONS = [1, 0.9, 0.8, 0.7, 0.6, 0.5];

/**
 * The highest Poisson arrival rate the server keeps up with: answers completed during the window are at
 * least 97% of those offered and the backlog drains within 0.25 s. Bursty arrivals queue in ways a closed
 * loop of 8 never shows (bigger batches, more connections), so this can be below the closed-loop rate.
 */
export async function openLoopCapacity(url: string, bodies: string[], closedLoopSaturation: number, windowMs = 3000):
  Promise<{ capacity: number; probes: OpenLoopProbe[] }> {
  const probes: OpenLoopProbe[] = [];
  for (const fraction of PROBE_FRACTIONS) {
    const rate = fraction * closedLoopSaturation;
    const r = await openLoop(url, bodies, rate, { durationMs: windowMs, maxRequests: Math.ceil((rate * windowMs) / 1000 * 1.5) + 10 },
      { poisson: true, seed: probes.length + 7 });
    const keptUp = r.errors === 0 && r.throughput >= 0.97 * rate && (r.drainSeconds ?? 0) <= 0.25;
    probes.push({ rate, keptUp, ...r });
    if (keptUp) return { capacity: rate, probes };
  }
  return { capacity: PROBE_FRACTIONS[PROBE_FRACTIONS.length - 1]! * closedLoopSaturation * 0.9, probes };
}

/** One sweep point. */
export interface SweepPoint extends StableResult {
  concurrency: number;
}

/**
 * Throughput a level can be counted on: the mean of its last three windows when they agreed, else the
 * lower quartile of all its windows — conservative (a noisy, shared machine must not inflate the
 * capacity the estimate plans on), yet not at the mercy of the single worst window, so reruns agree.
 */
export function sustainedThroughput(point: Pick<SweepPoint, 'stable' | 'throughput' | 'windowThroughputs'>): number {
  return point.stable ? point.throughput : quantile(point.windowThroughputs, 0.25);
}

/**
 * Saturation throughput: the best sustained throughput among levels that keep every instance busy
 * (concurrency ≥ 2 × instances). At lower concurrency a server idles while each answer travels back, and on
 * a shared machine client and server then interleave instead of competing, which flatters the number.
 */
export function saturationOf(sweep: SweepPoint[], instances: number): number {
  return sustainedThroughput(saturationPoint(sweep, instances));
}

/** The sweep point {@link saturationOf} takes its number from. */
export function saturationPoint<P extends Pick<SweepPoint, 'concurrency' | 'stable' | 'throughput' | 'windowThroughputs'>>(sweep: P[], instances: number): P {
  const busy = sweep.filter((p) => p.concurrency >= 2 * instances);
  return (busy.length ? busy : sweep).reduce((best, p) => (sustainedThroughput(p) > sustainedThroughput(best) ? p : best));
}

/**
 * How far the measurement can be trusted: the level alone (service time) and the saturation level
 * must each have had three consecutive windows agree within the tolerance. `spread` is the larger of
 * their last-three-window spreads; `windows` counts every window the sweep ran.
 */
export function profileStability(sweep: SweepPoint[], instances: number): { stable: boolean; windows: number; spread: number } {
  const alone = sweep[0]!;
  const saturation = saturationPoint(sweep, instances);
  return {
    stable: alone.stable && saturation.stable,
    windows: sweep.reduce((a, p) => a + p.windows, 0),
    spread: Math.max(alone.spread, saturation.spread),
  };
}

/**
 * Measure the model as clients reach it, through the HTTP server's own code path (parsing, batching,
 * onnxruntime, serialisation): a closed-loop concurrency sweep of single-row requests, each level measured
 * until stable (perf_analyzer's rule), then open-loop probes. Service time comes from concurrency 1;
 * saturation is the lower of the closed-loop plateau ({@link saturationOf}) and the open-loop capacity
 * ({@link openLoopCapacity}), the rate Poisson traffic can actually be served at.
 */
export async function profileServedModel(o: ServedProfileOptions):
  Promise<{ profile: ServingProfile; sweep: SweepPoint[]; closedLoopSaturationQps: number; probes: OpenLoopProbe[] }> {
  const levels = o.concurrencies ?? [1, 2, 4, 8];
  const sweep: SweepPoint[] = [];
  for (const concurrency of levels) {
    const r = await stableClosedLoop(o.url, o.bodies, concurrency, { windowMs: o.windowMs ?? 2000, maxWindows: o.maxWindows ?? 8,
      maxRequestsPerWindow: o.maxRequestsPerWindow ?? 50_000 });
    if (r.errors > 0) throw new Error(`profiling at concurrency ${concurrency} got ${r.errors} errors: ${r.errorSamples.join('; ')}`);
    sweep.push({ concurrency, ...r });
  }
  const alone = sweep[0]!;
  const closed = saturationOf(sweep, o.instances);
  const { capacity, probes } = o.openLoopProbe === false ? { capacity: closed, probes: [] } : await openLoopCapacity(o.url, o.bodies, closed, o.windowMs ?? 2000);
  // Service time from the agreeing windows: the median window's mean and p99, so one window that a
  // neighbour's burst slowed down does not become the latency every replica is planned with.
  const profile: ServingProfile = {
    source: 'local-http',
    accelerator: 'cpu',
    instances: o.instances,
    maxBatchSize: o.maxBatchSize,
    serviceTimeMs: median(alone.windowMeansMs.slice(-3)),
    serviceTimeP99Ms: median(alone.windowP99Ms.slice(-3)),
    serviceTimeCv: alone.cv,
    saturationQps: Math.min(closed, capacity),
    peakRssBytes: o.peakRssBytes(),
    ...(o.baseRssBytes !== undefined ? { baseRssBytes: o.baseRssBytes } : {}),
    stability: profileStability(sweep, o.instances),
  };
  return { profile, sweep, closedLoopSaturationQps: closed, probes };
}
