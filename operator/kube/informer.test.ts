import type { KubernetesObject } from '@kubernetes/client-node';
import type { ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { createLogger } from '../observability/logger.js';
import { Informer, compareVersions, type InformerEventType } from './informer.js';
import { KubeClient } from './rest/client.js';
import { FakeApiServer, json } from './testing/fake-apiserver.js';
import { ExponentialBackoff } from './work-queue.js';

const quiet = createLogger({ destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));
const cm = (name: string, rv: number, data = 'x'): KubernetesObject & { data: string } => ({ metadata: { name, namespace: 'ns', resourceVersion: String(rv) }, data });

/**
 * A fake collection of ConfigMaps: paginated lists, and watches the test drives by hand
 * (`send`, `end`), with the resourceVersion each watch started from.
 */
function collection() {
  const server = new FakeApiServer();
  const state = { items: [] as KubernetesObject[], listVersion: 1, watches: [] as { from: string; res: ServerResponse }[], lists: 0, failLists: 0, gone: false };
  server.route((req, res, url) => {
    if (url.pathname !== '/api/v1/namespaces/ns/configmaps') return false;
    if (url.searchParams.get('watch') === 'true') {
      if (state.gone) return json(res, 410, { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      state.watches.push({ from: url.searchParams.get('resourceVersion') ?? '', res });
      return;
    }
    state.lists += 1;
    if (state.failLists > 0) {
      state.failLists -= 1;
      return json(res, 500, { kind: 'Status', code: 500, reason: 'InternalError', message: 'etcd unavailable' });
    }
    // Pages of two, a continue token naming the next index.
    const start = Number(url.searchParams.get('continue') ?? '0');
    const items = state.items.slice(start, start + 2);
    const next = start + 2 < state.items.length ? String(start + 2) : undefined;
    return json(res, 200, { apiVersion: 'v1', kind: 'ConfigMapList', metadata: { resourceVersion: String(state.listVersion), ...(next ? { continue: next } : {}) }, items });
  });
  const send = (type: string, object: KubernetesObject) => state.watches.at(-1)!.res.write(`${JSON.stringify({ type, object })}\n`);
  const end = () => state.watches.at(-1)!.res.end();
  return { server, state, send, end };
}

async function informerOn(base: string, events: [InformerEventType, string, string | undefined][], extra: { pageSize?: number } = {}) {
  const client = new KubeClient({ server: base, insecureSkipTLSVerify: false, token: async () => undefined, source: 'test' });
  const informer = new Informer<KubernetesObject & { data?: string }>({
    resource: 'configmaps',
    client,
    path: '/api/v1/namespaces/ns/configmaps',
    log: quiet,
    index: (o) => o.data,
    onEvent: (type, o) => events.push([type, o.metadata!.name!, o.metadata!.resourceVersion]),
    backoff: new ExponentialBackoff(10, 50),
    random: () => 0.5,
    pageSize: extra.pageSize ?? 2,
  });
  return { client, informer };
}

describe('Informer', () => {
  it('lists page by page, then follows the watch from the list version; own writes are not events', async () => {
    const { server, state, send } = collection();
    state.items = [cm('a', 5), cm('b', 6), cm('c', 7, 'y')];
    state.listVersion = 9;
    const base = await server.start();
    const events: [InformerEventType, string, string | undefined][] = [];
    const { client, informer } = await informerOn(base, events);
    try {
      await informer.start();
      expect(informer.hasSynced).toBe(true);
      expect(state.lists).toBe(2);
      expect(informer.list().map((o) => o.metadata!.name)).toEqual(['a', 'b', 'c']);
      expect(informer.get('ns', 'a')!.kind).toBe('ConfigMap');
      expect(informer.byIndex('y').map((o) => o.metadata!.name)).toEqual(['c']);
      await tick(50);
      expect(state.watches.map((w) => w.from)).toEqual(['9']);

      send('MODIFIED', cm('a', 10, 'y'));
      send('ADDED', cm('d', 11));
      send('DELETED', cm('b', 12));
      await tick(30);
      expect(events.slice(3)).toEqual([['update', 'a', '10'], ['add', 'd', '11'], ['delete', 'b', '12']]);
      expect(informer.byIndex('y').map((o) => o.metadata!.name).sort()).toEqual(['a', 'c']);

      // This process wrote c (rv 13): the cache has it at once, and its watch event changes nothing.
      informer.upsert(cm('c', 13, 'z'));
      expect(informer.get('ns', 'c')!.data).toBe('z');
      send('MODIFIED', cm('c', 13, 'z'));
      // An older event that was still in flight does not roll the cache back.
      send('MODIFIED', cm('c', 12, 'y'));
      await tick(30);
      expect(events.slice(6)).toEqual([]);
      expect(informer.get('ns', 'c')!.data).toBe('z');
    } finally {
      await informer.stop();
      client.close();
      await server.stop();
    }
  });

  it('resumes from the last version when the server ends a watch, with no new list', async () => {
    const { server, state, send, end } = collection();
    state.items = [cm('a', 5)];
    state.listVersion = 5;
    const base = await server.start();
    const { client, informer } = await informerOn(base, []);
    try {
      await informer.start();
      await tick(30);
      send('BOOKMARK', { metadata: { resourceVersion: '20' } });
      await tick(20);
      end();
      await tick(50);
      expect(state.watches.map((w) => w.from)).toEqual(['5', '20']);
      expect(state.lists).toBe(1);
    } finally {
      await informer.stop();
      client.close();
      await server.stop();
    }
  });

  it('relists on 410 Gone, emitting deletes for what vanished meanwhile', async () => {
    const { server, state, send } = collection();
    state.items = [cm('a', 5), cm('b', 6)];
    state.listVersion = 6;
    const base = await server.start();
    const events: [InformerEventType, string, string | undefined][] = [];
    const { client, informer } = await informerOn(base, events);
    try {
      await informer.start();
      await tick(30);
      state.items = [cm('a', 30)];
      state.listVersion = 31;
      send('ERROR', { kind: 'Status', code: 410, message: 'too old resource version' } as KubernetesObject);
      await tick(80);
      expect(state.lists).toBe(2);
      expect(events.slice(2)).toEqual([['update', 'a', '30'], ['delete', 'b', '6']]);
      expect(state.watches.at(-1)!.from).toBe('31');
    } finally {
      await informer.stop();
      client.close();
      await server.stop();
    }
  });

  it('retries a failing list with backoff and becomes synced once it answers', async () => {
    const { server, state } = collection();
    state.items = [cm('a', 5)];
    state.failLists = 2;
    const base = await server.start();
    const { client, informer } = await informerOn(base, []);
    try {
      await informer.start();
      expect(informer.hasSynced).toBe(false);
      await informer.synced();
      expect(informer.hasSynced).toBe(true);
      await tick(50);
      expect(state.lists).toBe(3);
      expect(informer.hasSynced).toBe(true);
      expect(informer.size).toBe(1);
    } finally {
      await informer.stop();
      client.close();
      await server.stop();
    }
  });
});

describe('compareVersions', () => {
  it.each([
    { a: '9', b: '10', order: -1 },
    { a: '100000000000000000001', b: '100000000000000000000', order: 1 },
    { a: '7', b: '7', order: 0 },
    { a: 'x', b: '7', order: Number.NaN },
  ])('$a vs $b', ({ a, b, order }) => expect(compareVersions(a, b)).toBe(order));
});
