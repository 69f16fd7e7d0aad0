import { Worker } from 'node:worker_threads';

/** Calls the staging thread answers (see staging-worker.mjs). */
export type StagingCall =
  | { op: 'fingerprint'; path: string }
  | { op: 'digest'; path: string; expectFolder: boolean }
  | { op: 'download'; url: string; label: string; dest: string; headers: Record<string, string>; maxBytes: number; timeoutMs: number };

/** What a call resolves to. */
export type StagingResult<C extends StagingCall> = C extends { op: 'fingerprint' } ? { fingerprint: string } : { digest: string; fingerprint: string };

/** The staging thread's interface (a fake in tests). */
export interface StagingCalls {
  call<C extends StagingCall>(call: C): Promise<StagingResult<C>>;
  close(): Promise<void>;
}

/** Options of the thread. */
export interface StagingThreadOptions {
  /** Calls in flight at once; the rest wait (each holds a read buffer and a file or socket). */
  concurrency?: number;
  /** Stop the thread after this long without work (it costs ≈ 20 MB while it lives). */
  idleMs?: number;
}

/**
 * One worker thread for the heavy I/O of staging data sources, started when there is work and
 * stopped when idle. A crashed thread fails the calls in flight (they are retried by their
 * callers) and is started again on the next call.
 */
export class StagingThread implements StagingCalls {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly inFlight = new Map<number, { resolve: (value: never) => void; reject: (error: Error) => void }>();
  private readonly waiting: (() => void)[] = [];
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly concurrency: number;
  private readonly idleMs: number;

  constructor(options: StagingThreadOptions = {}) {
    this.concurrency = options.concurrency ?? 4;
    this.idleMs = options.idleMs ?? 30_000;
  }

  async call<C extends StagingCall>(call: C): Promise<StagingResult<C>> {
    if (this.inFlight.size >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    clearTimeout(this.idleTimer);
    const worker = this.start();
    const id = this.nextId++;
    try {
      return await new Promise<StagingResult<C>>((resolve, reject) => {
        this.inFlight.set(id, { resolve: resolve as (value: never) => void, reject });
        worker.postMessage({ id, ...call });
      });
    } finally {
      this.inFlight.delete(id);
      this.waiting.shift()?.();
      if (this.inFlight.size === 0 && this.waiting.length === 0) {
        this.idleTimer = setTimeout(() => void this.close(), this.idleMs);
        this.idleTimer.unref?.();
      }
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./staging-worker.mjs', import.meta.url), {
      // Small heaps: the thread streams, it never holds a file in memory.
      resourceLimits: { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 8 },
      // The operator's own flags (tsx's loader) are not needed by plain JavaScript.
      execArgv: [],
    });
    worker.unref();
    worker.on('message', (message: { id: number; ok: boolean; error?: string }) => {
      const pending = this.inFlight.get(message.id);
      if (!pending) return;
      if (message.ok) {
        const { id: _id, ok: _ok, ...result } = message;
        pending.resolve(result as never);
      } else {
        pending.reject(new Error(message.error ?? 'staging failed'));
      }
    });
    const fail = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const pending of this.inFlight.values()) pending.reject(error);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the staging thread exited (${code})`)));
    this.worker = worker;
    return worker;
  }
}
