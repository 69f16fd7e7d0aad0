/** Options of a spread resync. */
export interface SpreadResyncOptions {
  /** Every key is handed to `enqueue` once per period. */
  periodMs: number;
  /** The keys to resync now (read at each tick, so new and deleted keys are followed). */
  keys: () => Iterable<string>;
  enqueue: (key: string) => void;
  /** Ticks per period (default: one a second); a key's tick is fixed by a hash of the key. */
  slots?: number;
}

/**
 * A periodic resync that never bursts: the period is cut into slots and each key is enqueued in
 * its own slot (a hash of the key), so 1,000 requests with a 10-minute period make one or two
 * reconciles a second instead of 1,000 at once.
 */
export class SpreadResync {
  private timer: NodeJS.Timeout | undefined;
  private tick = 0;
  private readonly slots: number;

  constructor(private readonly options: SpreadResyncOptions) {
    this.slots = Math.max(1, options.slots ?? Math.round(options.periodMs / 1000));
  }

  start(): void {
    this.stop();
    this.timer = setInterval(() => this.runSlot(this.tick++ % this.slots), this.options.periodMs / this.slots);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Enqueue the keys of one slot (exposed for tests). */
  runSlot(slot: number): void {
    for (const key of this.options.keys()) if (slotOf(key, this.slots) === slot) this.options.enqueue(key);
  }
}

/** The slot of a key: FNV-1a, stable across processes. */
export function slotOf(key: string, slots: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i += 1) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % slots;
}
