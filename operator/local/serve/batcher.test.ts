import { describe, expect, it } from '@jest/globals';
import { MicroBatcher, QueueFullError } from './batcher.js';

/** A runner whose batches finish only when the test releases them. */
function gatedRunner() {
  const batches: number[][] = [];
  const gates: (() => void)[] = [];
  const run = (items: number[]): Promise<number[]> => {
    batches.push(items);
    return new Promise((resolve) => gates.push(() => resolve(items.map((x) => x * 10))));
  };
  const releaseAll = async (): Promise<void> => {
    while (gates.length) { gates.shift()!(); await new Promise((r) => setImmediate(r)); }
  };
  return { run, batches, releaseAll };
}

describe('MicroBatcher', () => {
  it.each([
    { name: 'an idle batcher runs the first request at once', maxBatchSize: 4, submits: [[1]], first: [[1]] },
    { name: 'requests arriving while busy join one batch up to the maximum', maxBatchSize: 4, submits: [[1], [2], [3], [4], [5], [6]], first: [[1]] },
  ])('$name', async ({ maxBatchSize, submits, first }) => {
    const g = gatedRunner();
    const b = new MicroBatcher(g.run, { maxBatchSize, queueDelayMs: 0, concurrency: 1 });
    const results = submits.map((s) => b.submit(s));
    expect(g.batches).toEqual(first);
    await g.releaseAll();
    await g.releaseAll();
    expect(await Promise.all(results)).toEqual(submits.map((s) => s.map((x) => x * 10)));
    expect(g.batches.every((batch) => batch.length <= maxBatchSize)).toBe(true);
    expect(g.batches.flat()).toEqual(submits.flat());
  });

  it('batches the rows that queued behind a running batch together', async () => {
    const g = gatedRunner();
    const b = new MicroBatcher(g.run, { maxBatchSize: 8, queueDelayMs: 0, concurrency: 1 });
    const all = [b.submit([1]), b.submit([2]), b.submit([3, 4]), b.submit([5])];
    await g.releaseAll();
    await g.releaseAll();
    await Promise.all(all);
    expect(g.batches).toEqual([[1], [2, 3, 4, 5]]);
  });

  it('splits a request larger than the maximum batch across batches and reassembles it in order', async () => {
    const g = gatedRunner();
    const b = new MicroBatcher(g.run, { maxBatchSize: 2, queueDelayMs: 0, concurrency: 2 });
    const r = b.submit([1, 2, 3, 4, 5]);
    await g.releaseAll(); await g.releaseAll(); await g.releaseAll();
    expect(await r).toEqual([10, 20, 30, 40, 50]);
    expect(g.batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('runs up to `concurrency` batches at once (one per instance)', () => {
    const g = gatedRunner();
    const b = new MicroBatcher(g.run, { maxBatchSize: 1, queueDelayMs: 0, concurrency: 2 });
    void b.submit([1]); void b.submit([2]); void b.submit([3]);
    expect(g.batches).toEqual([[1], [2]]);
    expect(b.depth).toBe(1);
  });

  it('fails every row of a batch whose run fails, and keeps serving', async () => {
    let fail = true;
    const b = new MicroBatcher(async (items: number[]) => { if (fail) { fail = false; throw new Error('boom'); } return items; },
      { maxBatchSize: 4, queueDelayMs: 0, concurrency: 1 });
    await expect(b.submit([1, 2])).rejects.toThrow('boom');
    await expect(b.submit([3])).resolves.toEqual([3]);
  });

  it('refuses work beyond its queue bound', async () => {
    const g = gatedRunner();
    const b = new MicroBatcher(g.run, { maxBatchSize: 1, queueDelayMs: 0, concurrency: 1, maxQueue: 2 });
    void b.submit([1]);
    await expect(b.submit([2, 3, 4])).rejects.toBeInstanceOf(QueueFullError);
  });

  it('reports each batch size', async () => {
    const sizes: number[] = [];
    const b = new MicroBatcher(async (items: number[]) => items, { maxBatchSize: 4, queueDelayMs: 0, concurrency: 1, onBatch: (n) => sizes.push(n) });
    await Promise.all([b.submit([1]), b.submit([2]), b.submit([3])]);
    expect(sizes.reduce((a, c) => a + c, 0)).toBe(3);
  });
});
