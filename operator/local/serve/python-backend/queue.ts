import { CancelledError, QueueFullError } from '../batcher.js';

/** One request waiting for a model instance: `rows` count toward the batch limit, the request stays whole. */
interface Waiting<Req, Res> {
  request: Req;
  rows: number;
  arrived: number;
  resolve: (r: Res) => void;
  reject: (e: unknown) => void;
}

/** Settings of the dynamic batcher (config.pbtxt). */
export interface RequestQueueOptions {
  /** Most rows one `execute` call gets (max_batch_size; 0 or 1: one request at a time). */
  maxBatchRows: number;
  /** How long the oldest request may wait for others while the batch is not full. */
  queueDelayMs: number;
  /** Requests allowed to wait; past it, submissions are refused (429). */
  maxQueued: number;
}

/**
 * Triton's dynamic batcher for models that take whole requests (the Python backend's `execute` gets a
 * list of requests): requests wait in arrival order; when a model instance is free, the oldest ones
 * whose rows fit `maxBatchRows` go together, as soon as the batch is full or the oldest has waited
 * `queueDelayMs`. A request whose client went away leaves the queue before it runs.
 */
export class RequestQueue<Req, Res> {
  private readonly waiting: Waiting<Req, Res>[] = [];
  private readonly idle: number[];
  private timer: NodeJS.Timeout | undefined;

  constructor(instances: number, private readonly execute: (instance: number, batch: Req[]) => Promise<Res[]>, private readonly options: RequestQueueOptions,
    private readonly onBatch?: (rows: number) => void) {
    this.idle = Array.from({ length: instances }, (_, i) => i);
  }

  /** Requests waiting for an instance. */
  get depth(): number {
    return this.waiting.length;
  }

  /** Queue one request; resolves with its response. */
  submit(request: Req, rows: number, signal?: AbortSignal): Promise<Res> {
    if (this.waiting.length >= this.options.maxQueued) return Promise.reject(new QueueFullError(`${this.waiting.length} requests are waiting (limit ${this.options.maxQueued}); retry shortly`));
    if (signal?.aborted) return Promise.reject(new CancelledError('the client went away'));
    return new Promise<Res>((resolve, reject) => {
      const entry: Waiting<Req, Res> = { request, rows, arrived: Date.now(), resolve, reject };
      this.waiting.push(entry);
      signal?.addEventListener('abort', () => {
        const at = this.waiting.indexOf(entry);
        if (at >= 0) {
          this.waiting.splice(at, 1);
          reject(new CancelledError('the client went away'));
        }
      }, { once: true });
      this.pump();
    });
  }

  private pump(): void {
    while (this.idle.length > 0 && this.waiting.length > 0) {
      const limit = Math.max(1, this.options.maxBatchRows);
      let rows = 0;
      let take = 0;
      while (take < this.waiting.length && (take === 0 || rows + this.waiting[take]!.rows <= limit)) rows += this.waiting[take++]!.rows;
      const full = take < this.waiting.length || rows >= limit;
      const waited = Date.now() - this.waiting[0]!.arrived;
      if (!full && waited < this.options.queueDelayMs) {
        this.timer ??= setTimeout(() => { this.timer = undefined; this.pump(); }, this.options.queueDelayMs - waited);
        return;
      }
      if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
      const batch = this.waiting.splice(0, take);
      const instance = this.idle.shift()!;
      this.onBatch?.(rows);
      this.execute(instance, batch.map((w) => w.request)).then(
        (responses) => batch.forEach((w, i) => (i < responses.length ? w.resolve(responses[i]!) : w.reject(new Error('the model returned too few responses')))),
        (error: unknown) => batch.forEach((w) => w.reject(error)),
      ).finally(() => {
        this.idle.push(instance);
        this.pump();
      });
    }
  }
}
