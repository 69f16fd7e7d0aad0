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

interface Pending<In, Out> {
  item: In;
  resolve: (out: Out) => void;
  reject: (err: unknown) => void;
}

/** Raised when the queue is full; the server answers 503. */
export class QueueFullError extends Error {}

/**
 * Gathers items submitted by concurrent requests into batches of at most `maxBatchSize`: a batch runs as
 * soon as it is full, or `queueDelayMs` after its first item arrived, whenever an instance is free.
 */
export class MicroBatcher<In, Out> {
  private readonly queue: Pending<In, Out>[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly maxQueue: number;

  constructor(private readonly run: BatchRunner<In, Out>, private readonly options: BatcherOptions) {
    this.maxQueue = options.maxQueue ?? 100_000;
  }

  /** Items waiting for a batch. */
  get depth(): number {
    return this.queue.length;
  }

  /** Queue items (e.g. one request's rows) and resolve with their outputs in order. */
  submit(items: In[]): Promise<Out[]> {
    if (this.queue.length + items.length > this.maxQueue) return Promise.reject(new QueueFullError('inference queue is full'));
    const promises = items.map((item) => new Promise<Out>((resolve, reject) => this.queue.push({ item, resolve, reject })));
    this.pump();
    return Promise.all(promises);
  }

  private pump(): void {
    while (this.inFlight < this.options.concurrency && this.queue.length > 0) {
      if (this.queue.length < this.options.maxBatchSize && this.options.queueDelayMs > 0 && this.inFlight > 0) {
        // Busy: wait a little so more items join this batch.
        this.timer ??= setTimeout(() => { this.timer = undefined; this.flush(); this.pump(); }, this.options.queueDelayMs);
        return;
      }
      this.flush();
    }
  }

  private flush(): void {
    if (this.inFlight >= this.options.concurrency || this.queue.length === 0) return;
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    const batch = this.queue.splice(0, this.options.maxBatchSize);
    this.inFlight += 1;
    this.options.onBatch?.(batch.length);
    this.run(batch.map((p) => p.item)).then(
      (outs) => batch.forEach((p, i) => (i < outs.length ? p.resolve(outs[i]!) : p.reject(new Error('missing batch output')))),
      (err: unknown) => batch.forEach((p) => p.reject(err)),
    ).finally(() => {
      this.inFlight -= 1;
      this.pump();
    });
  }
}
