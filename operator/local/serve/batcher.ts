/** Runs one batch of items; results come back in the same order. */
export type BatchRunner<In, Out> = (items: In[]) => Promise<Out[]>;

/** Dynamic micro-batching settings (from config.pbtxt). */
export interface BatcherOptions {
  maxBatchSize: number;
  /** How long the first queued item may wait for others before its batch runs. */
  queueDelayMs: number;
  /** Batches allowed in flight at once (model instances). */
  concurrency: number;
  /** Items allowed to wait; beyond it submissions are refused (back-pressure). */
  maxQueue?: number;
  /** Called with each batch's size, e.g. for a histogram. */
  onBatch?: (size: number) => void;
}

/** Raised when the queue is full; the server answers 429. */
export class QueueFullError extends Error {}

/** Raised for a submission whose signal aborted (its client went away). */
export class CancelledError extends Error {}

/** One submission: its items, how far it has been scheduled, and its results as they come. */
interface Submission<In, Out> {
  items: In[];
  /** Index of the next item not yet put into a batch. */
  next: number;
  results: Out[];
  /** Items scheduled or waiting whose result has not arrived. */
  outstanding: number;
  settled: boolean;
  resolve: (out: Out[]) => void;
  reject: (err: unknown) => void;
}

/**
 * Gathers items submitted by concurrent requests into batches of at most `maxBatchSize`: a batch runs as
 * soon as it is full, or `queueDelayMs` after its first item arrived, whenever an instance is free.
 *
 * Batches are filled round-robin, one item from each waiting submission in turn, starting after the
 * submission that went first last time. A request larger than a batch is therefore split into the
 * batches the model takes and interleaved with everyone else's: a small request waits for at most one
 * batch per instance, however large the requests ahead of it are.
 */
export class MicroBatcher<In, Out> {
  /** Submissions with items not yet scheduled, in round-robin order. */
  private readonly waiting: Submission<In, Out>[] = [];
  private queued = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly maxQueue: number;

  constructor(private readonly run: BatchRunner<In, Out>, private readonly options: BatcherOptions) {
    this.maxQueue = options.maxQueue ?? 100_000;
  }

  /** Items waiting for a batch. */
  get depth(): number {
    return this.queued;
  }

  /** Queue items (e.g. one request's rows) and resolve with their outputs in order; `signal` withdraws what has not run. */
  submit(items: In[], signal?: AbortSignal): Promise<Out[]> {
    if (items.length === 0) return Promise.resolve([]);
    if (this.queued + items.length > this.maxQueue) {
      return Promise.reject(new QueueFullError(`inference queue is full (${this.queued} rows waiting, limit ${this.maxQueue}); retry shortly`));
    }
    if (signal?.aborted) return Promise.reject(new CancelledError('the client went away'));
    return new Promise<Out[]>((resolve, reject) => {
      const s: Submission<In, Out> = { items, next: 0, results: new Array<Out>(items.length), outstanding: items.length, settled: false, resolve, reject };
      this.waiting.push(s);
      this.queued += items.length;
      signal?.addEventListener('abort', () => this.withdraw(s, new CancelledError('the client went away')), { once: true });
      this.pump();
    });
  }

  /** Drop what a submission still has waiting and settle it with `error`. */
  private withdraw(s: Submission<In, Out>, error: unknown): void {
    const index = this.waiting.indexOf(s);
    if (index >= 0) {
      this.waiting.splice(index, 1);
      this.queued -= s.items.length - s.next;
      s.next = s.items.length;
    }
    this.settle(s, error);
  }

  private settle(s: Submission<In, Out>, error?: unknown): void {
    if (s.settled) return;
    s.settled = true;
    if (error === undefined) s.resolve(s.results);
    else s.reject(error);
  }

  private pump(): void {
    while (this.inFlight < this.options.concurrency && this.queued > 0) {
      if (this.queued < this.options.maxBatchSize && this.options.queueDelayMs > 0 && this.inFlight > 0) {
        // Busy: wait a little so more items join this batch.
        this.timer ??= setTimeout(() => { this.timer = undefined; this.flush(); this.pump(); }, this.options.queueDelayMs);
        return;
      }
      this.flush();
    }
  }

  /** Take up to one batch, one item per waiting submission in turn, and carry the turn over to the next batch. */
  private takeBatch(): { s: Submission<In, Out>; index: number }[] {
    const batch: { s: Submission<In, Out>; index: number }[] = [];
    let position = 0;
    while (batch.length < this.options.maxBatchSize && this.waiting.length > 0) {
      if (position >= this.waiting.length) position = 0;
      const s = this.waiting[position]!;
      batch.push({ s, index: s.next });
      s.next += 1;
      this.queued -= 1;
      if (s.next >= s.items.length) this.waiting.splice(position, 1);
      else position += 1;
    }
    if (position > 0 && position < this.waiting.length) this.waiting.push(...this.waiting.splice(0, position));
    return batch;
  }

  private flush(): void {
    if (this.inFlight >= this.options.concurrency || this.queued === 0) return;
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    const batch = this.takeBatch();
    this.inFlight += 1;
    this.options.onBatch?.(batch.length);
    this.run(batch.map(({ s, index }) => s.items[index]!)).then(
      (outs) => {
        batch.forEach(({ s, index }, i) => {
          if (s.settled) return;
          if (i >= outs.length) return this.withdraw(s, new Error('missing batch output'));
          s.results[index] = outs[i]!;
          s.outstanding -= 1;
          if (s.outstanding === 0) this.settle(s);
        });
      },
      (err: unknown) => {
        for (const { s } of batch) this.withdraw(s, err);
      },
    ).finally(() => {
      this.inFlight -= 1;
      this.pump();
    });
  }
}
