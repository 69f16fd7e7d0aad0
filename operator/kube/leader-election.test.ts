import type { V1Lease } from '@kubernetes/client-node';
import { createLogger } from '../observability/logger.js';
import { LeaderElector, type LeaseApi } from './leader-election.js';
import { Writable } from 'node:stream';

const quiet = createLogger({ destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/** An in-memory Lease store with resourceVersion conflicts, like the API server. */
function fakeLeases(): LeaseApi & { lease?: V1Lease; fail: boolean } {
  const store: LeaseApi & { lease?: V1Lease; fail: boolean } = {
    fail: false,
    async get() {
      if (store.fail) throw new Error('apiserver down');
      return store.lease ? structuredClone(store.lease) : undefined;
    },
    async create(lease) {
      if (store.fail) throw new Error('apiserver down');
      store.lease = { ...lease, metadata: { ...lease.metadata, resourceVersion: '1' } };
      return store.lease;
    },
    async replace(lease) {
      if (store.fail) throw new Error('apiserver down');
      if (lease.metadata?.resourceVersion !== store.lease?.metadata?.resourceVersion) throw Object.assign(new Error('conflict'), { code: 409 });
      store.lease = { ...lease, metadata: { ...lease.metadata, resourceVersion: String(Number(lease.metadata?.resourceVersion) + 1) } };
      return store.lease;
    },
  };
  return store;
}

describe('LeaderElector', () => {
  it('acquires a free lease, keeps a second candidate waiting, and hands over on release', async () => {
    const api = fakeLeases();
    const events: string[] = [];
    const mk = (id: string) => new LeaderElector({ api, namespace: 'ns', name: 'lock', identity: id, log: quiet, retryPeriodMs: 10, leaseDurationMs: 15_000, renewDeadlineMs: 10_000, onStartedLeading: () => events.push(`${id} leads`), onStoppedLeading: () => events.push(`${id} lost`) });
    const a = mk('a');
    const b = mk('b');
    a.start();
    await tick(30);
    b.start();
    await tick(50);
    expect(events).toEqual(['a leads']);
    expect(api.lease!.spec!.holderIdentity).toBe('a');
    expect(api.lease!.spec!.leaseDurationSeconds).toBe(15);
    await a.stop(true);
    await tick(60);
    expect(events).toEqual(['a leads', 'b leads']);
    expect(api.lease!.spec!.leaseTransitions).toBe(1);
    await b.stop(false);
  });

  it('takes over a lease whose holder stopped renewing once it expired', async () => {
    const api = fakeLeases();
    let now = 1_000_000;
    api.lease = { metadata: { name: 'lock', namespace: 'ns', resourceVersion: '7' }, spec: { holderIdentity: 'dead', leaseDurationSeconds: 15, leaseTransitions: 3 } };
    const started: string[] = [];
    const e = new LeaderElector({ api, namespace: 'ns', name: 'lock', identity: 'me', log: quiet, retryPeriodMs: 5, now: () => now, onStartedLeading: () => started.push('me'), onStoppedLeading: () => undefined });
    e.start();
    await tick(30);
    expect(started).toEqual([]);
    now += 16_000;
    await tick(30);
    expect(started).toEqual(['me']);
    expect(api.lease.spec!.leaseTransitions).toBe(4);
    await e.stop(false);
  });

  it('gives up leadership when renewals fail past the renew deadline', async () => {
    const api = fakeLeases();
    let now = 0;
    const lost = jest_fn();
    const e = new LeaderElector({ api, namespace: 'ns', name: 'lock', identity: 'me', log: quiet, retryPeriodMs: 5, renewDeadlineMs: 10_000, now: () => now, onStartedLeading: () => undefined, onStoppedLeading: lost.fn });
    e.start();
    await tick(20);
    expect(e.isLeader).toBe(true);
    api.fail = true;
    now += 5_000;
    await tick(20);
    expect(lost.calls).toBe(0);
    now += 6_000;
    await tick(20);
    expect(lost.calls).toBe(1);
    expect(e.isLeader).toBe(false);
  });
});

function jest_fn() {
  const state = { calls: 0, fn: () => void (state.calls += 1) };
  return state;
}
