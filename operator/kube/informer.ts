import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../observability/logger.js';
import { ApiError, type KubeClient, type WatchEvent } from './rest/client.js';
import { ExponentialBackoff } from './work-queue.js';

/** What happened to an object in the cache. */
export type InformerEventType = 'add' | 'update' | 'delete';

/** Options of an informer. */
export interface InformerOptions<T extends KubernetesObject> {
  /** Resource name for logs and metrics (`trainingrequests`, `jobs`). */
  resource: string;
  client: Pick<KubeClient, 'request' | 'watch'>;
  /** Collection path, e.g. `/apis/batch/v1/jobs` or `/apis/batch/v1/namespaces/a/jobs`. */
  path: string;
  labelSelector?: string;
  log: Logger;
  /** Slim an object before it is cached (drop what the controller never reads). */
  transform?: (object: T) => T;
  /** Secondary index: objects are found by this value with {@link Informer.byIndex}. */
  index?: (object: T) => string | undefined;
  /** Called for every change of the cache; must only enqueue (it runs inside the stream handler). */
  onEvent: (type: InformerEventType, object: T, old: T | undefined) => void;
  onRestart?: () => void;
  /** Objects per page of a list (bounds the memory of one response). */
  pageSize?: number;
  /** Restart a watch after this long without any byte (it is wedged). */
  idleTimeoutMs?: number;
  backoff?: ExponentialBackoff;
  random?: () => number;
}

/**
 * A list+watch cache of one resource, the same contract as client-go's reflector and store:
 * paginated list, then a watch from the list's resourceVersion with bookmarks; a clean end of the
 * watch (the server's timeout) resumes from the last resourceVersion at once; 410 Gone relists;
 * any other failure retries with exponential backoff and jitter (1 s → 60 s).
 *
 * Objects this process wrote can be put into the cache at once ({@link upsert}); the watch event
 * that later reports the same write carries the same resourceVersion and is then a no-op, so the
 * operator's own status patches do not trigger reconciles and a reconcile right after a write
 * never reads the state from before it.
 */
export class Informer<T extends KubernetesObject> {
  private readonly store = new Map<string, T>();
  private readonly indexed = new Map<string, Set<string>>();
  private resourceVersion = '';
  private synced_ = false;
  private stopped = true;
  private lastSeen = Date.now();
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly backoff: ExponentialBackoff;
  private readonly random: () => number;
  private readonly syncWaiters: (() => void)[] = [];

  constructor(private readonly options: InformerOptions<T>) {
    this.backoff = options.backoff ?? new ExponentialBackoff(1000, 60_000);
    this.random = options.random ?? Math.random;
  }

  /** True once the first list succeeded (readiness). */
  get hasSynced(): boolean {
    return this.synced_;
  }

  /** Milliseconds since the informer last heard from the API server. */
  get silenceMs(): number {
    return Date.now() - this.lastSeen;
  }

  /** Number of cached objects. */
  get size(): number {
    return this.store.size;
  }

  /** The cached object `namespace/name`. */
  get(namespace: string | undefined, name: string): T | undefined {
    return this.store.get(`${namespace ?? ''}/${name}`);
  }

  /** All cached objects. */
  list(): T[] {
    return [...this.store.values()];
  }

  /** Keys (`namespace/name`) of all cached objects. */
  keys(): IterableIterator<string> {
    return this.store.keys();
  }

