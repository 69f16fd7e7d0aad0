import { describe, expect, it } from '@jest/globals';
import { assertLoopback, median, percentile, relativeSpread, seededRandom } from './load.js';
import { profileStability, saturationOf, sustainedThroughput, type SweepPoint } from './profile.js';
import { readBatchingConfig } from './repository.js';

describe('load generation helpers', () => {
  it.each([
    { name: 'loopback IPv4', url: 'http://127.0.0.1:8000/v2', ok: true },
    { name: 'localhost', url: 'http://localhost:1/x', ok: true },
    { name: 'another host', url: 'http://10.0.0.2:8000/v2', ok: false },
    { name: 'https', url: 'https://127.0.0.1/v2', ok: false },
  ])('only targets loopback: $name', ({ url, ok }) => {
    if (ok) expect(() => assertLoopback(url)).not.toThrow();
    else expect(() => assertLoopback(url)).toThrow(/only targets/);
  });

  it.each([
    { p: 50, expected: 5 }, { p: 99, expected: 10 }, { p: 100, expected: 10 }, { p: 0, expected: 1 },
  ])('percentile $p of 1..10 is $expected (nearest rank)', ({ p, expected }) => {
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], p)).toBe(expected);
  });

  it('repeats the same arrival sequence for the same seed', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe('readBatchingConfig', () => {
  it.each([
    { name: 'dynamic batching with delay and two instances',
      text: 'max_batch_size: 16\ninstance_group [ { count: 2 kind: KIND_CPU } ]\ndynamic_batching {\n  max_queue_delay_microseconds: 250\n}\n',
      expected: { maxBatchSize: 16, queueDelayUs: 250, instances: 2 } },
    { name: 'no dynamic batching: no delay', text: 'max_batch_size: 8\n', expected: { maxBatchSize: 8, queueDelayUs: 0, instances: 1 } },
    { name: 'max_batch_size 0 still runs one row at a time', text: 'max_batch_size: 0\n', expected: { maxBatchSize: 1, queueDelayUs: 0, instances: 1 } },
  ])('$name', ({ text, expected }) => {
    expect(readBatchingConfig(text)).toEqual(expected);
  });
});

describe('sustainedThroughput', () => {
  it.each([
    { name: 'a stable level counts its mean', point: { stable: true, throughput: 100, windowThroughputs: [90, 100, 105, 95] }, expected: 100 },
    { name: 'an unstable level counts the lower quartile of its windows, not one outlier', point: { stable: false, throughput: 100, windowThroughputs: [200, 10, 120, 100, 90] }, expected: 90 },
  ])('$name', ({ point, expected }) => {
    expect(sustainedThroughput(point)).toBe(expected);
  });
});

describe('saturationOf', () => {
  const point = (concurrency: number, throughput: number): SweepPoint => ({ concurrency, throughput, stable: true, windowThroughputs: [throughput],
    windows: 3, requests: 1, errors: 0, durationSeconds: 1, meanMs: 1, p50Ms: 1, p99Ms: 1, cv: 0, errorSamples: [],
    windowMeansMs: [1], windowP99Ms: [1], spread: 0 });
  it.each([
    { name: 'ignores concurrency 1, where the server idles between requests', sweep: [point(1, 900), point(2, 500), point(8, 550)], instances: 1, expected: 550 },
    { name: 'needs twice the instances in flight to count a level', sweep: [point(2, 900), point(4, 600), point(8, 700)], instances: 2, expected: 700 },
    { name: 'falls back to every level when none keeps the instances busy', sweep: [point(1, 300), point(2, 400)], instances: 4, expected: 400 },
  ])('$name', ({ sweep, instances, expected }) => {
    expect(saturationOf(sweep, instances)).toBe(expected);
  });
});

describe('measurement stability', () => {
  it.each([
    { values: [100, 100, 100], spread: 0 },
    { values: [95, 100, 105], spread: 0.05 },
    { values: [50, 100, 150], spread: 0.5 },
    { values: [], spread: 1 },
  ])('relativeSpread($values) = $spread', ({ values, spread }) => {
    expect(relativeSpread(values)).toBeCloseTo(spread, 10);
  });

  it.each([
    { values: [3, 1, 2], expected: 2 },
    { values: [4, 1, 3, 2], expected: 2.5 },
    { values: [1, 1, 90], expected: 1 },
  ])('median($values) = $expected (one slow window does not move it)', ({ values, expected }) => {
    expect(median(values)).toBe(expected);
  });

  const level = (concurrency: number, stable: boolean, spread: number, windows: number): SweepPoint => ({ concurrency, throughput: 100 * concurrency,
    stable, windowThroughputs: [100 * concurrency], windows, spread, requests: 1, errors: 0, durationSeconds: 1, meanMs: 1, p50Ms: 1, p99Ms: 1, cv: 0,
    errorSamples: [], windowMeansMs: [1], windowP99Ms: [1] });
  it.each([
    { name: 'every level agreed: stable, the larger spread reported', sweep: [level(1, true, 0.03, 3), level(2, true, 0.08, 4)], expected: { stable: true, windows: 7, spread: 0.08 } },
    { name: 'the saturation level never agreed: unstable', sweep: [level(1, true, 0.02, 3), level(2, false, 0.4, 8)], expected: { stable: false, windows: 11, spread: 0.4 } },
    { name: 'service time never agreed: unstable', sweep: [level(1, false, 0.3, 8), level(2, true, 0.05, 3)], expected: { stable: false, windows: 11, spread: 0.3 } },
  ])('profileStability: $name', ({ sweep, expected }) => {
    expect(profileStability(sweep, 1)).toEqual(expected);
  });
});
