import { describe, expect, it } from '@jest/globals';
import { CancelledError, MicroBatcher, QueueFullError } from './batcher.js';

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
  const releaseOne = async (): Promise<void> => {
    gates.shift()?.();
    await new Promise((r) => setImmediate(r));
  };
  return { run, batches, releaseAll, releaseOne };
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

  it('batches the rows that queued behind a running batch together, one from each request in turn', async () => {
    const g = gatedRunner();
    const b = new MicroBatcher(g.run, { maxBatchSize: 8, queueDelayMs: 0, concurrency: 1 });
    const all = [b.submit([1]), b.submit([2]), b.submit([3, 4]), b.submit([5])];
    await g.releaseAll();
    await g.releaseAll();
    expect(await Promise.all(all)).toEqual([[10], [20], [30, 40], [50]]);
    expect(g.batches).toEqual([[1], [2, 3, 5, 4]]);
  });

  it('interleaves a huge request with small ones: each small request runs in the next batch', async () => {
    const g = gatedRunner();
    const b = new MicroBatcher(g.run, { maxBatchSize: 4, queueDelayMs: 0, concurrency: 1 });
    const huge = b.submit(Array.from({ length: 100 }, (_, i) => 1000 + i));
    const small = [b.submit([1]), b.submit([2])];
    await g.releaseOne();
    const late = b.submit([3]);
    await g.releaseOne();
    await g.releaseOne();
    // First batch: the huge request alone (it was first); then the small ones share each batch with it.
    expect(g.batches.slice(0, 3)).toEqual([[1000, 1001, 1002, 1003], [1004, 1, 2, 1005], [1006, 3, 1007, 1008]]);
    expect(await Promise.all([...small, late])).toEqual([[10], [20], [30]]);
    await g.releaseAll();
    expect(await huge).toEqual(Array.from({ length: 100 }, (_, i) => (1000 + i) * 10));
  });

  it('withdraws the rows of a request whose client went away, and settles it', async () => {
    const g = gatedRunner();
    const b = new MicroBatcher(g.run, { maxBatchSize: 2, queueDelayMs: 0, concurrency: 1 });
    const gone = new AbortController();
    const first = b.submit([1, 2, 3, 4, 5, 6], gone.signal);
    expect(b.depth).toBe(4);
    gone.abort();
    await expect(first).rejects.toBeInstanceOf(CancelledError);
    expect(b.depth).toBe(0);
    await g.releaseAll();
    expect(g.batches).toEqual([[1, 2]]);
    const next = b.submit([7]);
    await g.releaseAll();
    await expect(next).resolves.toEqual([70]);
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
