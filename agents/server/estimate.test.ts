import { describe, expect, it } from '@jest/globals';
import {
  DEFAULT_LATENCY_P99_MS, Estimate, erlangC, estimateReplicas, isFeasible, predictedP99Ms, safeRate,
  type ServingProfile,
} from './estimate.js';

/** A CPU classifier that saturates at 60 req/s with one instance and peaks at 1.2 GB of RSS. */
const classifier: ServingProfile = {
  source: 'test', accelerator: 'cpu', instances: 1, maxBatchSize: 8,
  serviceTimeMs: 12, serviceTimeP99Ms: 25, serviceTimeCv: 0.5, saturationQps: 60,
  peakRssBytes: 1.2e9, baseRssBytes: 0.4e9,
};

describe('estimateReplicas: the paper example (a classifier, 100 QPS in 2 GB containers)', () => {
  const estimate = estimateReplicas(classifier, { qps: 100, memoryBytes: 2e9 });

  it('uses the stated default latency target because the request gives none', () => {
    expect(estimate.targetLatencyP99Ms).toBe(DEFAULT_LATENCY_P99_MS);
    expect(estimate.reasoning.join('\n')).toMatch(/states none; 100 ms is the default/);
  });

  it('finds the latency target binds before the 70% cap and needs 4 replicas', () => {
    // Cap 0.7 × 60 = 42 req/s. M/M/1 at 42: ρ = 0.7, C = ρ, Allen–Cunneen factor (1 + 0.5²)/2 = 0.625,
    // p99 wait = 0.625 × ln(0.7/0.01) / (60 − 42) s ≈ 147.5 ms, p99 ≈ 25 + 147.5 = 172.5 ms > 100 ms.
    // Solving 25 + 625·ln(λ/0.6)/(60 − λ) = 100 gives λ ≈ 28 req/s; ceil(100 / 28) = 4 replicas.
    expect(estimate.perReplicaQps).toBeCloseTo(28, 0);
    expect(estimate.replicas).toBe(4);
    expect(estimate.predictedLatencyP99Ms).toBeLessThanOrEqual(100);
    expect(estimate.reasoning.join('\n')).toMatch(/latency target binds/);
  });

  it('fits 1.25 × 1.2 GB = 1.5 GB per replica in the 2 GB container', () => {
    expect(estimate.memoryBytes).toBe(1.5e9);
    expect(estimate.instances).toBe(1);
  });

  it('produces exactly the status fields, valid against the Estimate schema', () => {
    expect(Object.keys(estimate).sort()).toEqual([
      'accelerator', 'instances', 'maxBatchSize', 'memoryBytes', 'perReplicaQps', 'predictedLatencyP99Ms',
      'reasoning', 'replicas', 'saturationQps', 'targetLatencyP99Ms',
    ]);
    expect(Estimate.safeParse(estimate).success).toBe(true);
  });
});

