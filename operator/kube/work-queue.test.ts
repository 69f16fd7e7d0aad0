import { jest } from '@jest/globals';
import { ExponentialBackoff, WorkQueue } from './work-queue.js';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('WorkQueue', () => {
  it('hands out a key once however often it was added while waiting', async () => {
    const q = new WorkQueue();
    q.add('ns/a');
    q.add('ns/a');
    q.add('ns/b');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('ns/a');
    expect(await q.get()).toBe('ns/b');
    expect(q.length).toBe(0);
  });

  it('never hands out a key that is being processed; a re-add is replayed after done', async () => {
    const q = new WorkQueue();
    q.add('ns/a');
    const key = await q.get();
    q.add('ns/a');
    expect(q.length).toBe(0);
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await tick();
    expect(second).toBeUndefined();
    q.done(key!);
    await tick();
    expect(second).toBe('ns/a');
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const q = new WorkQueue();
    const next = q.get();
    q.add('ns/x');
    await expect(next).resolves.toBe('ns/x');
  });

  it('addAfter delays a key; an earlier pending delay wins', async () => {
    const q = new WorkQueue();
    q.addAfter('ns/a', 30);
    q.addAfter('ns/a', 1000);
    expect(q.length).toBe(0);
    await tick(60);
    expect(q.length).toBe(1);
    await q.shutDown();
  });

  it('backs off per key exponentially from 5 ms to 1000 s and forgets on success', () => {
    const b = new ExponentialBackoff();
    expect([b.when('k'), b.when('k'), b.when('k'), b.when('k')]).toEqual([5, 10, 20, 40]);
    expect(b.when('other')).toBe(5);
    for (let i = 0; i < 40; i += 1) b.when('k');
    expect(b.when('k')).toBe(1_000_000);
    expect(b.retries('k')).toBeGreaterThan(40);
    b.forget('k');
    expect(b.when('k')).toBe(5);
  });

  it('addRateLimited requeues after the backoff delay and counts retries', async () => {
    const retried = jest.fn();
    const q = new WorkQueue(new ExponentialBackoff(5, 1000), { retried });
    expect(q.addRateLimited('ns/a')).toBe(5);
    expect(q.addRateLimited('ns/a')).toBe(10);
    expect(retried).toHaveBeenCalledTimes(2);
    expect(q.retries('ns/a')).toBe(2);
    await tick(30);
    expect(await q.get()).toBe('ns/a');
  });

  it('shutDown wakes idle workers with undefined and drains in-flight work', async () => {
    const q = new WorkQueue();
    q.add('ns/a');
    const key = await q.get();
    const idle = q.get();
    let drained = false;
    const stopping = q.shutDown(true).then(() => (drained = true));
    await expect(idle).resolves.toBeUndefined();
    await tick();
    expect(drained).toBe(false);
    q.add('ns/b'); // ignored after shutdown
    q.done(key!);
    await stopping;
    expect(drained).toBe(true);
    await expect(q.get()).resolves.toBeUndefined();
  });

  it('reports depth, adds, queue and work durations to hooks', async () => {
    const hooks = { depth: jest.fn(), added: jest.fn(), queued: jest.fn(), worked: jest.fn() };
    let now = 0;
    const q = new WorkQueue(undefined, hooks, () => now);
    q.add('ns/a');
    now = 2000;
    const key = await q.get();
    now = 5000;
    q.done(key!);
    expect(hooks.added).toHaveBeenCalledTimes(1);
    expect(hooks.queued).toHaveBeenCalledWith(2);
    expect(hooks.worked).toHaveBeenCalledWith(3);
    expect(hooks.depth).toHaveBeenLastCalledWith(0);
  });
});
