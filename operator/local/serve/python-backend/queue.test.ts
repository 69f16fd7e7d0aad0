import { CancelledError, QueueFullError } from '../batcher.js';
import { RequestQueue } from './queue.js';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('RequestQueue (dynamic batching of whole requests)', () => {
  it('batches waiting requests up to max_batch_size rows, never splitting one, on one instance at a time', async () => {
    const batches: string[][] = [];
    let release!: () => void;
    const queue = new RequestQueue<string, string>(1, async (_i, batch) => {
      batches.push(batch);
      if (batches.length === 1) await new Promise<void>((r) => (release = r));
      return batch.map((b) => b.toUpperCase());
    }, { maxBatchRows: 4, queueDelayMs: 0, maxQueued: 10 });
    const first = queue.submit('a', 1);
    await tick();
    const rest = [queue.submit('b', 2), queue.submit('c', 2), queue.submit('d', 1)];
    release();
    expect(await Promise.all([first, ...rest])).toEqual(['A', 'B', 'C', 'D']);
    expect(batches).toEqual([['a'], ['b', 'c'], ['d']]);
  });

  it('waits up to the queue delay for more rows, and runs a full batch at once', async () => {
    const sizes: number[] = [];
    const queue = new RequestQueue<number, number>(1, async (_i, batch) => batch, { maxBatchRows: 3, queueDelayMs: 50, maxQueued: 10 }, (rows) => sizes.push(rows));
    const started = Date.now();
    await Promise.all([queue.submit(1, 1), queue.submit(2, 1)]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(sizes).toEqual([2]);
    const full = Date.now();
    await Promise.all([queue.submit(3, 1), queue.submit(4, 2)]);
    expect(Date.now() - full).toBeLessThan(45);
  });

  it('uses every instance, refuses past the queue limit, and drops a request whose client left', async () => {
    const running = new Set<number>();
    let peak = 0;
    const queue = new RequestQueue<number, number>(2, async (instance, batch) => {
      running.add(instance);
      peak = Math.max(peak, running.size);
      await tick(20);
      running.delete(instance);
      return batch;
    }, { maxBatchRows: 1, queueDelayMs: 0, maxQueued: 2 });
    const a = queue.submit(1, 1);
    const b = queue.submit(2, 1);
    const gone = new AbortController();
    const c = queue.submit(3, 1, gone.signal);
    const d = queue.submit(4, 1);
    await expect(queue.submit(5, 1)).rejects.toBeInstanceOf(QueueFullError);
    gone.abort();
    await expect(c).rejects.toBeInstanceOf(CancelledError);
    expect(await Promise.all([a, b, d])).toEqual([1, 2, 4]);
    expect(peak).toBe(2);
  });
});