describe('estimateReplicas: how reliable the measurement was', () => {
  it.each([
    { name: 'windows that agreed within 10%: reliable, spread reported', stability: { stable: true, windows: 12, spread: 0.04 }, reliable: true, line: /^Measurement: 12 windows; the last three of each level agreed within 4% \(tolerance 10%\)/ },
    { name: 'windows that never agreed: marked unreliable, with the spread', stability: { stable: false, windows: 32, spread: 0.45 }, reliable: false, line: /^Unreliable: the measurement windows did not agree \(spread 45% after 32 windows/ },
    { name: 'no windows recorded: nothing claimed', stability: undefined, reliable: undefined, line: undefined },
  ])('$name', ({ stability, reliable, line }) => {
    const e = estimateReplicas({ ...classifier, ...(stability ? { stability } : {}) }, { qps: 100 });
    expect(e.reliable).toBe(reliable);
    expect(e.measurementSpread).toBe(stability?.spread);
    if (line) expect(e.reasoning.find((l) => /^(Measurement|Unreliable):/.test(l))).toMatch(line);
    else expect(e.reasoning.some((l) => /^(Measurement|Unreliable):/.test(l))).toBe(false);
  });
});

describe('estimateReplicas: the replica cap', () => {
  it.each([
    { name: 'the hostile example (a billion QPS) is refused with the reason first, not planned as millions of replicas', qps: 1e9, cap: undefined, replicas: 0 },
    { name: 'a plan within the default cap of 100 stands', qps: 1000, cap: undefined, replicas: 36 },
    { name: 'a configured cap of 10 refuses 36 replicas', qps: 1000, cap: 10, replicas: 0 },
    { name: 'a configured cap of 1000 allows 358 replicas', qps: 10_000, cap: 1000, replicas: 358 },
  ])('$name', ({ qps, cap, replicas }) => {
    const e = estimateReplicas(classifier, { qps }, cap !== undefined ? { maxReplicas: cap } : {});
    expect(e.replicas).toBe(replicas);
    if (replicas === 0) expect(e.reasoning[0]).toMatch(new RegExp(`^Infeasible: .* replicas, more than the ${cap ?? 100} .*serving\\.maxReplicas`));
  });
});

describe('estimateReplicas', () => {
  const fast: ServingProfile = { ...classifier, serviceTimeMs: 1, serviceTimeP99Ms: 2, saturationQps: 1000, peakRssBytes: 2e8, baseRssBytes: 1e8 };
  it.each([
    { name: 'a fast model is capped at 70% of saturation: 100 QPS still gets 2 replicas',
      profile: fast, targets: { qps: 100 }, replicas: 2, perReplicaQps: 700, instances: 1 },
    { name: '3,000 QPS at 700 safe req/s per replica needs ceil(3000/700) = 5',
      profile: fast, targets: { qps: 3000 }, replicas: 5, perReplicaQps: 700, instances: 1 },
    { name: 'no QPS target: one replica, and the HPA scales',
      profile: fast, targets: {}, replicas: 1, perReplicaQps: 700, instances: 1 },
    { name: 'memory does not fit: fewer instances, lower throughput, more replicas',
      profile: { ...fast, instances: 2, saturationQps: 2000, peakRssBytes: 1.8e9, baseRssBytes: 0.4e9 },
      targets: { qps: 3000, memoryBytes: 2e9 }, replicas: 5, perReplicaQps: 700, instances: 1 },
    { name: 'latency target below service time: infeasible with a reason',
      profile: classifier, targets: { qps: 100, latencyP99Ms: 20 }, replicas: 0, perReplicaQps: 0, instances: 0 },
    { name: 'even one instance exceeds the container: infeasible',
      profile: { ...classifier, peakRssBytes: 3e9, baseRssBytes: 2.5e9 }, targets: { qps: 10, memoryBytes: 2e9 },
      replicas: 0, perReplicaQps: 0, instances: 0 },
  ])('$name', ({ profile, targets, replicas, perReplicaQps, instances }) => {
    const e = estimateReplicas(profile, targets);
    expect(e.replicas).toBe(replicas);
    expect(e.perReplicaQps).toBeCloseTo(perReplicaQps, 6);
    expect(e.instances).toBe(instances);
    expect(isFeasible(e)).toBe(replicas > 0);
    if (replicas === 0) expect(e.reasoning.some((l) => l.startsWith('Infeasible'))).toBe(true);
  });

  it('keeps a requested GPU and says the CPU numbers are conservative', () => {
    const e = estimateReplicas(fast, { qps: 100, accelerator: 'nvidia-tesla-t4' });
    expect(e.accelerator).toBe('nvidia-tesla-t4');
    expect(e.reasoning.join('\n')).toMatch(/measured on CPU/);
  });

  it('uses M/G/k with several instances, which allows a higher safe rate than one fast server of the same capacity', () => {
    const q = { saturationQps: 100, serviceTimeP99Ms: 30, serviceTimeCv: 1 };
    expect(safeRate({ ...q, servers: 4 }, 60, 100)).toBeGreaterThan(0);
    expect(predictedP99Ms({ ...q, servers: 4 }, 70)).toBeLessThan(predictedP99Ms({ ...q, servers: 1 }, 70));
  });
});

describe('erlangC', () => {
  it.each([
    { name: 'one server waits with probability ρ', k: 1, a: 0.7, c: 0.7 },
    { name: 'two servers at a = 1 (ρ = 0.5): 1/3', k: 2, a: 1, c: 1 / 3 },
    { name: 'idle system never waits', k: 3, a: 0, c: 0 },
    { name: 'overloaded system always waits', k: 2, a: 2, c: 1 },
  ])('$name', ({ k, a, c }) => {
    expect(erlangC(k, a)).toBeCloseTo(c, 9);
  });
});
