import type { V1Lease } from '@kubernetes/client-node';
import { Writable } from 'node:stream';
import { createLogger } from '../observability/logger.js';
import { LeaderElector, leaseApi, microTime, type LeaseApi } from './leader-election.js';
import { ApiError, KubeClient } from './rest/client.js';
import { FakeApiServer, json } from './testing/fake-apiserver.js';

const quiet = createLogger({ destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/** An in-memory Lease store with resourceVersion conflicts, like the API server. */
function fakeLeases(): LeaseApi & { lease?: V1Lease; fail: boolean; hang: 'no' | 'abortable' | 'forever' } {
  const gate = (signal: AbortSignal) => {
    if (store.fail) throw new Error('apiserver down');
    if (store.hang === 'forever') return new Promise<never>(() => undefined);
    if (store.hang === 'abortable') return new Promise<never>((_r, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    return undefined;
  };
  const store: LeaseApi & { lease?: V1Lease; fail: boolean; hang: 'no' | 'abortable' | 'forever' } = {
    fail: false,
    hang: 'no',
    async get(_ns, _n, signal) {
      await gate(signal);
      return store.lease ? structuredClone(store.lease) : undefined;
    },
    async create(lease, signal) {
      await gate(signal);
      store.lease = { ...lease, metadata: { ...lease.metadata, resourceVersion: '1' } };
      return store.lease;
    },
    async replace(lease, signal) {
      await gate(signal);
      if (lease.metadata?.resourceVersion !== store.lease?.metadata?.resourceVersion) throw new ApiError(409, 'conflict');
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
    expect(String(api.lease!.spec!.renewTime)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
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
    let lost = 0;
    const e = new LeaderElector({ api, namespace: 'ns', name: 'lock', identity: 'me', log: quiet, retryPeriodMs: 5, renewDeadlineMs: 10_000, now: () => now, onStartedLeading: () => undefined, onStoppedLeading: () => (lost += 1) });
    e.start();
    await tick(20);
    expect(e.isLeader).toBe(true);
    api.fail = true;
    now += 5_000;
    await tick(20);
    expect(lost).toBe(0);
    now += 6_000;
    await tick(20);
    expect(lost).toBe(1);
    expect(e.isLeader).toBe(false);
  });

  it.each([
    { name: 'a call that honours its abort signal', hang: 'abortable' as const },
    { name: 'a call that never settles at all', hang: 'forever' as const },
  ])('steps down at the renew deadline while the API server hangs: $name', async ({ hang }) => {
    const api = fakeLeases();
    let lostAt = 0;
    const e = new LeaderElector({ api, namespace: 'ns', name: 'lock', identity: 'me', log: quiet, retryPeriodMs: 20, renewDeadlineMs: 200, leaseDurationMs: 1000, onStartedLeading: () => undefined, onStoppedLeading: () => (lostAt = Date.now()) });
    e.start();
    await tick(50);
    expect(e.isLeader).toBe(true);
    const hungAt = Date.now();
    api.hang = hang;
    await tick(400);
    expect(e.isLeader).toBe(false);
    // Stepped down within the deadline (measured from the hang, plus one retry period of slack).
    expect(lostAt - hungAt).toBeLessThanOrEqual(200 + 30);
    await e.stop(false);
  });

  it('refuses a renew deadline that is not shorter than the lease', () => {
    expect(() => new LeaderElector({ api: fakeLeases(), namespace: 'ns', name: 'l', identity: 'me', log: quiet, leaseDurationMs: 10_000, renewDeadlineMs: 10_000, onStartedLeading: () => undefined, onStoppedLeading: () => undefined })).toThrow(/shorter/);
  });

  it('over real HTTP: an API server that stops answering makes the leader step down before its lease expires', async () => {
    const server = new FakeApiServer();
    let lease: V1Lease | undefined;
    let version = 1;
    server.route((req, res, url, body) => {
      if (!url.pathname.startsWith('/apis/coordination.k8s.io/v1/namespaces/ns/leases')) return false;
      if (req.method === 'GET') return lease ? json(res, 200, lease) : json(res, 404, { kind: 'Status', code: 404, reason: 'NotFound' });
      const sent = JSON.parse(body) as V1Lease;
      if (req.method === 'PUT' && sent.metadata?.resourceVersion !== lease?.metadata?.resourceVersion) return json(res, 409, { kind: 'Status', code: 409, reason: 'Conflict' });
      lease = { ...sent, metadata: { ...sent.metadata, resourceVersion: String(++version) } };
      return json(res, req.method === 'POST' ? 201 : 200, lease);
    });
    const base = await server.start();
    const client = new KubeClient({ server: base, insecureSkipTLSVerify: false, token: async () => 'token', source: 'test' });
    let lostAt = 0;
    const e = new LeaderElector({ api: leaseApi(client), namespace: 'ns', name: 'lock', identity: 'me', log: quiet, retryPeriodMs: 50, renewDeadlineMs: 400, leaseDurationMs: 1000, onStartedLeading: () => undefined, onStoppedLeading: () => (lostAt = Date.now()) });
    try {
      e.start();
      for (let i = 0; i < 50 && !e.isLeader; i += 1) await tick(20);
      expect(e.isLeader).toBe(true);
      const renewedBefore = lease!.spec!.renewTime;
      await tick(150);
      expect(lease!.spec!.renewTime).not.toEqual(renewedBefore);
      const lastRenew = Date.parse(String(lease!.spec!.renewTime));
      server.hang = true;
      await tick(700);
      expect(e.isLeader).toBe(false);
      // Gone before anyone else may take the lease (1 s after the last renewal the server saw).
      expect(lostAt).toBeGreaterThan(0);
      expect(lostAt - lastRenew).toBeLessThan(1000);
      expect(server.requests.filter((r) => r.method === 'PUT').length).toBeGreaterThan(1);
    } finally {
      await e.stop(false);
      client.close();
      await server.stop();
    }
  });
});

describe('microTime', () => {
  it('writes six fractional digits, as metav1.MicroTime parses', () => {
    expect(microTime(Date.parse('2025-01-02T03:04:05.678Z'))).toBe('2025-01-02T03:04:05.678000Z');
  });
});
