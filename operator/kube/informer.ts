import { makeInformer, type Informer, type KubeConfig, type KubernetesObject, type ListPromise, type ObjectCache } from '@kubernetes/client-node';
import type { Logger } from '../observability/logger.js';
import { ExponentialBackoff } from './work-queue.js';

/** How an informer is made (the real one, or a fake in tests). */
export type InformerFactory<T extends KubernetesObject> = () => Informer<T> & ObjectCache<T>;

/** Options of a resilient informer. */
export interface ResilientInformerOptions<T extends KubernetesObject> {
  /** Resource name for logs and metrics (`trainingrequests`, `jobs`). */
  resource: string;
  make: InformerFactory<T>;
  /** Called for every add, update, delete and resync; must only enqueue (callbacks are synchronous). */
  onObject: (object: T) => void;
  log: Logger;
  onRestart?: () => void;
  /** Restart after this long without any event or reconnect. */
  watchdogMs?: number;
  /** Call `onObject` for every cached object this often. */
  resyncMs?: number;
  backoff?: ExponentialBackoff;
}

/**
 * An informer that keeps going: client-node's ListWatch stops for good on any error but 410, so
 * this restarts it with exponential backoff (1 s → 60 s), restarts it when it went silent for longer
 * than the watchdog allows (2.x reconnects every ~30 s, so silence means it is wedged), and
 * re-enqueues every cached object on a resync period.
 */
export class ResilientInformer<T extends KubernetesObject> {
  private informer: (Informer<T> & ObjectCache<T>) | undefined;
  private lastSeen = Date.now();
  private synced = false;
  private stopped = true;
  private restartTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private resync: NodeJS.Timeout | undefined;
  private generation = 0;
  private readonly backoff: ExponentialBackoff;

  constructor(private readonly options: ResilientInformerOptions<T>) {
    this.backoff = options.backoff ?? new ExponentialBackoff(1000, 60_000);
  }

  /** True once the first list succeeded (readiness). */
  get hasSynced(): boolean {
    return this.synced;
  }

  /** Milliseconds since the informer last showed signs of life. */
  get silenceMs(): number {
    return Date.now() - this.lastSeen;
  }

  /** Objects in the cache. */
  list(): readonly T[] {
    return this.informer?.list() ?? [];
  }

  /** Start watching; resolves after the first attempt (successful or scheduled for retry). */
  async start(): Promise<void> {
    this.stopped = false;
    const { watchdogMs = 300_000, resyncMs = 300_000 } = this.options;
    this.watchdog = setInterval(() => {
      if (!this.stopped && this.silenceMs > watchdogMs) {
        this.options.log.warn({ resource: this.options.resource, silentForMs: this.silenceMs }, 'Restarted silent informer');
        void this.restart();
      }
    }, Math.min(watchdogMs, 30_000));
    this.resync = setInterval(() => {
      for (const object of this.list()) this.options.onObject(object);
    }, resyncMs);
    this.watchdog.unref?.();
    this.resync.unref?.();
    await this.run();
  }

  /** Stop watching and all timers. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.watchdog);
    clearInterval(this.resync);
    clearTimeout(this.restartTimer);
    const informer = this.informer;
    this.informer = undefined;
    await informer?.stop().catch(() => undefined);
  }

  private async run(): Promise<void> {
    const generation = ++this.generation;
    const informer = this.options.make();
    this.informer = informer;
    let failed = false;
    const alive = () => {
      if (generation === this.generation) this.lastSeen = Date.now();
    };
    const forward = (object: T) => {
      alive();
      if (generation === this.generation) this.options.onObject(object);
    };
    informer.on('add', forward);
    informer.on('update', forward);
    informer.on('delete', forward);
    informer.on('connect', alive);
    informer.on('error', (error: unknown) => {
      failed = true;
      if (generation !== this.generation || this.stopped) return;
      const delay = this.backoff.when(this.options.resource);
      this.options.log.warn({ resource: this.options.resource, err: (error as Error)?.message ?? String(error), retryInMs: delay }, 'Informer failed; restarting');
      clearTimeout(this.restartTimer);
      this.restartTimer = setTimeout(() => void this.restart(), delay);
      this.restartTimer.unref?.();
    });
    try {
      await informer.start();
    } catch (error) {
      failed = true;
      if (generation === this.generation && !this.stopped) {
        const delay = this.backoff.when(this.options.resource);
        this.options.log.warn({ resource: this.options.resource, err: (error as Error).message, retryInMs: delay }, 'Informer failed to start; retrying');
        this.restartTimer = setTimeout(() => void this.restart(), delay);
        this.restartTimer.unref?.();
      }
    }
    if (!failed && generation === this.generation) {
      this.synced = true;
      this.backoff.forget(this.options.resource);
      alive();
    }
  }

  private async restart(): Promise<void> {
    if (this.stopped) return;
    this.options.onRestart?.();
    const old = this.informer;
    this.generation += 1; // silence the old informer's callbacks at once
    await old?.stop().catch(() => undefined);
    if (!this.stopped) await this.run();
  }
}

/** A client-node informer for `path` (list + watch), optionally filtered by labels. */
export function kubeInformer<T extends KubernetesObject>(kc: KubeConfig, path: string, list: ListPromise<T>, labelSelector?: string): InformerFactory<T> {
  return () => makeInformer<T>(kc, path, list, labelSelector);
}
