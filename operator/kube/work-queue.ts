/**
 * A de-duplicating, rate-limited work queue in the shape of client-go's workqueue: a key waits at
 * most once; a key being processed is never handed out again until `done`, and a re-add during
 * processing is replayed afterwards; failures back off per key exponentially (5 ms → 1000 s);
 * `addAfter` requeues on a timer; `shutDown` stops handing out keys and can wait for in-flight work.
 */

/** Hooks for metrics (workqueue_* names); all optional. */
export interface QueueHooks {
  depth?(depth: number): void;
  added?(): void;
  retried?(): void;
  /** Seconds a key waited before a worker took it. */
  queued?(seconds: number): void;
  /** Seconds a worker held a key. */
  worked?(seconds: number): void;
}

/** Per-key exponential backoff: base × 2^failures, capped. */
export class ExponentialBackoff {
  private readonly failures = new Map<string, number>();
  constructor(
    readonly baseMs = 5,
    readonly maxMs = 1_000_000,
  ) {}

  /** The delay for this key's next retry; counts one more failure. */
  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return Math.min(this.baseMs * 2 ** Math.min(n, 60), this.maxMs);
  }

  /** How many times the key failed since it was last forgotten. */
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The key succeeded: start from the base delay next time. */
  forget(key: string): void {
    this.failures.delete(key);
  }
}

/** The queue. Keys are usually `namespace/name`. */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly addedAt = new Map<string, number>();
  private readonly startedAt = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  private shuttingDown = false;

  constructor(
    readonly backoff = new ExponentialBackoff(),
    private readonly hooks: QueueHooks = {},
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Number of keys waiting (not counting those being processed or delayed). */
  get length(): number {
    return this.queue.length;
  }

  /** Whether `shutDown` was called. */
  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Queue a key unless it already waits; a key in processing is re-queued when it is done. */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.hooks.added?.();
    this.dirty.add(key);
    this.addedAt.set(key, this.clock());
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Queue a key after a delay; an earlier pending delay for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const at = this.clock() + delayMs;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref?.();
    this.timers.set(key, { at, timer });
  }

  /** Requeue a failed key after its backoff delay. Returns the delay. */
  addRateLimited(key: string): number {
    const delay = this.backoff.when(key);
    this.hooks.retried?.();
    this.addAfter(key, delay);
    return delay;
  }

  /** The key succeeded: reset its backoff. */
  forget(key: string): void {
    this.backoff.forget(key);
  }

  /** Failures of the key since it last succeeded. */
  retries(key: string): number {
    return this.backoff.retries(key);
  }

  /** Next key to work on; resolves `undefined` once the queue is shut down and empty. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) return Promise.resolve(this.take(key));
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Mark a key finished; re-adds it if it was added while being processed. */
  done(key: string): void {
    this.processing.delete(key);
    const started = this.startedAt.get(key);
    if (started !== undefined) this.hooks.worked?.((this.clock() - started) / 1000);
    this.startedAt.delete(key);
    if (this.dirty.has(key)) this.push(key);
    if (this.processing.size === 0) for (const idle of this.idleWaiters.splice(0)) idle();
  }

  /**
   * Stop accepting keys and wake idle workers. With `drain`, resolves once in-flight keys are
   * done (waiting keys are dropped: a new leader picks them up from its informers).
   */
  async shutDown(drain = true): Promise<void> {
    this.shuttingDown = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.queue.splice(0);
    this.dirty.clear();
    this.hooks.depth?.(0);
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
    if (drain && this.processing.size > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private push(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter) return waiter(this.take(key));
    this.queue.push(key);
    this.hooks.depth?.(this.queue.length);
  }

  private take(key: string): string {
    this.dirty.delete(key);
    this.processing.add(key);
    const now = this.clock();
    const added = this.addedAt.get(key);
    if (added !== undefined) this.hooks.queued?.((now - added) / 1000);
    this.addedAt.delete(key);
    this.startedAt.set(key, now);
    this.hooks.depth?.(this.queue.length);
    return key;
  }
}