  /** Cached objects whose index value is `value`. */
  byIndex(value: string): T[] {
    const keys = this.indexed.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const key of keys) {
      const object = this.store.get(key);
      if (object) out.push(object);
    }
    return out;
  }

  /**
   * Put an object this process just wrote (the API server's answer) into the cache, unless the
   * cache already holds a newer version. No event is emitted: the writer knows what it wrote.
   */
  upsert(object: T): void {
    const slim = this.options.transform ? this.options.transform(object) : object;
    const key = keyOf(slim);
    const old = this.store.get(key);
    if (old && !isNewer(slim, old)) return;
    this.set(key, slim, old);
  }

  /** Resolves once the first list succeeded (or the informer was stopped). */
  synced(): Promise<void> {
    if (this.synced_ || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /** Start listing and watching; resolves after the first list (or its first failure). */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    let firstDone!: () => void;
    const first = new Promise<void>((resolve) => (firstDone = resolve));
    this.loop = this.run(firstDone);
    await first;
  }

  /** Stop watching. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of this.syncWaiters.splice(0)) wake();
    this.abort?.abort();
    this.wake?.();
    await this.loop;
  }

  private async run(firstDone: () => void): Promise<void> {
    while (!this.stopped) {
      try {
        if (!this.resourceVersion) await this.relist();
        firstDone();
        await this.watchOnce();
        this.backoff.forget(this.options.resource);
      } catch (error) {
        firstDone();
        if (this.stopped) break;
        if (error instanceof ApiError && error.code === 410) {
          // The resourceVersion was compacted away: list again, at once.
          this.resourceVersion = '';
          continue;
        }
        this.options.onRestart?.();
        const base = this.backoff.when(this.options.resource);
        const delay = Math.round(base * (0.5 + this.random()));
        this.options.log.warn({ resource: this.options.resource, err: (error as Error).message, retryInMs: delay }, 'Informer failed; retrying');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }

  private async relist(): Promise<void> {
    const { client, path, labelSelector, transform, pageSize = 500 } = this.options;
    const fresh = new Map<string, T>();
    let next: string | undefined;
    let listVersion = '';
    do {
      const page = await client.request<{ apiVersion?: string; kind?: string; metadata?: { continue?: string; resourceVersion?: string }; items?: T[] }>({
        verb: 'list',
        path,
        query: { labelSelector, limit: pageSize, continue: next },
      });
      // Items of a list carry no apiVersion/kind; the list does.
      const kind = page.kind?.replace(/List$/, '');
      for (const item of page.items ?? []) {
        const object = { ...item, ...(page.apiVersion && !item.apiVersion ? { apiVersion: page.apiVersion } : {}), ...(kind && !item.kind ? { kind } : {}) } as T;
        const slim = transform ? transform(object) : object;
        fresh.set(keyOf(slim), slim);
      }
      next = page.metadata?.continue || undefined;
      listVersion = page.metadata?.resourceVersion ?? '';
    } while (next);
    this.lastSeen = Date.now();
    for (const [key, object] of fresh) {
      const old = this.store.get(key);
      if (!old) {
        this.set(key, object, undefined);
        this.options.onEvent('add', object, undefined);
      } else if (isNewer(object, old)) {
        this.set(key, object, old);
        this.options.onEvent('update', object, old);
      }
    }
    for (const [key, old] of this.store) {
      // Keep what this process wrote after the list was taken; the watch will report it.
      if (fresh.has(key) || compareVersions(old.metadata?.resourceVersion, listVersion) > 0) continue;
      this.delete(key, old);
      this.options.onEvent('delete', old, old);
    }
    this.resourceVersion = listVersion;
    this.synced_ = true;
    for (const wake of this.syncWaiters.splice(0)) wake();
  }

  private async watchOnce(): Promise<void> {
    const abort = new AbortController();
    this.abort = abort;
    let gone: ApiError | undefined;
    // Spread reconnects over time, as client-go does (5-10 min there; shorter here keeps a
    // half-open connection from hiding events for long).
    const timeoutSeconds = 240 + Math.floor(this.random() * 60);
    try {
      await this.options.client.watch({
        path: this.options.path,
        query: { labelSelector: this.options.labelSelector, resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
        idleTimeoutMs: this.options.idleTimeoutMs ?? (timeoutSeconds + 30) * 1000,
        signal: abort.signal,
        onOpen: () => (this.lastSeen = Date.now()),
        onEvent: (event) => {
          this.lastSeen = Date.now();
          if (event.type === 'ERROR') {
            const status = event.object as { code?: number; message?: string };
            gone = new ApiError(status.code ?? 500, `watch ${this.options.path}: ${status.message ?? 'error event'}`);
            abort.abort();
            return;
          }
          this.apply(event as WatchEvent<T>);
        },
      });
    } catch (error) {
      if (gone) throw gone;
      throw error;
    } finally {
      this.abort = undefined;
    }
    if (gone) throw gone;
  }

  private apply(event: WatchEvent<T>): void {
    const version = event.object.metadata?.resourceVersion;
    if (event.type === 'BOOKMARK') {
      if (version) this.resourceVersion = version;
      return;
    }
    const object = this.options.transform ? this.options.transform(event.object) : event.object;
    const key = keyOf(object);
    const old = this.store.get(key);
    if (event.type === 'DELETED') {
      if (old) this.delete(key, old);
      this.options.onEvent('delete', object, old);
    } else if (!old || isNewer(object, old)) {
      this.set(key, object, old);
      this.options.onEvent(old ? 'update' : 'add', object, old);
    }
    if (version) this.resourceVersion = version;
  }

  private set(key: string, object: T, old: T | undefined): void {
    const { index } = this.options;
    if (index) {
      const before = old ? index(old) : undefined;
      const after = index(object);
      if (before !== after && before !== undefined) this.unindex(before, key);
      if (after !== undefined) {
        let keys = this.indexed.get(after);
        if (!keys) this.indexed.set(after, (keys = new Set()));
        keys.add(key);
      }
    }
    this.store.set(key, object);
  }

  private delete(key: string, old: T): void {
    const value = this.options.index?.(old);
    if (value !== undefined) this.unindex(value, key);
    this.store.delete(key);
  }

  private unindex(value: string, key: string): void {
    const keys = this.indexed.get(value);
    keys?.delete(key);
    if (keys?.size === 0) this.indexed.delete(value);
  }
}

/** The cache key `namespace/name` of an object. */
export function keyOf(object: KubernetesObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

/**
 * Order of two resourceVersions: negative, 0, positive; NaN when they cannot be compared. They are
 * etcd revisions, and Kubernetes 1.35 made comparing them part of the API contract (KEP-5504).
 */
export function compareVersions(a: string | undefined, b: string | undefined): number {
  if (a === b) return 0;
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return Number.NaN;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Whether `object` is a later version than `old` (an incomparable version counts as later). */
function isNewer(object: KubernetesObject, old: KubernetesObject): boolean {
  const order = compareVersions(object.metadata?.resourceVersion, old.metadata?.resourceVersion);
  return Number.isNaN(order) || order > 0;
}
